package frames_test

import (
	"context"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/frames"
)

func TestFor(t *testing.T) {
	tests := []struct {
		chType string
		want   data.FieldType
		target any // the scan target's type
	}{
		{"Int8", data.FieldTypeInt8, (*int8)(nil)},
		{"UInt64", data.FieldTypeUint64, (*uint64)(nil)},
		{"Float64", data.FieldTypeFloat64, (*float64)(nil)},
		{"String", data.FieldTypeString, (*string)(nil)},
		{"FixedString(16)", data.FieldTypeString, (*string)(nil)},
		{"UUID", data.FieldTypeString, (*string)(nil)},
		{"Date", data.FieldTypeTime, nil},
		{"DateTime", data.FieldTypeTime, nil},
		{"DateTime('Europe/Berlin')", data.FieldTypeTime, nil},
		{"DateTime64(3, 'UTC')", data.FieldTypeTime, nil},
		{"Decimal(18, 4)", data.FieldTypeFloat64, nil},
		{"Decimal32(2)", data.FieldTypeFloat64, nil},
		{"Enum8('todo' = 1, 'in_progress' = 2, 'done' = 3)", data.FieldTypeString, (*string)(nil)},
		{"Enum16('a' = 1)", data.FieldTypeString, (*string)(nil)},
		{"Bool", data.FieldTypeBool, (*bool)(nil)},
		{"Nullable(Float64)", data.FieldTypeNullableFloat64, (**float64)(nil)},
		{"Nullable(DateTime)", data.FieldTypeNullableTime, nil},
		{"Nullable(Decimal(9, 2))", data.FieldTypeNullableFloat64, nil},
		{"Nullable(Nothing)", data.FieldTypeNullableString, (**string)(nil)},
		{"LowCardinality(String)", data.FieldTypeString, (*string)(nil)},
		{"LowCardinality(Nullable(String))", data.FieldTypeNullableString, (**string)(nil)},
		{"SimpleAggregateFunction(sum, UInt64)", data.FieldTypeUint64, (*uint64)(nil)},
		{"Array(String)", data.FieldTypeString, nil},
		{"Array(Nullable(Enum8('a, b' = 1)))", data.FieldTypeString, nil},
		{"Map(String, UInt64)", data.FieldTypeString, nil},
		{" UInt8 ", data.FieldTypeUint8, (*uint8)(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.chType, func(t *testing.T) {
			c, err := frames.For(tt.chType)
			require.NoError(t, err)
			require.Equal(t, tt.want, c.Type())
			if tt.target != nil {
				require.Equal(t, reflect.TypeOf(tt.target), reflect.TypeOf(c.Target()))
			}
			require.Same(t, c.Target(), c.Target(), "the target must stay the same pointer")
			f := c.Field("x")
			require.Equal(t, tt.want, f.Type())
			require.Equal(t, 0, f.Len())
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

// fakeRows serves columns of uint64 and *string values through the same
// pointer cases clickhouse-go's ScanRow uses.
type fakeRows struct {
	driver.Rows
	n, row int
	err    error // returned after the rows
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
func (r *fakeRows) Next() bool { r.row++; return r.row <= r.n }
func (r *fakeRows) Err() error {
	if r.row > r.n {
		return r.err
	}
	return nil
}
func (r *fakeRows) Scan(dest ...any) error {
	*dest[0].(*uint64) = uint64(r.row - 1)
	p := dest[1].(**string)
	if r.row%2 == 0 {
		*p = nil
	} else {
		s := "odd"
		*p = &s
	}
	return nil
}

func TestReadAllManyChunks(t *testing.T) {
	const n = 300_000 // more than several buffer chunks
	frame, notices, err := frames.ReadAll(context.Background(), &fakeRows{n: n}, 0)
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
	frame, notices, err := frames.ReadAll(ctx, &fakeRows{n: 11}, 10)
	require.NoError(t, err)
	require.Equal(t, 10, frame.Rows())
	require.Len(t, notices, 1)
	require.Equal(t, data.NoticeSeverityWarning, notices[0].Severity)

	boom := errors.New("boom")
	_, _, err = frames.ReadAll(ctx, &fakeRows{n: 5, err: boom}, 0)
	require.ErrorIs(t, err, boom)
	_, _, err = frames.ReadAll(ctx, &fakeRows{n: 10, err: boom}, 10)
	require.ErrorIs(t, err, boom, "an error right at the cap is still reported")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = frames.ReadAll(cancelled, &fakeRows{n: 5}, 0)
	require.ErrorIs(t, err, context.Canceled)
}

func TestReaderChunks(t *testing.T) {
	r, err := frames.NewReader(&fakeRows{n: 7}, 3)
	require.NoError(t, err)
	var sizes []int
	for {
		f, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		sizes = append(sizes, f.Rows())
	}
	require.Equal(t, []int{3, 3, 1}, sizes)
	names, types := r.Columns()
	require.Equal(t, []string{"n", "s"}, names)
	require.Equal(t, []string{"UInt64", "Nullable(String)"}, types)
}
