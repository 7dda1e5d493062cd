//go:build integration

package plugin_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// faultTrials is the number of trials of TestIntegrationFaultInjection:
// -fault.trials, or KPIFLOW_FAULT_TRIALS, or 3 (what CI runs).
var faultTrials = flag.Int("fault.trials", envInt("KPIFLOW_FAULT_TRIALS", 3), "trials of TestIntegrationFaultInjection")

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// faultRows is the size of each trial's batch: -fault.rows, or
// KPIFLOW_FAULT_ROWS, or 50,000.
var faultRows = flag.Int("fault.rows", envInt("KPIFLOW_FAULT_ROWS", 50_000), "rows per batch of TestIntegrationFaultInjection")

// faultMonths is how many months a trial's batch spans, so one insert
// writes several parts to kpi_samples and to each rollup.
const faultMonths = 3

// faultOutcome is what a kill left behind, seen after the restart and before
// the retry.
type faultOutcome string

const (
	outcomeNothing      faultOutcome = "nothing stored"
	outcomePartialRaw   faultOutcome = "some months of raw rows stored"
	outcomeRollupsShort faultOutcome = "raw rows stored, rollups short"
	outcomeNoLink       faultOutcome = "rows and rollups stored, no ledger link"
	outcomeComplete     faultOutcome = "complete before the kill"
)

// TestIntegrationFaultInjection is issue 8's fault loop. Each trial sends a
// large keyed batch through the plugin, kills the test's own ClickHouse at a
// random moment (before, during the insert or its views, around the ledger
// link, or after), starts it again on the same data, retries as a client
// would (the same Idempotency-Key, waiting as long as Retry-After says), and
// checks that kpi_samples holds exactly the rows sent, that every rollup's
// countMerge per bucket equals the raw count, and that ledger/verify is ok.
//
//	go test -tags integration -run TestIntegrationFaultInjection ./pkg/plugin -fault.trials 200 -fault.rows 20000 -timeout 4h
func TestIntegrationFaultInjection(t *testing.T) {
	srv := chtest.StartServer(t)
	p := plugintest.Start(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))

	// Calibrate: how long one complete ingest takes here, so kill moments
	// spread over all of it.
	var full time.Duration
	outcomes := map[faultOutcome]int{}
	var retries, retryWaits []time.Duration
	for trial := 0; trial <= *faultTrials; trial++ {
		ok := t.Run(fmt.Sprintf("trial-%03d", trial), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			db := srv.NewDatabase(t)
			ds := p.DataSource(t, db.JSONData(), nil)
			res := p.CallResource(ctx, t, ds.WithRole("Admin"), "POST", "admin/migrate", nil, nil)
			require.Equal(t, 200, res.Status, string(res.Body))

			body := faultBatch(rng, trial)
			headers := map[string]string{"Content-Type": "application/x-ndjson", "Idempotency-Key": fmt.Sprintf("fault-%d", trial)}
			if trial == 0 {
				began := time.Now()
				res := p.CallResource(ctx, t, ds, "POST", "ingest/kpi", headers, body)
				require.Equal(t, 200, res.Status, string(res.Body))
				full = time.Since(began)
				t.Logf("one undisturbed ingest of %d rows took %s", *faultRows, full)
				faultCheck(ctx, t, p, ds, db, time.Time{})
				return
			}
			began := time.Now().Add(-time.Second)
			killAt := time.Duration(rng.Int64N(int64(full + full/5)))
			killed := make(chan error, 1)
			go func() {
				time.Sleep(killAt)
				killed <- srv.Kill()
			}()
			first := p.CallResource(ctx, t, ds, "POST", "ingest/kpi", headers, body)
			require.NoError(t, <-killed)
			// The server stays down a random while and comes back on the
			// same data, while the client retries as it would.
			down := time.Duration(rng.Int64N(int64(2 * time.Second)))
			restarted := make(chan faultOutcome, 1)
			go func() {
				time.Sleep(down)
				if err := srv.Server.Restart(ctx); err != nil {
					restarted <- faultOutcome("restart failed: " + err.Error())
					return
				}
				restarted <- faultState(ctx, t, db, *faultRows)
			}()

			retried := time.Now()
			var waited time.Duration
			for attempt := 0; ; attempt++ {
				require.Less(t, attempt, 30, "no success after 30 retries")
				res := p.CallResource(ctx, t, ds, "POST", "ingest/kpi", headers, body)
				if res.Status == 200 {
					break
				}
				require.Equal(t, 503, res.Status, "only 503 is retryable: %s", res.Body)
				secs, err := strconv.Atoi(strings.Join(res.Headers["Retry-After"], ""))
				require.NoError(t, err, "a 503 carries Retry-After")
				waited += time.Duration(secs) * time.Second
				time.Sleep(time.Duration(secs) * time.Second)
			}
			retries = append(retries, time.Since(retried))
			retryWaits = append(retryWaits, waited)
			outcome := <-restarted
			require.NotContains(t, string(outcome), "restart failed")
			outcomes[outcome]++
			t.Logf("killed after %s, down %s: first attempt answered %d; %s; 200 after %s (Retry-After waits %s)",
				killAt.Round(time.Millisecond), down.Round(time.Millisecond), first.Status, outcome,
				time.Since(retried).Round(time.Millisecond), waited)
			faultCheck(ctx, t, p, ds, db, began)
		})
		if !ok {
			break
		}
	}
	var names []string
	for o, n := range outcomes {
		names = append(names, fmt.Sprintf("%s: %d", o, n))
	}
	sort.Strings(names)
	sort.Slice(retries, func(i, j int) bool { return retries[i] < retries[j] })
	if len(retries) > 0 {
		var waited time.Duration
		for _, w := range retryWaits {
			waited += w
		}
		t.Logf("%d trials; kill outcomes: %s; retry until 200: median %s, max %s (Retry-After waits: %s in all)",
			len(retries), strings.Join(names, ", "), retries[len(retries)/2].Round(time.Millisecond),
			retries[len(retries)-1].Round(time.Millisecond), waited)
	}
}

