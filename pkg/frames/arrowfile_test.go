package frames

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
)

// sampleFrame has every field type ArrowFile builds itself, NULLs in the
// nullable ones, and a field type it leaves to the SDK when withJSON.
func sampleFrame(rows, offset int, withJSON bool) *data.Frame {
	f := data.NewFrame("")
	add := func(name string, vals any) { f.Fields = append(f.Fields, data.NewField(name, nil, vals)) }
	var (
		i8   = make([]int8, rows)
		i64  = make([]int64, rows)
		u16  = make([]uint16, rows)
		u64  = make([]uint64, rows)
		f32  = make([]float32, rows)
		f64  = make([]float64, rows)
		ts   = make([]time.Time, rows)
		str  = make([]string, rows)
		bl   = make([]bool, rows)
		nf64 = make([]*float64, rows)
		ni32 = make([]*int32, rows)
		nts  = make([]*time.Time, rows)
		nstr = make([]*string, rows)
		nbl  = make([]*bool, rows)
		js   = make([]json.RawMessage, rows)
	)
	for r := 0; r < rows; r++ {
		i := r + offset
		i8[r], i64[r], u16[r], u64[r] = int8(i), int64(i)*-1000, uint16(i), uint64(i)<<40
		f32[r], f64[r] = float32(i)/3, float64(i)*1.5
		ts[r] = time.Unix(1700000000+int64(i), int64(i)*1000).UTC()
		str[r] = strings.Repeat("é", i%5) + "x"
		bl[r] = i%3 == 0
		js[r] = json.RawMessage(`[1,2]`)
		if i%4 != 0 {
			v, n, t, s, b := float64(i), int32(-i), ts[r], str[r], i%2 == 0
			nf64[r], ni32[r], nts[r], nstr[r], nbl[r] = &v, &n, &t, &s, &b
		}
	}
	add("i8", i8)
	add("i64", i64)
	add("u16", u16)
	add("u64", u64)
	add("f32", f32)
	add("f64", f64)
	add("ts", ts)
	add("s", str)
	add("b", bl)
	add("nf64", nf64)
	add("ni32", ni32)
	add("nts", nts)
	add("ns", nstr)
	add("nb", nbl)
	if withJSON {
		add("j", js)
	}
	return f
}

// concat appends the chunks' rows into one frame, the data.Frame path's
// whole result.
func concat(chunks []*data.Frame) *data.Frame {
	whole := data.NewFrame(chunks[0].Name)
	whole.RefID = chunks[0].RefID
	for _, f := range chunks[0].Fields {
		w := data.NewFieldFromFieldType(f.Type(), 0)
		w.Name = f.Name
		whole.Fields = append(whole.Fields, w)
	}
	for _, c := range chunks {
		for r := 0; r < c.Rows(); r++ {
			whole.AppendRow(c.RowCopy(r)...)
		}
	}
	return whole
}

func TestArrowFileDecodesAsMarshalArrow(t *testing.T) {
	longNotice := strings.Repeat("a long notice ", 200)
	tests := []struct {
		name     string
		chunks   []int // rows per chunk
		withJSON bool
		meta     *data.FrameMeta
		reserve  int
	}{
		{name: "several chunks", chunks: []int{5, 17, 1}, meta: &data.FrameMeta{ExecutedQueryString: "SELECT 1",
			PreferredVisualization: data.VisTypeTable}, reserve: 512},
		{name: "one chunk with notices", chunks: []int{9}, meta: &data.FrameMeta{ExecutedQueryString: "SELECT 2",
			Notices: []data.Notice{{Severity: data.NoticeSeverityWarning, Text: "cut"}}}, reserve: 512},
		{name: "empty result", chunks: []int{0}, meta: &data.FrameMeta{ExecutedQueryString: "SELECT 3"}, reserve: 64},
		{name: "empty chunks between", chunks: []int{3, 0, 4}, meta: &data.FrameMeta{}, reserve: 64},
		{name: "a field type left to the SDK", chunks: []int{4, 6}, withJSON: true, meta: &data.FrameMeta{ExecutedQueryString: "x"}, reserve: 256},
		{name: "meta larger than the reservation", chunks: []int{3, 3}, meta: &data.FrameMeta{ExecutedQueryString: "SELECT 4",
			Notices: []data.Notice{{Text: longNotice}}}, reserve: 8},
		{name: "no meta", chunks: []int{2}, reserve: 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var chunks []*data.Frame
			off := 0
			for _, n := range tt.chunks {
				c := sampleFrame(n, off, tt.withJSON)
				c.Name, c.RefID = "result", "A"
				chunks = append(chunks, c)
				off += n
			}
			out := NewSegments(nil)
			af, err := NewArrowFile(chunks[0], out, tt.reserve)
			require.NoError(t, err)
			for _, c := range chunks[1:] {
				require.NoError(t, af.Write(c))
			}
			require.NoError(t, af.Finish(tt.meta))
			require.Equal(t, off, af.Rows())
			require.ErrorIs(t, af.Write(chunks[0]), ErrArrowFileDone)

			got, err := data.UnmarshalArrowFrame(out.Bytes())
			require.NoError(t, err)

			whole := concat(chunks)
			whole.Meta = tt.meta
			if whole.Meta == nil {
				whole.Meta = &data.FrameMeta{}
			}
			b, err := whole.MarshalArrow()
			require.NoError(t, err)
			want, err := data.UnmarshalArrowFrame(b)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

func TestSegmentsWriteReadPatch(t *testing.T) {
	var inUse []int
	pool := NewSegmentPool(2*MaxSegment, func(n int) { inUse = append(inUse, n) })
	s := NewSegments(pool)
	var want []byte
	for i := 0; len(want) < 3*MaxSegment; i++ {
		p := []byte(strings.Repeat(string(rune('a'+i%26)), 1+i%70000))
		want = append(want, p...)
		_, _ = s.Write(p)
	}
	require.Equal(t, len(want), s.Len())
	require.Equal(t, want, s.Bytes())
	at := firstSegment - 3 // a patch across two pieces
	s.writeAt(at, []byte("0123456"))
	copy(want[at:], "0123456")
	require.Equal(t, want[at-5:at+20], s.readAt(at-5, 25))
	require.Equal(t, want, s.Bytes())
	s.Release()
	require.Equal(t, 2*MaxSegment, pool.Kept(), "full pieces kept up to the bound")
	require.Equal(t, []int{MaxSegment, 2 * MaxSegment, 3 * MaxSegment, 2 * MaxSegment, MaxSegment, 0}, inUse)
	require.Equal(t, 0, s.Len())
}
