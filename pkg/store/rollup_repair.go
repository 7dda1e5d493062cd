package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// RollupMismatch is one rollup bucket whose row count differs from the rows
// of kpi_samples in that bucket.
type RollupMismatch struct {
	Table  string    `json:"table"`
	Bucket time.Time `json:"bucket"`
	// Raw is count() of kpi_samples in the bucket; Rollup is the rollup's
	// countMerge(cnt) for it.
	Raw    uint64 `json:"raw"`
	Rollup uint64 `json:"rollup"`
}

// maxMismatches bounds how many mismatched buckets one check returns per rollup.
const maxMismatches = 1000

// day is the widest rollup bucket: checks and rebuilds work on whole days,
// so every rollup's buckets in the range are complete.
const day = 86400

// Rollups lists the rollup tables a materialized view fills from table
// (none for tables without rollups).
func Rollups(table string) []schema.Table {
	var out []schema.Table
	for _, t := range schema.Tables() {
		if t.Kind == schema.KindRollup && t.Source == table {
			out = append(out, t)
		}
	}
	return out
}

// comparableRange widens [from, to] to whole days and, when kpi_samples has
// a retention, starts it no earlier than the first whole day still held in
// kpi_samples: rollups may be kept longer than raw rows, and buckets whose
// raw rows retention removed are not comparable. ok is false when nothing
// remains to compare.
func (s *Store) comparableRange(ctx context.Context, from, to time.Time) (int64, int64, bool, error) {
	a := from.Unix() - from.Unix()%day
	b := to.Unix() - to.Unix()%day + day
	if s.settings.RetentionDays[schema.TableKPISamples] > 0 {
		var oldest uint32
		q := fmt.Sprintf("SELECT toUInt32(min(ts)) FROM %s", s.table(schema.TableKPISamples))
		if err := s.conn.QueryRow(ctx, q).Scan(&oldest); err != nil {
			return 0, 0, false, Classify(s.settings, fmt.Errorf("find the oldest row of kpi_samples: %w", err))
		}
		if floor := (int64(oldest) + day - 1) / day * day; floor > a {
			a = floor
		}
	}
	return a, b, a < b, nil
}

// rollupRange is the rollups fed from table and the comparable range of
// from..to (see comparableRange); no rollups when there is nothing to compare.
func (s *Store) rollupRange(ctx context.Context, table string, from, to time.Time) ([]schema.Table, int64, int64, error) {
	rollups := Rollups(table)
	if len(rollups) == 0 {
		return nil, 0, 0, nil
	}
	a, b, ok, err := s.comparableRange(ctx, from, to)
	if err != nil || !ok {
		return nil, 0, 0, err
	}
	return rollups, a, b, nil
}

// table is the name to read or write a table through: the Distributed table
// in cluster mode, which reaches every shard.
func (s *Store) table(name string) string {
	return dialect.Quote(s.settings.Database) + "." + dialect.Quote(name)
}

