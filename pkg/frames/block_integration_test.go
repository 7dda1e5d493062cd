//go:build integration

package frames_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
)

// TestIntegrationNextBlock reads a result block by block: each frame holds
// rows of one native block only, and a limit splits a block without losing
// or repeating rows.
func TestIntegrationNextBlock(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	query := func() *frames.Reader {
		rows, err := db.Conn.Query(clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_block_size": 25000})),
			"SELECT number, toString(number) AS s FROM system.numbers LIMIT 100000")
		require.NoError(t, err)
		t.Cleanup(func() { _ = rows.Close() })
		r, err := frames.NewReader(rows, 0)
		require.NoError(t, err)
		return r
	}
	read := func(r *frames.Reader, limit int) (sizes []int, next uint64) {
		for {
			f, err := r.NextBlock(ctx, limit)
			if errors.Is(err, io.EOF) {
				return sizes, next
			}
			require.NoError(t, err)
			for i := 0; i < f.Rows(); i++ {
				require.Equal(t, next, f.Fields[0].At(i), "rows in order, none lost or repeated")
				next++
			}
			sizes = append(sizes, f.Rows())
		}
	}
	sizes, n := read(query(), 0)
	require.Equal(t, uint64(100000), n)
	require.GreaterOrEqual(t, len(sizes), 4, "one frame per block of at most 25,000 rows")
	for _, s := range sizes {
		require.LessOrEqual(t, s, 25000)
	}
	sizes, n = read(query(), 10000)
	require.Equal(t, uint64(100000), n)
	for _, s := range sizes {
		require.LessOrEqual(t, s, 10000)
	}

	r := query()
	_, err := r.NextBlock(ctx, 100)
	require.NoError(t, err)
	more, err := r.MoreRows()
	require.NoError(t, err)
	require.True(t, more)
}
