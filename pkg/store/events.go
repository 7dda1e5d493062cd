package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// Reads and writes of ingested rows for package ingest: the duplicate check,
// the rows of ledgered batches, erasure. Like the ledger's, their errors are
// the driver's, for the caller to classify.

// EventLookup asks which of a batch's event_ids a table holds already.
type EventLookup struct {
	Table    string
	EventIDs []string
	// TimeColumn, when set, narrows the scan to rows with it in [From, To]
	// (Unix seconds): only the partitions the batch touches are read.
	TimeColumn string
	From, To   int64
	// KeyColumns narrow the scan to rows whose columns hold one of the
	// batch's values, KeyValues[i] holding column i's value per event
	// (parallel to EventIDs): the primary index is used.
	KeyColumns []string
	KeyValues  [][]string
}

// StoredEvents calls found with the event_id and batch_id of every row of
// the table matching the lookup (once per replica in cluster mode). The batch's values travel as an external
// table, so the query's size does not grow with the batch.
//
//	err := st.StoredEvents(ctx, store.EventLookup{Table: "deployments", EventIDs: ids}, func(id, batch string) { ... })
func (s *Store) StoredEvents(ctx context.Context, q EventLookup, found func(eventID, batchID string)) error {
	tbl, err := ext.NewTable("_batch", ext.Column(schema.ColEventID, chcol.Type("String")))
	if err != nil {
		return fmt.Errorf("prepare the duplicate check: %w", err)
	}
	var where []string
	var args []any
	if q.TimeColumn != "" {
		col := dialect.Quote(q.TimeColumn)
		where = append(where, fmt.Sprintf("%s >= toDateTime(?) AND %s <= toDateTime(?)", col, col))
		args = append(args, q.From, q.To)
	}
	block := tbl.Block()
	for _, k := range q.KeyColumns {
		if err := block.AddColumn(k, chcol.Type("String")); err != nil {
			return fmt.Errorf("prepare the duplicate check: %w", err)
		}
		where = append(where, fmt.Sprintf("%s IN (SELECT %s FROM _batch)", dialect.Quote(k), dialect.Quote(k)))
	}
	if _, err := block.Columns[0].Append(q.EventIDs); err != nil {
		return fmt.Errorf("prepare the duplicate check: %w", err)
	}
	for i := range q.KeyColumns {
		if _, err := block.Columns[i+1].Append(q.KeyValues[i]); err != nil {
			return fmt.Errorf("prepare the duplicate check: %w", err)
		}
	}
	id, batch := dialect.Quote(schema.ColEventID), dialect.Quote(schema.ColBatchID)
	where = append(where, fmt.Sprintf("%s IN (SELECT %s FROM _batch)", id, id))
	// Every replica in cluster mode (ReadReplicas): a row stored a moment ago
	// by another writer may not have reached the other replica of its shard.
	return s.ReadReplicas(clickhouse.Context(ctx, clickhouse.WithExternalTable(tbl)), q.Table, func(t string) string {
		return fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s", id, batch, t, strings.Join(where, " AND "))
	}, args, func(r driver.Rows) error {
		var e, b string
		if err := r.Scan(&e, &b); err != nil {
			return fmt.Errorf("read a stored event_id: %w", err)
		}
		found(e, b)
		return nil
	})
}

// BatchRows reads columns of the table's rows stored under batchIDs, with
// batch_id first. The batch_ids travel as an external table.
func (s *Store) BatchRows(ctx context.Context, table string, columns, batchIDs []string) (driver.Rows, error) {
	tbl, err := ext.NewTable("_links", ext.Column(schema.ColBatchID, chcol.Type("String")))
	if err != nil {
		return nil, fmt.Errorf("prepare the ledger check: %w", err)
	}
	if _, err := tbl.Block().Columns[0].Append(batchIDs); err != nil {
		return nil, fmt.Errorf("prepare the ledger check: %w", err)
	}
	cols := make([]string, len(columns))
	for i, c := range columns {
		cols[i] = dialect.Quote(c)
	}
	batch := dialect.Quote(schema.ColBatchID)
	return s.conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(tbl)),
		fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s IN (SELECT %s FROM _links)", batch, strings.Join(cols, ", "), s.table(table), batch, batch))
}

// CountValue counts the table's rows whose column holds value.
func (s *Store) CountValue(ctx context.Context, table, column, value string) (uint64, error) {
	var n uint64
	err := s.conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s WHERE %s = ?", s.table(table), dialect.Quote(column)), value).Scan(&n)
	return n, err
}

// updateValue is the mutation setting column to the first argument where it
// holds the second, in the table holding the rows.
func (g ddlGen) updateValue(table, column string) string {
	col := dialect.Quote(column)
	return fmt.Sprintf("ALTER TABLE %s%s UPDATE %s = ? WHERE %s = ?", g.qualified(g.storage(table)), g.onCluster(), col, col)
}
