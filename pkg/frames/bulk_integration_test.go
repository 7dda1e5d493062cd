//go:build integration

package frames

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
)

// TestIntegrationBulkMatchesScan reads results from a real server, in small
// blocks and in chunks that cut blocks, and checks that every column with a
// bulk decoder took the bulk path and built the same values as scanning
// each value through the driver's ScanRow.
func TestIntegrationBulkMatchesScan(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lcCtx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
	require.NoError(t, db.Conn.Exec(lcCtx, "CREATE TABLE "+db.Name+".lc (n UInt64, s LowCardinality(String), ns LowCardinality(Nullable(String))) ENGINE = Memory"))
	require.NoError(t, db.Conn.Exec(ctx, "INSERT INTO "+db.Name+".lc SELECT number, toString(number % 300), if(number % 3 = 0, NULL, concat('v', toString(number % 7))) FROM system.numbers LIMIT 1000"))

	exprs := []string{
		"toInt8(-n)", "toInt16(-n)", "toInt32(-n)", "toInt64(-n)", "toUInt8(n)", "toUInt16(n)", "toUInt32(n)", "n",
		"toFloat32(n) / 3", "toFloat64(n) * 1.5", "toString(n)", "''", "arrayStringConcat(arrayMap(x -> 'é', range(n % 200)))",
		"toDateTime(1795429800 + n * 61)", "toDateTime(1795429800 + n, 'Asia/Kolkata')",
		"if(n % 3 = 0, NULL, n)", "if(n % 3 = 0, NULL, toString(n))", "if(n % 3 = 1, NULL, toFloat64(n) / 7)",
		"if(n % 2 = 0, NULL, toDateTime(1795429800 + n, 'UTC'))", "toNullable(toInt32(n))",
	}
	queries := make([]string, 0, len(exprs)+1)
	for _, e := range exprs {
		queries = append(queries, "SELECT "+e+" AS v FROM (SELECT number AS n FROM system.numbers LIMIT 1000)")
	}
	queries = append(queries, "SELECT s, ns FROM "+db.Name+".lc ORDER BY n")
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			for _, chunk := range []int{1000, 77} {
				rows, err := db.Conn.Query(clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_block_size": 128})), q)
				require.NoError(t, err)
				r, err := NewReader(rows, chunk)
				require.NoError(t, err)
				total := 0
				for {
					n, err := r.fill(ctx, chunk, false)
					require.NoError(t, err)
					if n == 0 {
						break
					}
					total += n
					compareBulkAndScan(t, r, n)
				}
				require.Equal(t, 1000, total)
				require.NoError(t, rows.Close())
			}
		})
	}
}

func compareBulkAndScan(t *testing.T, r *Reader, n int) {
	t.Helper()
	for i, c := range r.cols {
		bulk, bulkDst, err := c.newField(r.names[i], n)
		require.NoError(t, err)
		scan, scanDst, err := c.newField(r.names[i], n)
		require.NoError(t, err)
		at := 0
		for _, s := range r.segs {
			col := s.block.Columns[i]
			require.Equal(t, r.chTypes[i], string(col.Type()))
			d, ok := c.(interface {
				decodeBlock(dst any, at int, col chcol.Interface, from, to int) bool
			})
			require.True(t, ok, "%s has a bulk decoder", r.chTypes[i])
			require.True(t, d.decodeBlock(bulkDst, at, col, s.from, s.to), "%s: the bulk path read the block", r.chTypes[i])
			require.NoError(t, c.fill(scanDst, at, col, s.from, s.to, false))
			at += s.to - s.from
		}
		c.release()
		for k := 0; k < n; k++ {
			want, got := scan.At(k), bulk.At(k)
			if w, ok := want.(time.Time); ok {
				g := got.(time.Time)
				require.True(t, w.Equal(g) && w.Location().String() == g.Location().String(), "row %d: %v vs %v", k, w, g)
				continue
			}
			if w, ok := want.(*time.Time); ok && w != nil {
				require.True(t, w.Equal(*got.(*time.Time)), "row %d", k)
				continue
			}
			require.Equal(t, want, got, fmt.Sprintf("%s row %d", r.chTypes[i], k))
		}
	}
	r.segs, r.pending = r.segs[:0], 0
}
