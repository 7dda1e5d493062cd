package frames_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	chproto "github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/frames"
)

func TestFor(t *testing.T) {
	tests := []struct {
		chType string
		want   data.FieldType
	}{
		{"Int8", data.FieldTypeInt8},
		{"UInt64", data.FieldTypeUint64},
		{"Float64", data.FieldTypeFloat64},
		{"String", data.FieldTypeString},
		{"FixedString(16)", data.FieldTypeString},
		{"UUID", data.FieldTypeString},
		{"Date", data.FieldTypeTime},
		{"DateTime", data.FieldTypeTime},
		{"DateTime('Europe/Berlin')", data.FieldTypeTime},
		{"DateTime64(3, 'UTC')", data.FieldTypeTime},
		{"Decimal(18, 4)", data.FieldTypeFloat64},
		{"Decimal32(2)", data.FieldTypeFloat64},
		{"Enum8('todo' = 1, 'in_progress' = 2, 'done' = 3)", data.FieldTypeString},
		{"Enum16('a' = 1)", data.FieldTypeString},
		{"Bool", data.FieldTypeBool},
		{"Nullable(Float64)", data.FieldTypeNullableFloat64},
		{"Nullable(DateTime)", data.FieldTypeNullableTime},
		{"Nullable(Decimal(9, 2))", data.FieldTypeNullableFloat64},
		{"Nullable(Nothing)", data.FieldTypeNullableString},
		{"LowCardinality(String)", data.FieldTypeString},
		{"LowCardinality(Nullable(String))", data.FieldTypeNullableString},
		{"SimpleAggregateFunction(sum, UInt64)", data.FieldTypeUint64},
		{"Array(String)", data.FieldTypeString},
		{"Array(Nullable(Enum8('a, b' = 1)))", data.FieldTypeString},
		{"Map(String, UInt64)", data.FieldTypeString},
		{" UInt8 ", data.FieldTypeUint8},
	}
	for _, tt := range tests {
		t.Run(tt.chType, func(t *testing.T) {
			c, err := frames.For(tt.chType)
			require.NoError(t, err)
			require.Equal(t, tt.want, c.Type())
		})
	}
}

func TestForUnsupported(t *testing.T) {
	for _, chType := range []string{
		"Tuple(UInt8, String)", "Int128", "AggregateFunction(sum, Float64)", "Nullable(Array(String))",
		"Nullable(Tuple(UInt8))", "Nested(a UInt8)", "UInt64(3)", "", "Nullable(", "SimpleAggregateFunction(sum)",
	} {
		t.Run(chType, func(t *testing.T) {
			_, err := frames.For(chType)
			var ue *frames.UnsupportedColumnTypeError
			require.ErrorAs(t, err, &ue)
			require.Contains(t, err.Error(), "not supported")
		})
	}
}

// fakeRows serves real clickhouse-go blocks of a UInt64 column n (the row
// number) and a Nullable(String) column s ("odd" on even row numbers, NULL
// on odd ones) the way clickhouse-go's rows do: a block field, and Next
// stepping through each block's rows.
type fakeRows struct {
	driver.Rows
	block  *chproto.Block
	blocks []*chproto.Block
	row    int
	err    error // returned after the rows
}

func newFakeRows(t testing.TB, n, blockRows int, err error) *fakeRows {
	t.Helper()
	r := &fakeRows{err: err}
	for from := 0; from < n; from += blockRows {
		b := chproto.NewBlock()
		require.NoError(t, b.AddColumn("n", "UInt64"))
		require.NoError(t, b.AddColumn("s", "Nullable(String)"))
		for i := from; i < min(n, from+blockRows); i++ {
			var s *string
			if i%2 == 0 {
				odd := "odd"
				s = &odd
			}
			require.NoError(t, b.Append(uint64(i), s))
		}
		r.blocks = append(r.blocks, b)
	}
	return r
}

type fakeType struct {
	driver.ColumnType
	name, chType string
}

func (f fakeType) Name() string             { return f.name }
func (f fakeType) DatabaseTypeName() string { return f.chType }

func (r *fakeRows) ColumnTypes() []driver.ColumnType {
	return []driver.ColumnType{fakeType{name: "n", chType: "UInt64"}, fakeType{name: "s", chType: "Nullable(String)"}}
}