// faultBatch is trial's batch as NDJSON: *faultRows rows spread over
// faultMonths months, each with its own event (value and time).
func faultBatch(rng *rand.Rand, trial int) []byte {
	end := time.Now().Add(-time.Hour).Truncate(time.Minute)
	span := int64(end.Sub(end.AddDate(0, -faultMonths, 0)) / time.Second)
	var b strings.Builder
	for i := 0; i < *faultRows; i++ {
		ts := end.Add(-time.Duration(rng.Int64N(span)) * time.Second)
		fmt.Fprintf(&b, `{"ts": %d, "metric": "fault_%d", "value": %d, "team": "t%d", "event_id": "f%d-%d"}`+"\n",
			ts.UnixMilli(), trial, i, i%7, trial, i)
	}
	return []byte(b.String())
}

// faultState classifies what the kill left in the database, read right after
// the restart (a retry that starts meanwhile can only move it further).
func faultState(ctx context.Context, t *testing.T, db *chtest.Database, sent int) faultOutcome {
	t.Helper()
	raw := faultCount(ctx, t, db, "SELECT count() FROM %s.kpi_samples")
	links := faultCount(ctx, t, db, "SELECT count() FROM %s.ingest_ledger")
	switch {
	case links > 0:
		return outcomeComplete
	case raw == 0:
		return outcomeNothing
	case raw < uint64(sent):
		return outcomePartialRaw
	}
	for _, r := range store.Rollups(schema.TableKPISamples) {
		if faultCount(ctx, t, db, "SELECT countMerge(cnt) FROM %s."+r.Name) != raw {
			return outcomeRollupsShort
		}
	}
	return outcomeNoLink
}

// faultCount runs a count query on the test's own connection, which may
// hold connections the restart broke: those fail once and are replaced.
func faultCount(ctx context.Context, t *testing.T, db *chtest.Database, query string) uint64 {
	t.Helper()
	var n uint64
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = db.Conn.QueryRow(ctx, fmt.Sprintf(query, db.Name)).Scan(&n); err == nil {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err)
	return n
}

// faultCheck asserts the invariants: rows stored once each, every rollup
// equal to the raw rows per bucket, and the ledger verified (its rows
// recomputed for the batches received since from).
func faultCheck(ctx context.Context, t *testing.T, p *plugintest.Plugin, ds plugintest.DataSource, db *chtest.Database, from time.Time) {
	t.Helper()
	require.Equal(t, uint64(*faultRows), faultCount(ctx, t, db, "SELECT count() FROM %s.kpi_samples"))
	require.Equal(t, uint64(*faultRows), faultCount(ctx, t, db, "SELECT uniqExact(event_id) FROM %s.kpi_samples"))
	for _, r := range store.Rollups(schema.TableKPISamples) {
		n := r.ResolutionSeconds
		q := fmt.Sprintf(`SELECT count() FROM (
    SELECT toUInt32(intDiv(toUInt32(ts), %d) * %d) AS b, count() AS c FROM %%[1]s.kpi_samples GROUP BY b
) ANY FULL OUTER JOIN (
    SELECT toUInt32(bucket) AS b, countMerge(cnt) AS r FROM %%[1]s.%s GROUP BY b
) USING b WHERE c != r`, n, n, r.Name)
		require.Equal(t, uint64(0), faultCount(ctx, t, db, q), "buckets of %s that differ from kpi_samples", r.Name)
	}
	path := "ledger/verify?stream=kpi"
	if !from.IsZero() {
		path += "&from=" + from.UTC().Format(time.RFC3339)
	}
	res := p.CallResource(ctx, t, ds, "GET", path, nil, nil)
	require.Equal(t, 200, res.Status, string(res.Body))
	var rep verifyReport
	res.JSON(t, &rep)
	require.True(t, rep.OK, string(res.Body))
	require.Equal(t, 1, rep.Streams[0].Links)
}
