//go:build integration

package frames_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
)

func ptr[T any](v T) *T { return &v }

// TestIntegrationReadAllTypes reads one row of every type kpiflow's schema
// and ordinary SQL return, from a real server, and checks each field.
func TestIntegrationReadAllTypes(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ts := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)

	tests := []struct {
		expr   string
		typ    data.FieldType
		values []any // one per row of "FROM system.numbers LIMIT 2" with number as n
	}{
		{"toInt8(-n)", data.FieldTypeInt8, []any{int8(0), int8(-1)}},
		{"toInt16(-n)", data.FieldTypeInt16, []any{int16(0), int16(-1)}},
		{"toInt32(-n)", data.FieldTypeInt32, []any{int32(0), int32(-1)}},
		{"toInt64(-n)", data.FieldTypeInt64, []any{int64(0), int64(-1)}},
		{"toUInt8(n)", data.FieldTypeUint8, []any{uint8(0), uint8(1)}},
		{"toUInt16(n)", data.FieldTypeUint16, []any{uint16(0), uint16(1)}},
		{"toUInt32(n)", data.FieldTypeUint32, []any{uint32(0), uint32(1)}},
		{"n", data.FieldTypeUint64, []any{uint64(0), uint64(1)}},
		{"toFloat32(n) / 2", data.FieldTypeFloat64, []any{0.0, 0.5}},
		{"toFloat32(n + 0.5)", data.FieldTypeFloat32, []any{float32(0.5), float32(1.5)}},
		{"toDecimal64(n + 0.25, 2)", data.FieldTypeFloat64, []any{0.25, 1.25}},
		{"toString(n)", data.FieldTypeString, []any{"0", "1"}},
		{"toFixedString('ab', 2)", data.FieldTypeString, []any{"ab", "ab"}},
		{"toUUID('01234567-89ab-cdef-0123-456789abcdef')", data.FieldTypeString,
			[]any{"01234567-89ab-cdef-0123-456789abcdef", "01234567-89ab-cdef-0123-456789abcdef"}},
		{"toDate('2026-11-23')", data.FieldTypeTime, nil},
		{"toDateTime(1795429800 + n, 'UTC')", data.FieldTypeTime, []any{ts, ts.Add(time.Second)}},
		{"CAST(n + 1 AS Enum8('todo' = 1, 'in, progress' = 2))", data.FieldTypeString, []any{"todo", "in, progress"}},
		{"CAST(n + 1 AS Enum16('a' = 1, 'b' = 2))", data.FieldTypeString, []any{"a", "b"}},
		{"if(n = 0, NULL, n)", data.FieldTypeNullableUint64, []any{(*uint64)(nil), ptr(uint64(1))}},
		{"if(n = 0, NULL, toString(n))", data.FieldTypeNullableString, []any{(*string)(nil), ptr("1")}},
		{"if(n = 0, NULL, toDateTime(1795429800, 'UTC'))", data.FieldTypeNullableTime, []any{(*time.Time)(nil), &ts}},
		{"if(n = 0, NULL, toDecimal32(1.5, 1))", data.FieldTypeNullableFloat64, []any{(*float64)(nil), ptr(1.5)}},
		{"if(n = 0, NULL, CAST(1 AS Enum8('x' = 1)))", data.FieldTypeNullableString, []any{(*string)(nil), ptr("x")}},
		{"NULL", data.FieldTypeNullableString, []any{(*string)(nil), (*string)(nil)}},
		{"[toString(n), 'b']", data.FieldTypeString, []any{`["0","b"]`, `["1","b"]`}},
		{"[n, n + 1]", data.FieldTypeString, []any{`[0,1]`, `[1,2]`}},
		{"[[1], [2, 3]]", data.FieldTypeString, []any{`[[1],[2,3]]`, `[[1],[2,3]]`}},
		{"[toUInt8(n), 2]", data.FieldTypeString, []any{`[0,2]`, `[1,2]`}},
		{"[toUUID('01234567-89ab-cdef-0123-456789abcdef')]", data.FieldTypeString,
			[]any{`["01234567-89ab-cdef-0123-456789abcdef"]`, `["01234567-89ab-cdef-0123-456789abcdef"]`}},
		{"CAST([] AS Array(String))", data.FieldTypeString, []any{`[]`, `[]`}},
		{"[NULL, 1]", data.FieldTypeString, []any{`[null,1]`, `[null,1]`}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			rows, err := db.Conn.Query(ctx, "SELECT "+tt.expr+" AS v FROM (SELECT number AS n FROM system.numbers LIMIT 2)")
			require.NoError(t, err)
			defer rows.Close()
			frame, notices, err := frames.ReadAll(ctx, rows, 10)
			require.NoError(t, err)
			require.Empty(t, notices)
			require.Len(t, frame.Fields, 1)
			f := frame.Fields[0]
			require.Equal(t, "v", f.Name)
			require.Equal(t, tt.typ, f.Type(), "ClickHouse type %s", rows.ColumnTypes()[0].DatabaseTypeName())
			require.Equal(t, 2, f.Len())
			for i, want := range tt.values {
				got := f.At(i)
				if wt, ok := want.(time.Time); ok {
					require.True(t, wt.Equal(got.(time.Time)), "row %d: %v", i, got)
					continue
				}
				require.Equal(t, want, got, "row %d", i)
			}
		})
	}

	t.Run("LowCardinality", func(t *testing.T) {
		lcCtx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
		require.NoError(t, db.Conn.Exec(lcCtx, "CREATE TABLE "+db.Name+".lc (s LowCardinality(String), ns LowCardinality(Nullable(String))) ENGINE = Memory"))
		b, err := db.Conn.PrepareBatch(ctx, "INSERT INTO "+db.Name+".lc (s, ns)")
		require.NoError(t, err)
		require.NoError(t, b.Append("a", nil))
		require.NoError(t, b.Append("b", ptr("x")))
		require.NoError(t, b.Send())
		rows, err := db.Conn.Query(ctx, "SELECT s, ns FROM "+db.Name+".lc ORDER BY s")
		require.NoError(t, err)
		defer rows.Close()
		frame, _, err := frames.ReadAll(ctx, rows, 0)
		require.NoError(t, err)
		require.Equal(t, "b", frame.Fields[0].At(1))
		require.Equal(t, (*string)(nil), frame.Fields[1].At(0))
		require.Equal(t, ptr("x"), frame.Fields[1].At(1))
	})

	t.Run("nullable values are not shared between rows", func(t *testing.T) {
		rows, err := db.Conn.Query(ctx, "SELECT toNullable(number) AS n, toNullable(toString(number)) AS s FROM system.numbers LIMIT 3")
		require.NoError(t, err)
		defer rows.Close()
		frame, _, err := frames.ReadAll(ctx, rows, 0)
		require.NoError(t, err)
		for i := 0; i < 3; i++ {
			require.Equal(t, ptr(uint64(i)), frame.Fields[0].At(i))
			require.Equal(t, ptr(fmt.Sprint(i)), frame.Fields[1].At(i))
		}
	})

	t.Run("row cap", func(t *testing.T) {
		rows, err := db.Conn.Query(ctx, "SELECT number FROM system.numbers LIMIT 100")
		require.NoError(t, err)
		defer rows.Close()
		frame, notices, err := frames.ReadAll(ctx, rows, 10)
		require.NoError(t, err)
		require.Equal(t, 10, frame.Rows())
		require.Len(t, notices, 1)
		require.Contains(t, notices[0].Text, "cut at 10 rows")
	})

	t.Run("exactly the cap is not cut", func(t *testing.T) {
		rows, err := db.Conn.Query(ctx, "SELECT number FROM system.numbers LIMIT 10")
		require.NoError(t, err)
		defer rows.Close()
		frame, notices, err := frames.ReadAll(ctx, rows, 10)
		require.NoError(t, err)
		require.Equal(t, 10, frame.Rows())
		require.Empty(t, notices)
	})

	t.Run("chunks", func(t *testing.T) {
		rows, err := db.Conn.Query(ctx, "SELECT number AS n, toString(number) AS s FROM system.numbers LIMIT 2500")
		require.NoError(t, err)
		defer rows.Close()
		r, err := frames.NewReader(rows, 1000)
		require.NoError(t, err)
		var sizes []int
		next := uint64(0)
		for {
			f, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			sizes = append(sizes, f.Rows())
			for i := 0; i < f.Rows(); i++ {
				require.Equal(t, next, f.Fields[0].At(i))
				next++
			}
		}
		require.Equal(t, []int{1000, 1000, 500}, sizes)
		require.Equal(t, 2500, r.RowsRead())
	})

	t.Run("empty result still has fields", func(t *testing.T) {
		rows, err := db.Conn.Query(ctx, "SELECT number AS n, toString(number) AS s FROM system.numbers LIMIT 0")
		require.NoError(t, err)
		defer rows.Close()
		r, err := frames.NewReader(rows, 0)
		require.NoError(t, err)
		f, err := r.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, 0, f.Rows())
		require.Len(t, f.Fields, 2)
		require.Equal(t, data.FieldTypeUint64, f.Fields[0].Type())
		_, err = r.Next(ctx)
		require.ErrorIs(t, err, io.EOF)
	})

	t.Run("unsupported type names the column", func(t *testing.T) {
		rows, err := db.Conn.Query(ctx, "SELECT tuple(1, 'a') AS pair")
		require.NoError(t, err)
		defer rows.Close()
		_, _, err = frames.ReadAll(ctx, rows, 0)
		var ue *frames.UnsupportedColumnTypeError
		require.ErrorAs(t, err, &ue)
		require.Equal(t, "pair", ue.Column)
		require.Contains(t, err.Error(), "toString(pair)")
	})
}
