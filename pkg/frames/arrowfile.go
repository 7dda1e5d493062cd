package frames

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// ArrowFile writes one frame as the Arrow IPC file the SDK's
// data.Frame.MarshalArrow would write for it, as chunks of rows arrive: a
// record batch per chunk (per ClickHouse block with Reader.NextBlock), each
// written straight into the output, so the whole frame never exists as a
// data.Frame, as Arrow builders or twice as bytes. The SDK's decoder
// (data.UnmarshalArrowFrame, which Grafana's server uses) reads every record
// batch of a file, so the frame it decodes is the one MarshalArrow's bytes
// give, field for field: the same Arrow types and field metadata (taken from
// the SDK's own FrameToArrowTable of the empty frame), name, refId and meta.
//
//	r, _ := frames.NewReader(rows, 0)
//	chunk, _ := r.NextBlock(ctx, 0)            // the first chunk tells the fields
//	chunk.RefID = "A"
//	af, _ := frames.NewArrowFile(chunk, out, 1024)
//	for { chunk, err = r.NextBlock(ctx, 0); if errors.Is(err, io.EOF) { break }; af.Write(chunk) }
//	af.Finish(&data.FrameMeta{ExecutedQueryString: sql}) // out holds the file
//
// # Notes
//
// The frame's meta is known only at the end (a notice that the result was
// cut), after the schema was written at the start of the file. The schema
// carries, in its "meta" entry, a random nonce followed by reserve spaces;
// Finish overwrites that entry in place, in the header and in the footer,
// with the meta's JSON padded with spaces (JSON allows them; the decoded
// meta is the same). A meta longer than the reservation makes Finish write
// the file again with the final schema, which costs a copy.
//
// Number, bool, string and time fields and their nullable forms are built
// from the chunk's Go slices into exactly sized Arrow buffers (numbers
// without a copy); any other field type goes through the SDK's
// FrameToArrowTable for its chunk.
type ArrowFile struct {
	schema  *arrow.Schema
	types   []data.FieldType
	out     *Segments
	w       *ipc.FileWriter
	nonce   string
	reserve int
	rows    int
	done    bool
	mem     memory.Allocator
}

// ErrArrowFileDone is returned by Write after Finish.
var ErrArrowFileDone = errors.New("frames: the Arrow file is finished")

