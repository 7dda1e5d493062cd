package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/ledger"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// The ingest ledger's reads and writes (package ingest decides what they
// mean). Their errors are the driver's, unwrapped: the caller says what it
// was doing and classifies them (store.Classify).

// ledgerColumns are ingest_ledger's columns in Link's order, after stream.
func ledgerColumns() []string {
	return []string{"seq", "kind", "batch_id", "row_count", "content_sha256", "prev_hash", "hash", "received_at", "actor"}
}

// scanLink is the holders for ledgerColumns (kind read as its text).
func scanLink(l *ledger.Link) []any {
	return []any{&l.Seq, &l.Kind, &l.BatchID, &l.RowCount, &l.ContentSHA256, &l.PrevHash, &l.Hash, &l.ReceivedAt, &l.Actor}
}

// LedgerHead is stream's last link, by seq (Seq 0 and no hash for an empty
// stream).
//
//	head, err := st.LedgerHead(ctx, "kpi")
//	next := ledger.Next(head, "kpi", ledger.KindBatch, batchID, rows, content, now, actor)
//
// # Notes
//
// In cluster mode it is read from every replica (ReadReplicas), highest seq
// wins: the replica that did not take the last link may not have fetched it
// yet, and the next link would repeat its seq (seen in the cluster suite
// before it read every replica).
func (s *Store) LedgerHead(ctx context.Context, stream string) (ledger.Link, error) {
	l := ledger.Link{Stream: stream}
	err := s.ReadReplicas(ctx, schema.TableIngestLedger, func(t string) string {
		return "SELECT max(seq), argMax(hash, seq) FROM " + t + " WHERE stream = ?"
	}, []any{stream}, func(r driver.Rows) error {
		var seq uint64
		var hash string
		if err := r.Scan(&seq, &hash); err != nil {
			return err
		}
		if seq > l.Seq {
			l.Seq, l.Hash = seq, hash
		}
		return nil
	})
	return l, err
}

// LedgerLink finds stream's link for batchID (Seq, Hash and RowCount), on
// every replica in cluster mode (ReadReplicas): a retry through another
// Grafana replica must find a link written a moment ago.
func (s *Store) LedgerLink(ctx context.Context, stream, batchID string) (ledger.Link, bool, error) {
	l := ledger.Link{Stream: stream, BatchID: batchID}
	found := false
	err := s.ReadReplicas(ctx, schema.TableIngestLedger, func(t string) string {
		return "SELECT seq, hash, row_count FROM " + t + " WHERE stream = ? AND batch_id = ? LIMIT 1"
	}, []any{stream, batchID}, func(r driver.Rows) error {
		found = true
		if err := r.Scan(&l.Seq, &l.Hash, &l.RowCount); err != nil {
			return fmt.Errorf("read a ledger link: %w", err)
		}
		return nil
	})
	return l, found && err == nil, err
}

// AppendLink writes l as a row of ingest_ledger.
func (s *Store) AppendLink(ctx context.Context, l ledger.Link) error {
	return s.InsertBatch(ctx, schema.TableIngestLedger, append([]string{"stream"}, ledgerColumns()...), func(b driver.Batch) error {
		return b.Append(l.Stream, l.Seq, l.Kind, l.BatchID, l.RowCount, l.ContentSHA256, l.PrevHash, l.Hash, l.ReceivedAt, l.Actor)
	})
}

// LedgerLinks reads up to limit of stream's links after seq, in seq order.
func (s *Store) LedgerLinks(ctx context.Context, stream string, after uint64, limit int) ([]ledger.Link, error) {
	return s.readLinks(ctx, stream, fmt.Sprintf("seq > ? ORDER BY seq LIMIT %d", limit), after)
}

// LedgerErasures reads stream's erasure links.
func (s *Store) LedgerErasures(ctx context.Context, stream string) ([]ledger.Link, error) {
	return s.readLinks(ctx, stream, "kind = ?", ledger.KindErasure)
}

func (s *Store) readLinks(ctx context.Context, stream, cond string, args ...any) ([]ledger.Link, error) {
	cols := ledgerColumns()
	cols[1] = "toString(kind)"
	rows, err := s.conn.Query(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE stream = ? AND %s",
		strings.Join(cols, ", "), s.table(schema.TableIngestLedger), cond), append([]any{stream}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ledger.Link
	for rows.Next() {
		l := ledger.Link{Stream: stream}
		if err := rows.Scan(scanLink(&l)...); err != nil {
			return nil, fmt.Errorf("read a %s ledger link: %w", stream, err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// BatchRows counts a table's rows of one batch_id.
type BatchRows struct {
	BatchID string
	Rows    uint64
}

// UnledgeredBatches lists, up to limit, the batch_ids of table that no link
// of stream names, with their row counts, among the rows ingested between
// from and to (a zero bound is open). The scan runs in ClickHouse (one
// column, grouped there).
func (s *Store) UnledgeredBatches(ctx context.Context, table, stream string, from, to time.Time, limit int) ([]BatchRows, error) {
	// GLOBAL: in cluster mode both tables are Distributed (a plain NOT IN
	// over a Distributed subquery is refused, code 288); on one server it is
	// the same as NOT IN.
	where := []string{fmt.Sprintf("batch_id GLOBAL NOT IN (SELECT batch_id FROM %s WHERE stream = ?)", s.table(schema.TableIngestLedger))}
	args := []any{stream}
	if !from.IsZero() {
		where = append(where, "ingested_at >= toDateTime(?)")
		args = append(args, from.Unix())
	}
	if !to.IsZero() {
		where = append(where, "ingested_at <= toDateTime(?)")
		args = append(args, to.Unix())
	}
	rows, err := s.conn.Query(ctx, fmt.Sprintf("SELECT batch_id, count() FROM %s WHERE %s GROUP BY batch_id ORDER BY batch_id LIMIT %d",
		s.table(table), strings.Join(where, " AND "), limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BatchRows
	for rows.Next() {
		var b BatchRows
		if err := rows.Scan(&b.BatchID, &b.Rows); err != nil {
			return nil, fmt.Errorf("read an unledgered batch: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