// TimeSpan is the range of table's time column over its rows, or over the
// rows ingested between ingestedFrom and ingestedTo when they are not zero;
// ok is false when there are none.
func (s *Store) TimeSpan(ctx context.Context, table string, ingestedFrom, ingestedTo time.Time) (time.Time, time.Time, bool, error) {
	t, ok := schema.Lookup(table)
	if !ok || t.TimeColumn == "" {
		return time.Time{}, time.Time{}, false, fmt.Errorf("time range of %q: not a table with a time column", table)
	}
	var where []string
	var args []any
	if !ingestedFrom.IsZero() {
		where, args = append(where, "ingested_at >= toDateTime(?)"), append(args, ingestedFrom.Unix())
	}
	if !ingestedTo.IsZero() {
		where, args = append(where, "ingested_at <= toDateTime(?)"), append(args, ingestedTo.Unix())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var n uint64
	var lo, hi uint32
	col := dialect.Quote(t.TimeColumn)
	err := s.conn.QueryRow(ctx, fmt.Sprintf("SELECT count(), toUInt32(min(%s)), toUInt32(max(%s)) FROM %s%s",
		col, col, s.table(table), cond), args...).Scan(&n, &lo, &hi)
	if err != nil {
		return time.Time{}, time.Time{}, false, Classify(s.settings, fmt.Errorf("read the time range of %s: %w", table, err))
	}
	return time.Unix(int64(lo), 0).UTC(), time.Unix(int64(hi), 0).UTC(), n > 0, nil
}

// RollupMismatches compares every rollup fed from table with the table's
// rows, bucket by bucket, over the whole days holding from through to, and
// returns the buckets whose counts differ (at most 1000 per rollup).
//
// # Notes
//
// A crash after an insert's raw part was written but before the views wrote
// theirs leaves the rollups short; a crash during a rebuild does too. The
// comparison is done in ClickHouse, one grouped query per rollup. The caller
// should hold the stream's lease: an insert running during the comparison
// may have its raw part counted and its view parts not yet.
func (s *Store) RollupMismatches(ctx context.Context, table string, from, to time.Time) ([]RollupMismatch, error) {
	rollups, a, b, err := s.rollupRange(ctx, table, from, to)
	if err != nil || len(rollups) == 0 {
		return nil, err
	}
	var out []RollupMismatch
	for _, r := range rollups {
		q := fmt.Sprintf("SELECT bucket, raw, rolled FROM %s ORDER BY bucket LIMIT %d", s.bucketCounts(table, r), maxMismatches)
		rows, err := s.conn.Query(ctx, q, a, b, a, b)
		if err != nil {
			return nil, Classify(s.settings, fmt.Errorf("compare %s with %s: %w", r.Name, table, err))
		}
		for rows.Next() {
			var bucket uint32
			m := RollupMismatch{Table: r.Name}
			if err := rows.Scan(&bucket, &m.Raw, &m.Rollup); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read a mismatched bucket of %s: %w", r.Name, err)
			}
			m.Bucket = time.Unix(int64(bucket), 0).UTC()
			out = append(out, m)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, Classify(s.settings, fmt.Errorf("compare %s with %s: %w", r.Name, table, err))
		}
	}
	return out, nil
}

// bucketCounts is a subquery of the buckets of rollup r between two Unix
// times (bound twice: a, b, a, b) whose count differs from table's rows:
// columns bucket (UInt32), raw and rolled. The comparison runs in ClickHouse.
func (s *Store) bucketCounts(table string, r schema.Table) string {
	return fmt.Sprintf(`(SELECT bucket, raw, rolled FROM (
    SELECT toUInt32(%s) AS bucket, count() AS raw FROM %s
    WHERE ts >= toDateTime(?) AND ts < toDateTime(?) GROUP BY bucket
) ANY FULL OUTER JOIN (
    SELECT toUInt32(bucket) AS bucket, countMerge(cnt) AS rolled FROM %s
    WHERE bucket >= toDateTime(?) AND bucket < toDateTime(?) GROUP BY bucket
) USING bucket
WHERE raw != rolled)`, dialect.Bucket(schema.KPIRollup().SourceTime, int64(r.ResolutionSeconds)), s.table(table), s.table(r.Name))
}