// NewArrowFile starts the file of the frame whose first chunk is first
// (which it writes; its Name and RefID are the frame's) into out, with
// reserve bytes for the meta's JSON.
func NewArrowFile(first *data.Frame, out *Segments, reserve int) (*ArrowFile, error) {
	// The schema of an empty frame with first's fields, as the SDK writes
	// it (not EmptyCopy: it turns nil labels into empty ones, which the
	// SDK writes and the decoder returns as such).
	empty := data.NewFrame(first.Name)
	for _, f := range first.Fields {
		e := data.NewFieldFromFieldType(f.Type(), 0)
		e.Name, e.Labels, e.Config = f.Name, f.Labels, f.Config
		empty.Fields = append(empty.Fields, e)
	}
	table, err := data.FrameToArrowTable(empty)
	if err != nil {
		return nil, fmt.Errorf("arrow schema of the frame: %w", err)
	}
	fields := table.Schema().Fields()
	table.Release()
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return nil, fmt.Errorf("arrow schema of the frame: %w", err)
	}
	a := &ArrowFile{out: out, nonce: "kpiflow-meta-" + hex.EncodeToString(n[:]), reserve: reserve,
		mem: memory.NewGoAllocator()}
	meta := arrow.MetadataFrom(map[string]string{
		"name": first.Name, "refId": first.RefID, "meta": a.nonce + strings.Repeat(" ", reserve),
	})
	a.schema = arrow.NewSchema(fields, &meta)
	for _, f := range first.Fields {
		a.types = append(a.types, f.Type())
	}
	if a.w, err = ipc.NewFileWriter(out, ipc.WithSchema(a.schema), ipc.WithAllocator(a.mem)); err != nil {
		return nil, fmt.Errorf("start the Arrow file: %w", err)
	}
	if first.Rows() > 0 {
		if err := a.Write(first); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Rows is the number of rows written.
func (a *ArrowFile) Rows() int { return a.rows }

// Write adds a chunk of rows as one record batch. The chunk has the first
// chunk's fields, in order.
func (a *ArrowFile) Write(chunk *data.Frame) error {
	if a.done {
		return ErrArrowFileDone
	}
	n := chunk.Rows()
	if n == 0 {
		return nil
	}
	if len(chunk.Fields) != len(a.types) {
		return fmt.Errorf("write a chunk of %d fields into an Arrow file of %d", len(chunk.Fields), len(a.types))
	}
	cols := make([]arrow.Array, len(chunk.Fields))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var slow bool
	for i, f := range chunk.Fields {
		if f.Type() != a.types[i] {
			return fmt.Errorf("write a chunk into an Arrow file: field %q is %s, the file's %s", f.Name, f.Type(), a.types[i])
		}
		c, err := arrowArray(a.schema.Field(i).Type, f)
		if err != nil {
			return fmt.Errorf("encode field %q as Arrow: %w", f.Name, err)
		}
		if c == nil {
			slow = true
			break
		}
		cols[i] = c
	}
	if slow {
		return a.writeThroughSDK(chunk)
	}
	rec := array.NewRecordBatch(a.schema, cols, int64(n))
	defer rec.Release()
	if err := a.w.Write(rec); err != nil {
		return fmt.Errorf("write a record batch of %d rows: %w", n, err)
	}
	a.rows += n
	return nil
}

// writeThroughSDK writes a chunk with a field type arrowArray does not
// build, through the SDK's own conversion.
func (a *ArrowFile) writeThroughSDK(chunk *data.Frame) error {
	table, err := data.FrameToArrowTable(chunk)
	if err != nil {
		return fmt.Errorf("encode a chunk as Arrow: %w", err)
	}
	defer table.Release()
	cols := make([]arrow.Array, table.NumCols())
	for i := range cols {
		c := table.Column(i).Data()
		if len(c.Chunks()) != 1 {
			return fmt.Errorf("encode a chunk as Arrow: column %d has %d chunks", i, len(c.Chunks()))
		}
		cols[i] = c.Chunk(0)
	}
	rec := array.NewRecordBatch(a.schema, cols, table.NumRows())
	defer rec.Release()
	if err := a.w.Write(rec); err != nil {
		return fmt.Errorf("write a record batch of %d rows: %w", table.NumRows(), err)
	}
	a.rows += int(table.NumRows())
	return nil
}

// Finish ends the file with the frame's meta (nil: an empty meta). The
// output then holds the whole file.
func (a *ArrowFile) Finish(meta *data.FrameMeta) error {
	if a.done {
		return ErrArrowFileDone
	}
	a.done = true
	if err := a.w.Close(); err != nil {
		return fmt.Errorf("end the Arrow file: %w", err)
	}
	if meta == nil {
		meta = &data.FrameMeta{}
	}
	js, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("encode the frame's meta: %w", err)
	}
	slot := len(a.nonce) + a.reserve
	if len(js) > slot {
		return a.rewrite(string(js))
	}
	patch := append(js, bytes.Repeat([]byte(" "), slot-len(js))...)
	for _, at := range a.metaSlots() {
		if at < 0 {
			return a.rewrite(string(js))
		}
		a.out.writeAt(at, patch)
	}
	return nil
}

// metaSlots finds the reserved meta entry in the header's schema message
// and in the footer (-1 where it is not found).
func (a *ArrowFile) metaSlots() [2]int {
	n := a.out.Len()
	find := func(from, to int) int {
		if from < 0 || to > n || from >= to {
			return -1
		}
		i := bytes.Index(a.out.readAt(from, to-from), []byte(a.nonce))
		if i < 0 {
			return -1
		}
		return from + i
	}
	// "ARROW1\0\0", then the schema message: 0xFFFFFFFF, its length, its bytes.
	head := a.out.readAt(8, 8)
	if len(head) < 8 || n < 18 {
		return [2]int{-1, -1}
	}
	schemaLen := int(binary.LittleEndian.Uint32(head[4:]))
	// The file ends with the footer, its length and "ARROW1".
	footerLen := int(binary.LittleEndian.Uint32(a.out.readAt(n-10, 4)))
	return [2]int{find(16, 16+schemaLen), find(n-10-footerLen, n-10)}
}

// rewrite writes the file again with meta in its schema: the reservation
// was too small.
func (a *ArrowFile) rewrite(meta string) error {
	r, err := ipc.NewFileReader(bytes.NewReader(a.out.Bytes()), ipc.WithAllocator(a.mem))
	if err != nil {
		return fmt.Errorf("read back the Arrow file: %w", err)
	}
	defer r.Close()
	md := arrow.MetadataFrom(map[string]string{"name": a.metaValue("name"), "refId": a.metaValue("refId"), "meta": meta})
	schema := arrow.NewSchema(a.schema.Fields(), &md)
	out := NewSegments(a.out.pool)
	w, err := ipc.NewFileWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(a.mem))
	if err != nil {
		return fmt.Errorf("rewrite the Arrow file: %w", err)
	}
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err != nil {
			return fmt.Errorf("read back record batch %d: %w", i, err)
		}
		again := array.NewRecordBatch(schema, rec.Columns(), rec.NumRows())
		err = w.Write(again)
		again.Release()
		if err != nil {
			return fmt.Errorf("rewrite record batch %d: %w", i, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("rewrite the Arrow file: %w", err)
	}
	a.out.Release()
	*a.out = *out
	return nil
}

