//go:build integration

package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/ingest"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// migrated opens a store on a fresh database with kpiflow's schema.
func migrated(t testing.TB) (*store.Store, *chtest.Database) { return chtest.MigratedStore(t) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func kpiRows(n int, start time.Time, metric string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"ts": %d, "metric": %q, "value": %d, "team": "core", "labels": {"region": "eu"}}`+"\n",
			start.Add(time.Duration(i)*time.Minute).UnixMilli(), metric, i)
	}
	return b.String()
}

func decode(t *testing.T, stream, ndjson string) *ingest.Batch {
	t.Helper()
	b, err := ingest.Decode(strings.NewReader(ndjson), stream, ingest.ContentTypeNDJSON, ingest.DefaultLimits())
	require.NoError(t, err)
	return b
}

func count(t *testing.T, st *store.Store, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, st.Conn().QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

func TestIntegrationWriterDedupeAndLedger(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	w := ingest.NewWriter(st, nil)
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Hour)

	res, err := w.Write(ctx, decode(t, "kpi", kpiRows(10, start, "m")), "", "alice")
	require.NoError(t, err)
	require.Equal(t, 10, res.Accepted)
	require.Equal(t, 0, res.Duplicates)
	require.Len(t, res.LedgerHash, 64)

	// The same events again (derived event_ids), plus 5 new ones.
	res2, err := w.Write(ctx, decode(t, "kpi", kpiRows(15, start, "m")), "", "alice")
	require.NoError(t, err)
	require.Equal(t, 5, res2.Accepted)
	require.Equal(t, 10, res2.Duplicates)
	require.Equal(t, uint64(15), count(t, st, "SELECT count() FROM kpi_samples"))

	// Idempotency-Key: stored once, the retry answers the same.
	body := kpiRows(3, start.Add(-time.Hour), "k")
	a, err := w.Write(ctx, decode(t, "kpi", body), "key-1", "alice")
	require.NoError(t, err)
	b, err := w.Write(ctx, decode(t, "kpi", body), "key-1", "alice")
	require.NoError(t, err)
	require.True(t, b.Replayed)
	require.Equal(t, a.BatchID, b.BatchID)
	require.Equal(t, a.LedgerHash, b.LedgerHash)
	require.Equal(t, 3, b.Accepted)
	require.Equal(t, uint64(18), count(t, st, "SELECT count() FROM kpi_samples"))

	// The same key with rows its batch did not hold is refused, not replayed.
	_, err = w.Write(ctx, decode(t, "kpi", kpiRows(4, start.Add(-time.Hour), "k")), "key-1", "alice")
	var reuse *ingest.KeyReuseError
	require.ErrorAs(t, err, &reuse)
	require.Equal(t, 3, reuse.Index)
	require.Equal(t, http.StatusConflict, ingest.StatusOf(err))
	require.Equal(t, uint64(18), count(t, st, "SELECT count() FROM kpi_samples"))

	rep, err := w.Verify(ctx, ingest.VerifyRequest{})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
	require.Equal(t, 3, rep.Streams[0].Links)
	require.Equal(t, int64(18), rep.Streams[0].Rows)
	require.Empty(t, rep.Streams[0].Unledgered)

	// Rows written around ingest are named.
	bt, err := st.Conn().PrepareBatch(ctx, "INSERT INTO kpi_samples (ts, metric, value, event_id, batch_id)")
	require.NoError(t, err)
	require.NoError(t, bt.Append(start, "sneaky", 1.0, "x1", "side-door"))
	require.NoError(t, bt.Send())
	rep, err = w.Verify(ctx, ingest.VerifyRequest{Stream: "kpi"})
	require.NoError(t, err)
	require.Equal(t, []ingest.UnledgeredBatch{{BatchID: "side-door", Rows: 1}}, rep.Streams[0].Unledgered)
}

func TestIntegrationWriterResumesAfterLostLink(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	w := ingest.NewWriter(st, nil)
	start := time.Now().Add(-time.Hour).Truncate(time.Hour)
	body := kpiRows(4, start, "m")
	res, err := w.Write(ctx, decode(t, "kpi", body), "key-2", "bob")
	require.NoError(t, err)
	// Lose the link, as if ClickHouse went away right after the rows.
	require.NoError(t, st.Conn().Exec(ctx, "ALTER TABLE ingest_ledger DELETE WHERE batch_id = ?", res.BatchID))
	require.Eventually(t, func() bool { return count(t, st, "SELECT count() FROM ingest_ledger") == 0 }, 30*time.Second, 100*time.Millisecond)

	again, err := w.Write(ctx, decode(t, "kpi", body), "key-2", "bob")
	require.NoError(t, err)
	require.False(t, again.Replayed)
	require.Equal(t, 4, again.Accepted, "rows stored by the lost attempt are covered by the new link")
	require.Equal(t, uint64(4), count(t, st, "SELECT count() FROM kpi_samples"))
	rep, err := w.Verify(ctx, ingest.VerifyRequest{Stream: "kpi"})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
}

func TestIntegrationEraseKeepsLedgerValid(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	w := ingest.NewWriter(st, nil)
	ts := time.Now().Add(-time.Hour).UnixMilli()
	tasks := fmt.Sprintf(`{"ts": %d, "task_id": "T-1", "state_category": "todo", "assignee": "Ann Example"}
{"ts": %d, "task_id": "T-1", "state_category": "done", "assignee": "Ann Example"}
{"ts": %d, "task_id": "T-2", "state_category": "todo", "assignee": "Bob"}
`, ts, ts+1000, ts)
	_, err := w.Write(ctx, decode(t, "tasks", tasks), "", "alice")
	require.NoError(t, err)

	er, err := w.Erase(ctx, "Ann Example", "admin")
	require.NoError(t, err)
	require.Equal(t, uint64(2), er.Rows)
	require.Equal(t, "[erased #2]", er.Tombstone)
	require.NotContains(t, er.SubjectSHA256, "Ann")
	require.Equal(t, uint64(0), count(t, st, "SELECT count() FROM task_events WHERE assignee = 'Ann Example'"))
	require.Equal(t, uint64(0), count(t, st, "SELECT count() FROM tasks_current WHERE assignee = 'Ann Example'"))
	require.Equal(t, uint64(1), count(t, st, "SELECT count() FROM task_events WHERE assignee = 'Bob'"))
	require.Equal(t, uint64(0), count(t, st, "SELECT count() FROM ingest_ledger WHERE actor LIKE '%Ann%' OR batch_id LIKE '%Ann%'"))

	rep, err := w.Verify(ctx, ingest.VerifyRequest{Stream: "tasks"})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
	require.Equal(t, 1, rep.Streams[0].Erasures)

	// A tombstone with no erasure behind it is a break.
	require.NoError(t, st.Conn().Exec(ctx, "ALTER TABLE task_events UPDATE assignee = '[erased #9]' WHERE assignee = 'Bob'"))
	require.Eventually(t, func() bool {
		return count(t, st, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0") == 0
	}, 30*time.Second, 100*time.Millisecond)
	rep, err = w.Verify(ctx, ingest.VerifyRequest{Stream: "tasks"})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, uint64(1), rep.Break.Seq)
	require.Contains(t, rep.Break.Message, "no erasure link 9")
}

func TestIntegrationAllStreamsVerify(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	w := ingest.NewWriter(st, nil)
	ms := time.Now().Add(-time.Hour).UnixMilli()
	bodies := map[string]string{
		"kpi":         fmt.Sprintf(`{"ts": %d, "metric": "m", "value": 1.25, "labels": {"b": "2", "a": "1"}}`, ms),
		"tasks":       fmt.Sprintf(`{"ts": %d, "task_id": "T-1", "project": "p", "title": "Fix \"it\" é", "state_category": "in_progress", "assignee": "Ann", "points": 3, "blocked_by": ["T-0", "T-9"]}`, ms),
		"deployments": fmt.Sprintf(`{"finished_at": %d, "deployment_id": "d1", "result": "success", "first_commit_at": %d, "environment": "production"}`+"\n"+`{"finished_at": %d, "deployment_id": "d2", "result": "rollback"}`, ms, ms-3600_000, ms),
		"incidents":   fmt.Sprintf(`{"incident_id": "i1", "opened_at": %d, "resolved_at": %d, "severity": "sev1"}`, ms, ms+60_000),
		"pipelines":   fmt.Sprintf(`{"run_id": "r1", "pipeline": "build", "status": "running", "started_at": %d}`, ms),
		"teams":       `{"team": "core", "parent": "", "display_name": "Core"}` + "\n" + `{"team": "web", "parent": "core"}`,
	}
	for _, s := range ingest.Streams() {
		res, err := w.Write(ctx, decode(t, s, bodies[s]+"\n"), "", "alice")
		require.NoError(t, err, s)
		require.Positive(t, res.Accepted, s)
	}
	rep, err := w.Verify(ctx, ingest.VerifyRequest{})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
	for _, sr := range rep.Streams {
		require.Equal(t, 1, sr.Links, sr.Stream)
	}

	// A new version of deployment d1 replaces the old row on merge: the first
	// batch is then reported as superseded, not broken.
	_, err = w.Write(ctx, decode(t, "deployments", fmt.Sprintf(`{"finished_at": %d, "deployment_id": "d1", "result": "failure"}`+"\n", ms)), "", "alice")
	require.NoError(t, err)
	require.NoError(t, st.Conn().Exec(ctx, "OPTIMIZE TABLE deployments FINAL"))
	rep, err = w.Verify(ctx, ingest.VerifyRequest{Stream: "deployments"})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
	require.Len(t, rep.Streams[0].Superseded, 1)
}

func TestIntegrationConcurrentWritesChainInOrder(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	w := ingest.NewWriter(st, nil)
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	const writers = 4
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		b := decode(t, "kpi", kpiRows(50, start.Add(time.Duration(i)*time.Hour), "m")+kpiRows(50, start, "shared"))
		go func() {
			_, err := w.Write(ctx, b, "", "w")
			errs <- err
		}()
	}
	for i := 0; i < writers; i++ {
		require.NoError(t, <-errs)
	}
	// The shared 50 rows are stored once, whichever writer came first.
	require.Equal(t, uint64(writers*50+50), count(t, st, "SELECT count() FROM kpi_samples"))
	rep, err := w.Verify(ctx, ingest.VerifyRequest{Stream: "kpi"})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
	require.Equal(t, writers, rep.Streams[0].Links)
}

func TestIntegrationWriterOutOfMemoryIsUnavailable(t *testing.T) {
	_, db := migrated(t)
	ctx := testCtx(t)
	s := db.Settings(t)
	s.CustomSettings = []settings.CustomSetting{{Setting: "max_memory_usage", Value: "1000"}}
	st, err := store.Open(ctx, s)
	require.NoError(t, err)
	defer st.Close()
	_, err = ingest.NewWriter(st, nil).Write(ctx, decode(t, "kpi", kpiRows(100, time.Now().Add(-time.Hour), "m")), "", "x")
	var ue *ingest.UnavailableError
	require.ErrorAs(t, err, &ue)
	require.Contains(t, err.Error(), "out of memory")
}

// loseLink deletes a batch's ledger link, the state a crash between the
// insert and the link leaves.
func loseLink(t *testing.T, st *store.Store, batchID string) {
	t.Helper()
	ctx := testCtx(t)
	require.NoError(t, st.Conn().Exec(ctx, "ALTER TABLE ingest_ledger DELETE WHERE batch_id = ?", batchID))
	require.Eventually(t, func() bool {
		return count(t, st, "SELECT count() FROM ingest_ledger WHERE batch_id = ?", batchID) == 0
	}, 30*time.Second, 100*time.Millisecond)
}

// TestIntegrationRetryOfPartlyStoredBatch is issue 8.2's repro: the first
// attempt of a two-month batch stored only the September part (one part per
// month partition) and no link; the retry must store exactly the November
// row, and the rollups must count each row once.
func TestIntegrationRetryOfPartlyStoredBatch(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	w := ingest.NewWriter(st, nil)
	sep := fmt.Sprintf(`{"ts": %d, "metric": "m", "value": 1}`+"\n", time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC).UnixMilli())
	nov := fmt.Sprintf(`{"ts": %d, "metric": "m", "value": 2}`+"\n", time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC).UnixMilli())

	first, err := w.Write(ctx, decode(t, "kpi", sep), "K", "ci")
	require.NoError(t, err)
	loseLink(t, st, first.BatchID)

	res, err := w.Write(ctx, decode(t, "kpi", sep+nov), "K", "ci")
	require.NoError(t, err)
	require.Equal(t, 2, res.Accepted)
	require.Equal(t, 0, res.Duplicates)
	require.Equal(t, uint64(2), count(t, st, "SELECT count() FROM kpi_samples"))
	require.Equal(t, uint64(2), count(t, st, "SELECT count() FROM kpi_samples WHERE batch_id = ?", first.BatchID))
	for _, r := range []string{"kpi_rollup_1h", "kpi_rollup_1d"} {
		require.Equal(t, uint64(2), count(t, st, "SELECT countMerge(cnt) FROM "+r), r)
	}
	rep, err := w.Verify(ctx, ingest.VerifyRequest{Stream: "kpi"})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
	require.Equal(t, int64(2), rep.Streams[0].Rows)
}

// rollupsMatchRaw asserts every rollup's countMerge per bucket equals the
// raw count per bucket.
func rollupsMatchRaw(t *testing.T, st *store.Store) {
	t.Helper()
	for _, r := range store.Rollups(schema.TableKPISamples) {
		n := r.ResolutionSeconds
		q := fmt.Sprintf(`SELECT count() FROM (
    SELECT toUInt32(intDiv(toUInt32(ts), %d) * %d) AS b, count() AS c FROM kpi_samples GROUP BY b
) ANY FULL OUTER JOIN (
    SELECT toUInt32(bucket) AS b, countMerge(cnt) AS r FROM %s GROUP BY b
) USING b WHERE c != r`, n, n, r.Name)
		require.Equal(t, uint64(0), count(t, st, q), "%s differs from kpi_samples", r.Name)
	}
}

// TestIntegrationRollupsShortAfterCrash is issue 8.3: the raw part was
// written but the views did not write theirs (simulated by removing the 1h
// rollup's rows for the batch's days). Verify reports it; the retry that
// finds the batch's rows rebuilds the rollups; a repair does too.
func TestIntegrationRollupsShortAfterCrash(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	w := ingest.NewWriter(st, nil)
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	body := kpiRows(120, start, "m")
	_, err := w.Write(ctx, decode(t, "kpi", kpiRows(30, start.Add(-48*time.Hour), "older")), "", "ci")
	require.NoError(t, err)
	first, err := w.Write(ctx, decode(t, "kpi", body), "K", "ci")
	require.NoError(t, err)

	shorten := func() {
		require.NoError(t, st.Conn().Exec(ctx, "ALTER TABLE kpi_rollup_1h DELETE WHERE bucket >= toDateTime(?)", start.Unix()))
		require.NoError(t, st.WaitMutations(ctx, "kpi_rollup_1h"))
	}
	shorten()
	rep, err := w.Verify(ctx, ingest.VerifyRequest{Stream: "kpi"})
	require.NoError(t, err)
	require.False(t, rep.OK, "verify must not call short rollups ok")
	require.Nil(t, rep.Break, "the chain itself is fine")
	require.NotEmpty(t, rep.Streams[0].Rollups)
	require.Equal(t, "kpi_rollup_1h", rep.Streams[0].Rollups[0].Table)
	require.Zero(t, rep.Streams[0].Rollups[0].Rollup)

	// The retry after a crash before the link repairs on its own.
	loseLink(t, st, first.BatchID)
	res, err := w.Write(ctx, decode(t, "kpi", body), "K", "ci")
	require.NoError(t, err)
	require.Equal(t, 120, res.Accepted)
	require.Equal(t, uint64(150), count(t, st, "SELECT count() FROM kpi_samples"))
	rollupsMatchRaw(t, st)
	rep, err = w.Verify(ctx, ingest.VerifyRequest{Stream: "kpi"})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)

	// And a repair, when no retry comes.
	shorten()
	fixed, err := w.Repair(ctx, ingest.RepairRequest{})
	require.NoError(t, err)
	require.NotEmpty(t, fixed.Mismatches)
	require.Len(t, fixed.Rebuilt, 1)
	require.Equal(t, "kpi_rollup_1h", fixed.Rebuilt[0].Table)
	require.Empty(t, fixed.Remaining)
	rollupsMatchRaw(t, st)
	again, err := w.Repair(ctx, ingest.RepairRequest{})
	require.NoError(t, err)
	require.Empty(t, again.Mismatches)
	require.Empty(t, again.Rebuilt)
}

// TestIntegrationRepairWhileWriting runs repairs of the very buckets that
// batches are being written into, from two writers (as two processes): the
// lease keeps every rebuild apart from the inserts, so no row is counted
// twice or lost in the rollups.
func TestIntegrationRepairWhileWriting(t *testing.T) {
	st, db := migrated(t)
	ctx := testCtx(t)
	other, err := store.Open(ctx, db.Settings(t))
	require.NoError(t, err)
	defer other.Close()
	writer, repairer := ingest.NewWriter(st, nil), ingest.NewWriter(other, nil)
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 10; i++ {
			if _, err := writer.Write(ctx, decode(t, "kpi", kpiRows(100, start, fmt.Sprintf("m%d", i))), "", "ci"); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	repairs := 0
	for writing := true; writing; {
		select {
		case err := <-done:
			require.NoError(t, err)
			writing = false
		default:
		}
		// Damage the rollup, then repair it, while batches keep coming.
		require.NoError(t, st.Conn().Exec(ctx, "ALTER TABLE kpi_rollup_1h DELETE WHERE bucket >= toDateTime(?)", start.Add(30*time.Minute).Unix()))
		require.NoError(t, st.WaitMutations(ctx, "kpi_rollup_1h"))
		_, err := repairer.Repair(ctx, ingest.RepairRequest{})
		require.NoError(t, err)
		repairs++
	}
	require.Equal(t, uint64(1000), count(t, st, "SELECT count() FROM kpi_samples"))
	rollupsMatchRaw(t, st)
	t.Logf("%d repairs ran beside 10 batches", repairs)
}

// TestIntegrationTasksCurrentAfterCrash: like the rollups, tasks_current is
// filled by a view, so a crash after the task_events part can leave it
// without the batch's tasks; the retry that finds the rows refills it.
func TestIntegrationTasksCurrentAfterCrash(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	w := ingest.NewWriter(st, nil)
	ts := time.Now().Add(-time.Hour).UnixMilli()
	body := fmt.Sprintf(`{"ts": %d, "task_id": "T-1", "state_category": "todo"}
{"ts": %d, "task_id": "T-1", "state_category": "done"}
{"ts": %d, "task_id": "T-2", "state_category": "in_progress"}
`, ts, ts+1000, ts)
	first, err := w.Write(ctx, decode(t, "tasks", body), "K", "ci")
	require.NoError(t, err)
	// The view did not write (simulated), and the link was lost.
	require.NoError(t, st.Conn().Exec(ctx, "ALTER TABLE tasks_current DELETE WHERE 1 = 1"))
	require.NoError(t, st.WaitMutations(ctx, "tasks_current"))
	loseLink(t, st, first.BatchID)

	res, err := w.Write(ctx, decode(t, "tasks", body), "K", "ci")
	require.NoError(t, err)
	require.Equal(t, 3, res.Accepted)
	require.Equal(t, uint64(3), count(t, st, "SELECT count() FROM task_events"))
	require.Equal(t, uint64(2), count(t, st, "SELECT count() FROM tasks_current FINAL"))
	require.Equal(t, uint64(1), count(t, st, "SELECT count() FROM tasks_current FINAL WHERE task_id = 'T-1' AND state_category = 'done'"))
	rep, err := w.Verify(ctx, ingest.VerifyRequest{Stream: "tasks"})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
}
