package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/dialect"

	"github.com/kpiflow/kpiflow/pkg/schema"
)

// InsertBatch writes rows into one kpiflow table in one batch: it prepares
// INSERT INTO db.table (columns), lets appendRows fill the batch, and sends it.
//
//	err := st.InsertBatch(ctx, "kpi_samples", t.InsertColumns(), func(b driver.Batch) error {
//		return b.Append(ts, "latency", 1.5, ...)
//	})
//
// # Notes
//
// An explicit column list is required: ClickHouse 18.16 answers a batch
// without one, but Exec of INSERT ... VALUES hangs there. Table and columns
// must come from schema.Tables(); anything else is refused before reaching the
// server. Nothing is written when appendRows fails (the batch is aborted).
//
// In cluster mode the insert goes through the Distributed table
// synchronously (insert_distributed_sync): it returns once every shard's
// rows are in one of that shard's replicas, so they are readable at once (the
// duplicate check and the ledger head depend on it), and it fails, writing
// nothing anywhere, when a whole shard is down, instead of queueing rows on
// the connected node where no query sees them.
func (s *Store) InsertBatch(ctx context.Context, table string, columns []string, appendRows func(batch driver.Batch) error) error {
	t, ok := schema.Lookup(table)
	if !ok {
		return fmt.Errorf("insert into %q: not a kpiflow table", table)
	}
	if len(columns) == 0 {
		return fmt.Errorf("insert into %s: no columns given", table)
	}
	quoted := make([]string, len(columns))
	for i, c := range columns {
		if _, ok := t.Column(c); !ok {
			return fmt.Errorf("insert into %s: no column %q (columns: %s)", table, c, strings.Join(t.ColumnNames(), ", "))
		}
		if slices.Index(columns, c) != i {
			return fmt.Errorf("insert into %s: column %q listed twice", table, c)
		}
		quoted[i] = dialect.Quote(c)
	}
	query := fmt.Sprintf("INSERT INTO %s.%s (%s)", dialect.Quote(s.settings.Database), dialect.Quote(table), strings.Join(quoted, ", "))
	if s.settings.Cluster != "" {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
	}
	batch, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return Classify(s.settings, fmt.Errorf("prepare insert into %s: %w", table, err))
	}
	if err := appendRows(batch); err != nil {
		_ = batch.Abort()
		return fmt.Errorf("fill insert into %s: %w", table, err)
	}
	if err := batch.Send(); err != nil {
		return Classify(s.settings, fmt.Errorf("send insert into %s: %w", table, err))
	}
	return nil
}