func (a *ArrowFile) metaValue(key string) string {
	md := a.schema.Metadata()
	if i := md.FindKey(key); i >= 0 {
		return md.Values()[i]
	}
	return ""
}

// arrowArray builds field f's values as an Arrow array of type dt, the
// type the SDK gives the field; nil (and no error) for a field type it does
// not build.
func arrowArray(dt arrow.DataType, f *data.Field) (arrow.Array, error) {
	switch f.Type() {
	case data.FieldTypeInt8:
		return fixedArray[int8](dt, f)
	case data.FieldTypeInt16:
		return fixedArray[int16](dt, f)
	case data.FieldTypeInt32:
		return fixedArray[int32](dt, f)
	case data.FieldTypeInt64:
		return fixedArray[int64](dt, f)
	case data.FieldTypeUint8:
		return fixedArray[uint8](dt, f)
	case data.FieldTypeUint16:
		return fixedArray[uint16](dt, f)
	case data.FieldTypeUint32:
		return fixedArray[uint32](dt, f)
	case data.FieldTypeUint64:
		return fixedArray[uint64](dt, f)
	case data.FieldTypeFloat32:
		return fixedArray[float32](dt, f)
	case data.FieldTypeFloat64:
		return fixedArray[float64](dt, f)
	case data.FieldTypeNullableInt8:
		return nullableFixedArray[int8](dt, f)
	case data.FieldTypeNullableInt16:
		return nullableFixedArray[int16](dt, f)
	case data.FieldTypeNullableInt32:
		return nullableFixedArray[int32](dt, f)
	case data.FieldTypeNullableInt64:
		return nullableFixedArray[int64](dt, f)
	case data.FieldTypeNullableUint8:
		return nullableFixedArray[uint8](dt, f)
	case data.FieldTypeNullableUint16:
		return nullableFixedArray[uint16](dt, f)
	case data.FieldTypeNullableUint32:
		return nullableFixedArray[uint32](dt, f)
	case data.FieldTypeNullableUint64:
		return nullableFixedArray[uint64](dt, f)
	case data.FieldTypeNullableFloat32:
		return nullableFixedArray[float32](dt, f)
	case data.FieldTypeNullableFloat64:
		return nullableFixedArray[float64](dt, f)
	case data.FieldTypeTime:
		return timeArray(dt, f)
	case data.FieldTypeNullableTime:
		return nullableTimeArray(dt, f)
	case data.FieldTypeString:
		return stringArray(dt, f)
	case data.FieldTypeNullableString:
		return nullableStringArray(dt, f)
	case data.FieldTypeBool:
		return boolArray(dt, f)
	case data.FieldTypeNullableBool:
		return nullableBoolArray(dt, f)
	}
	return nil, nil
}

// asBytes views a slice of fixed-width values as its bytes (no copy).
func asBytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(zero)))
}