// RebuiltRange is one range of one rollup that RebuildRollups recomputed.
type RebuiltRange struct {
	Table string    `json:"table"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	// Buckets is how many buckets in the range differed.
	Buckets int `json:"buckets"`
}

// RebuildRollups compares every rollup fed from table with the table's rows
// over the whole days holding from through to, like RollupMismatches but
// without a limit, and recomputes each day holding a differing bucket: it
// deletes those days of the rollup with one mutation, waits until the
// mutation is done, and inserts the aggregation the materialized view
// computes (the same SELECT) over the same days of the table.
//
// # Notes
//
// The caller must hold the kpi stream's lease for the whole rebuild, so no
// kpiflow writer inserts into kpi_samples meanwhile: a row inserted between
// the delete and the rebuild's SELECT would reach the rollup twice (through
// its view and through the rebuild), and one inserted after the comparison
// but before the delete could be lost from it. A mutation only touches parts
// that existed when it was created, and the rebuild inserts only after the
// mutation is done, so the rebuilt rows are never deleted by it. A crash part
// way leaves the rollups short again, which the next comparison finds; a
// rebuild is idempotent.
func (s *Store) RebuildRollups(ctx context.Context, table string, from, to time.Time) ([]RebuiltRange, error) {
	rollups, a, b, err := s.rollupRange(ctx, table, from, to)
	if err != nil || len(rollups) == 0 {
		return nil, err
	}
	g, err := s.ddl(ctx)
	if err != nil {
		return nil, err
	}
	var out []RebuiltRange
	for _, r := range rollups {
		runs, err := s.differingDays(ctx, table, r, a, b)
		if err != nil || len(runs) == 0 {
			if err != nil {
				return out, err
			}
			continue
		}
		var bucketIn, tsIn []string
		for _, run := range runs {
			bucketIn = append(bucketIn, fmt.Sprintf("(bucket >= toDateTime(%d) AND bucket < toDateTime(%d))", run.From.Unix(), run.To.Unix()))
			tsIn = append(tsIn, fmt.Sprintf("(ts >= toDateTime(%d) AND ts < toDateTime(%d))", run.From.Unix(), run.To.Unix()))
		}
		del := fmt.Sprintf("ALTER TABLE %s%s DELETE WHERE %s", g.qualified(g.storage(r.Name)), g.onCluster(), strings.Join(bucketIn, " OR "))
		if err := s.conn.Exec(ctx, del); err != nil {
			return out, Classify(s.settings, fmt.Errorf("delete days of %s to rebuild them: %w", r.Name, err))
		}
		if err := s.WaitMutations(ctx, g.storage(r.Name)); err != nil {
			return out, err
		}
		ins := fmt.Sprintf("INSERT INTO %s %s", s.table(r.Name), g.rollupSelect(r, s.table(table), strings.Join(tsIn, " OR ")))
		if err := s.conn.Exec(ctx, ins); err != nil {
			return out, Classify(s.settings, fmt.Errorf("rebuild days of %s from %s: %w", r.Name, table, err))
		}
		out = append(out, runs...)
	}
	return out, nil
}

// differingDays lists the days between a and b holding a bucket of rollup r
// that differs from table, merged into runs of consecutive days.
func (s *Store) differingDays(ctx context.Context, table string, r schema.Table, a, b int64) ([]RebuiltRange, error) {
	q := fmt.Sprintf("SELECT intDiv(bucket, %d) * %d AS day, count() FROM %s GROUP BY day ORDER BY day", day, day, s.bucketCounts(table, r))
	rows, err := s.conn.Query(ctx, q, a, b, a, b)
	if err != nil {
		return nil, Classify(s.settings, fmt.Errorf("compare %s with %s: %w", r.Name, table, err))
	}
	defer rows.Close()
	var runs []RebuiltRange
	for rows.Next() {
		var start, n uint64
		if err := rows.Scan(&start, &n); err != nil {
			return nil, fmt.Errorf("read a differing day of %s: %w", r.Name, err)
		}
		from := time.Unix(int64(start), 0).UTC()
		if k := len(runs) - 1; k >= 0 && runs[k].To.Equal(from) {
			runs[k].To, runs[k].Buckets = from.Add(day*time.Second), runs[k].Buckets+int(n)
			continue
		}
		runs = append(runs, RebuiltRange{Table: r.Name, From: from, To: from.Add(day * time.Second), Buckets: int(n)})
	}
	if err := rows.Err(); err != nil {
		return nil, Classify(s.settings, fmt.Errorf("compare %s with %s: %w", r.Name, table, err))
	}
	return runs, nil
}

// RepairViews makes the tables that materialized views fill from table
// whole again after a crash may have cut the views short for the rows of
// batchID, which lie between from and to: rollups are compared and rebuilt
// by day (RebuildRollups), and tables keeping the latest row per key
// (tasks_current) get the batch's rows again, which their engine and FINAL
// collapse with any copy already there. The caller holds the stream's lease.
func (s *Store) RepairViews(ctx context.Context, table, batchID string, from, to time.Time) error {
	if _, err := s.RebuildRollups(ctx, table, from, to); err != nil {
		return err
	}
	for _, t := range schema.Tables() {
		if t.Kind != schema.KindCurrent || t.Source != table {
			continue
		}
		q := fmt.Sprintf("INSERT INTO %s %s", s.table(t.Name), copySelect(t, s.table(table), "batch_id = ?"))
		if err := s.conn.Exec(ctx, q, batchID); err != nil {
			return Classify(s.settings, fmt.Errorf("refill %s with batch %s: %w", t.Name, batchID, err))
		}
	}
	return nil
}