func (r *fakeRows) Next() bool {
	for r.block == nil || r.row >= r.block.Rows() {
		if len(r.blocks) == 0 {
			return false
		}
		r.block, r.blocks, r.row = r.blocks[0], r.blocks[1:], 0
	}
	r.row++
	return true
}

func (r *fakeRows) Err() error {
	if len(r.blocks) == 0 && (r.block == nil || r.row >= r.block.Rows()) {
		return r.err
	}
	return nil
}

// otherRows is a driver.Rows without clickhouse-go's block field.
type otherRows struct{ driver.Rows }

func (otherRows) ColumnTypes() []driver.ColumnType { return nil }

// wrappedRows wraps the driver's rows and says so, as store.Rows does.
type wrappedRows struct {
	driver.Rows
	next int
}

func (w *wrappedRows) Next() bool          { w.next++; return w.Rows.Next() }
func (w *wrappedRows) Unwrap() driver.Rows { return w.Rows }

func TestReadAllThroughAWrapper(t *testing.T) {
	w := &wrappedRows{Rows: newFakeRows(t, 10, 4, nil)}
	frame, _, err := frames.ReadAll(context.Background(), w, 0)
	require.NoError(t, err)
	require.Equal(t, 10, frame.Rows())
	require.Equal(t, uint64(9), frame.Fields[0].At(9))
	require.Equal(t, 11, w.next, "the wrapper's Next steps the rows")
}

func TestReadAllNeedsBlocks(t *testing.T) {
	_, _, err := frames.ReadAll(context.Background(), otherRows{}, 0)
	require.ErrorContains(t, err, "do not expose their native blocks")
}

func TestReadAllManyChunks(t *testing.T) {
	const n = 300_000 // several blocks
	frame, notices, err := frames.ReadAll(context.Background(), newFakeRows(t, n, 65_505, nil), 0)
	require.NoError(t, err)
	require.Empty(t, notices)
	require.Equal(t, n, frame.Rows())
	for _, i := range []int{0, 1, 255, 256, 257, 65535, 65536, 131071, n - 1} {
		require.Equal(t, uint64(i), frame.Fields[0].At(i), "row %d", i)
		if i%2 == 0 {
			require.Equal(t, "odd", *frame.Fields[1].At(i).(*string), "row %d", i)
		} else {
			require.Nil(t, frame.Fields[1].At(i), "row %d", i)
		}
	}
}

func TestReadAllCapAndErrors(t *testing.T) {
	ctx := context.Background()
	frame, notices, err := frames.ReadAll(ctx, newFakeRows(t, 11, 4, nil), 10)
	require.NoError(t, err)
	require.Equal(t, 10, frame.Rows())
	require.Len(t, notices, 1)
	require.Equal(t, data.NoticeSeverityWarning, notices[0].Severity)

	boom := errors.New("boom")
	_, _, err = frames.ReadAll(ctx, newFakeRows(t, 5, 4, boom), 0)
	require.ErrorIs(t, err, boom)
	_, _, err = frames.ReadAll(ctx, newFakeRows(t, 10, 4, boom), 10)
	require.ErrorIs(t, err, boom, "an error right at the cap is still reported")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = frames.ReadAll(cancelled, newFakeRows(t, 5, 4, nil), 0)
	require.ErrorIs(t, err, context.Canceled)
}

func TestReaderChunks(t *testing.T) {
	// Chunks of 3 rows from blocks of 4: chunks cross block boundaries.
	r, err := frames.NewReader(newFakeRows(t, 7, 4, nil), 3)
	require.NoError(t, err)
	var sizes []int
	for {
		f, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		sizes = append(sizes, f.Rows())
		for i := 0; i < f.Rows(); i++ {
			require.Equal(t, uint64(r.RowsRead()-f.Rows()+i), f.Fields[0].At(i))
		}
	}
	require.Equal(t, []int{3, 3, 1}, sizes)
	names, types := r.Columns()
	require.Equal(t, []string{"n", "s"}, names)
	require.Equal(t, []string{"UInt64", "Nullable(String)"}, types)
}