// makeArray is an array of n values with the given validity bitmap (nil:
// no NULLs) and value buffers.
func makeArray(dt arrow.DataType, n int, valid []byte, nulls int, buffers ...[]byte) arrow.Array {
	bufs := []*memory.Buffer{nil}
	if valid != nil && nulls > 0 {
		bufs[0] = memory.NewBufferBytes(valid)
	} else {
		nulls = 0
	}
	for _, b := range buffers {
		bufs = append(bufs, memory.NewBufferBytes(b))
	}
	d := array.NewData(dt, n, bufs, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

func fixedArray[T any](dt arrow.DataType, f *data.Field) (arrow.Array, error) {
	s, err := fieldSlice[T](f)
	if err != nil {
		return nil, err
	}
	return makeArray(dt, len(s), nil, 0, asBytes(s)), nil
}

// validity is an Arrow validity bitmap (a set bit: a value) of n values.
type validity struct {
	bits  []byte
	nulls int
}

func newValidity(n int) validity { return validity{bits: make([]byte, (n+7)/8)} }

func (v *validity) set(i int, ok bool) {
	if ok {
		v.bits[i>>3] |= 1 << (uint(i) & 7)
	} else {
		v.nulls++
	}
}

func nullableFixedArray[T any](dt arrow.DataType, f *data.Field) (arrow.Array, error) {
	return nullableArray(dt, f, func(v T) T { return v })
}

func timeArray(dt arrow.DataType, f *data.Field) (arrow.Array, error) {
	s, err := fieldSlice[time.Time](f)
	if err != nil {
		return nil, err
	}
	values := make([]int64, len(s))
	for i, t := range s {
		values[i] = t.UnixNano()
	}
	return makeArray(dt, len(s), nil, 0, asBytes(values)), nil
}

func nullableTimeArray(dt arrow.DataType, f *data.Field) (arrow.Array, error) {
	return nullableArray(dt, f, time.Time.UnixNano)
}

// nullableArray is a nullable field of *T as Arrow values of type V.
func nullableArray[T, V any](dt arrow.DataType, f *data.Field, conv func(T) V) (arrow.Array, error) {
	s, err := fieldSlice[*T](f)
	if err != nil {
		return nil, err
	}
	values := make([]V, len(s))
	v := newValidity(len(s))
	for i, p := range s {
		if p != nil {
			values[i] = conv(*p)
		}
		v.set(i, p != nil)
	}
	return makeArray(dt, len(s), v.bits, v.nulls, asBytes(values)), nil
}

// stringData is the offsets and bytes of an Arrow string array.
func stringData(n int, at func(i int) (string, bool)) (offsets []int32, b []byte, v validity, err error) {
	total := 0
	for i := 0; i < n; i++ {
		s, _ := at(i)
		total += len(s)
	}
	if total > 1<<31-1 {
		return nil, nil, v, fmt.Errorf("%d bytes of text in one chunk, more than an Arrow string array holds", total)
	}
	offsets = make([]int32, n+1)
	b = make([]byte, 0, total)
	v = newValidity(n)
	for i := 0; i < n; i++ {
		s, ok := at(i)
		b = append(b, s...)
		offsets[i+1] = int32(len(b))
		v.set(i, ok)
	}
	return offsets, b, v, nil
}

func stringArray(dt arrow.DataType, f *data.Field) (arrow.Array, error) {
	s, err := fieldSlice[string](f)
	if err != nil {
		return nil, err
	}
	offsets, b, _, err := stringData(len(s), func(i int) (string, bool) { return s[i], true })
	if err != nil {
		return nil, err
	}
	return makeArray(dt, len(s), nil, 0, asBytes(offsets), b), nil
}

func nullableStringArray(dt arrow.DataType, f *data.Field) (arrow.Array, error) {
	s, err := fieldSlice[*string](f)
	if err != nil {
		return nil, err
	}
	offsets, b, v, err := stringData(len(s), func(i int) (string, bool) {
		if s[i] == nil {
			return "", false
		}
		return *s[i], true
	})
	if err != nil {
		return nil, err
	}
	return makeArray(dt, len(s), v.bits, v.nulls, asBytes(offsets), b), nil
}

func boolArray(dt arrow.DataType, f *data.Field) (arrow.Array, error) {
	s, err := fieldSlice[bool](f)
	if err != nil {
		return nil, err
	}
	values := newValidity(len(s))
	for i, b := range s {
		if b {
			values.bits[i>>3] |= 1 << (uint(i) & 7)
		}
	}
	return makeArray(dt, len(s), nil, 0, values.bits), nil
}

func nullableBoolArray(dt arrow.DataType, f *data.Field) (arrow.Array, error) {
	s, err := fieldSlice[*bool](f)
	if err != nil {
		return nil, err
	}
	values := newValidity(len(s))
	v := newValidity(len(s))
	for i, p := range s {
		if p != nil && *p {
			values.bits[i>>3] |= 1 << (uint(i) & 7)
		}
		v.set(i, p != nil)
	}
	return makeArray(dt, len(s), v.bits, v.nulls, values.bits), nil
}

// ReadArrow reads the whole result, or its first maxRows rows with a notice
// saying the result was cut (maxRows <= 0: no cap), into an Arrow file in
// out, one record batch per native block: what ReadAll and MarshalArrow
// give, without the whole frame in memory. The frame is named name with
// refId refID; reserve is ArrowFile's room for the meta. The caller ends the
// file with Finish. As with ReadAll, a notice means rows are left unread.
//
//	af, notices, err := frames.ReadArrow(ctx, rows, settings.MaxRows, "", "A", out, 4096)
//	err = af.Finish(&data.FrameMeta{ExecutedQueryString: sql, Notices: notices})
func ReadArrow(ctx context.Context, rows driver.Rows, maxRows int, name, refID string, out *Segments, reserve int) (*ArrowFile, Notices, error) {
	r, err := NewReader(rows, 0)
	if err != nil {
		return nil, nil, err
	}
	limit := rowLimit(maxRows)
	var af *ArrowFile
	for af == nil || af.Rows() < limit {
		chunk, err := r.NextBlock(ctx, limit-r.RowsRead())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if af == nil {
			chunk.Name, chunk.RefID = name, refID
			if af, err = NewArrowFile(chunk, out, reserve); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err := af.Write(chunk); err != nil {
			return nil, nil, err
		}
	}
	notices, err := r.capNotices(maxRows)
	if err != nil {
		return nil, nil, err
	}
	return af, notices, nil
}
