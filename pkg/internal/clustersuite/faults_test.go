//go:build cluster

package clustersuite

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/store"
)

var faultNow = time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)

// sendAll posts every chunk of the streams under the key <stream>-<chunk>,
// retrying a 503 under the same key after a short pause, as a client
// honouring Retry-After would. progress counts the chunks stored. It returns
// how many 503s it met.
func (tg target) sendAll(ctx context.Context, t *testing.T, d *demo.Dataset, streams []string, size int, progress *atomic.Int64) int {
	t.Helper()
	unavailable := 0
	for _, stream := range streams {
		for c, err := range d.Chunks(stream, size) {
			require.NoError(t, err)
			key := fmt.Sprintf("%s-%d", stream, c.Index)
			for attempt := 0; ; attempt++ {
				r := tg.ingest(ctx, t, stream, key, c.Body)
				if r.Status == http.StatusServiceUnavailable && attempt < 100 {
					require.NotEmpty(t, r.Headers["Retry-After"], "a 503 carries Retry-After")
					unavailable++
					t.Logf("%s %s: 503 (attempt %d): %s", stream, key, attempt+1, r.Body)
					time.Sleep(300 * time.Millisecond)
					continue
				}
				require.Equal(t, http.StatusOK, r.Status, "%s %s: %s", stream, key, r.Body)
				var a ingestAnswer
				r.JSON(t, &a)
				require.Equal(t, c.To-c.From, a.Accepted+a.Duplicates, "%s %s", stream, key)
				break
			}
			progress.Add(1)
		}
	}
	return unavailable
}

// waitProgress waits until at least n chunks are stored.
func waitProgress(t *testing.T, progress *atomic.Int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for progress.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("ingest stalled at %d chunks (waiting for %d)", progress.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requireExactlyOnce checks that the cluster holds every row of the dataset
// once, on both replicas of its shard, that the rollups count what
// kpi_samples holds, and that the ledger verifies.
func requireExactlyOnce(ctx context.Context, t *testing.T, tg target, db *chtest.ClusterDatabase, d *demo.Dataset) {
	t.Helper()
	db.WaitReplicated(t, 2*time.Minute)
	for table, want := range map[string]int{"kpi_samples": len(d.KPI), "task_events": len(d.Tasks)} {
		// Each replica, read alone: both replicas of a shard hold the
		// same rows (WaitReplicated), and the shards add up to the data.
		n := db.LocalCounts(t, fmt.Sprintf("SELECT count() FROM %s.%s_local", db.Name, table))
		require.Equal(t, n[0], n[1], "%s: the replicas of shard 1 differ: %v", table, n)
		require.Equal(t, n[2], n[3], "%s: the replicas of shard 2 differ: %v", table, n)
		require.Equal(t, uint64(want), n[0]+n[2], "%s: rows stored", table)
		ids := db.LocalCounts(t, fmt.Sprintf("SELECT uniqExact(event_id) FROM %s.%s_local", db.Name, table))
		require.Equal(t, uint64(want), ids[0]+ids[2], "%s: distinct event_ids", table)
	}
	raw := tg.sqlCount(ctx, t, "SELECT count() FROM kpi_samples")
	for _, r := range []string{"kpi_rollup_1h", "kpi_rollup_1d"} {
		require.Equal(t, raw, tg.sqlCount(ctx, t, "SELECT countMerge(cnt) FROM "+r), r)
	}
	tg.verify(ctx, t)
}

// TestClusterReplicaLostDuringIngest stops one replica of each shard while
// batches are being written: shard 1's second replica killed (SIGKILL), then
// shard 2's second replica stopped cleanly. Writes go on through the other
// replica; the stopped ones catch up after their restart; every row is
// stored exactly once on both replicas and the ledger verifies.
func TestClusterReplicaLostDuringIngest(t *testing.T) {
	e := newEnv(t, nil)
	c, db, ctx, tg := e.c, e.db, e.ctx, e.tg
	tg.migrate(ctx, t)
	d := demo.Generate(demo.Options{Seed: 5, Days: 8, Teams: 2, Now: faultNow, KPIInterval: 30 * time.Minute})
	const size = 150
	total := int64(0)
	for _, s := range []string{demo.StreamTasks, demo.StreamKPI} {
		total += int64((d.Len(s) + size - 1) / size)
	}
	require.Greater(t, total, int64(20))

	var progress atomic.Int64
	var unavailable int
	t.Run("during ingest", func(t *testing.T) {
		t.Run("ingest", func(t *testing.T) {
			t.Parallel()
			unavailable = tg.sendAll(ctx, t, &d, []string{demo.StreamTasks, demo.StreamKPI}, size, &progress)
		})
		t.Run("faults", func(t *testing.T) {
			t.Parallel()
			shard1, shard2 := c.Shard(1)[1], c.Shard(2)[1]
			waitProgress(t, &progress, total/5)
			c.Kill(t, shard1)
			res, h := tg.health(t)
			require.Equal(t, backend.HealthStatusOk, res.Status, "a lost replica leaves its shard served: %s", res.Message)
			require.Contains(t, res.Message, "3 of 4 servers ready")
			require.Contains(t, res.Message, shard1.Addr()+" (shard 1, replica 2) is unreachable")
			require.Equal(t, store.NodeUnreachable, h.Nodes[1].Status)
			at := progress.Load()
			waitProgress(t, &progress, at+total/5)
			c.Start(t, shard1)

			waitProgress(t, &progress, 3*total/5)
			c.Stop(t, shard2)
			at = progress.Load()
			waitProgress(t, &progress, at+total/5)
			c.Start(t, shard2)
		})
	})
	t.Logf("%d chunks stored; %d answers were 503 and retried", progress.Load(), unavailable)
	requireExactlyOnce(ctx, t, tg, db, &d)
	res, _ := tg.health(t)
	require.Contains(t, res.Message, "4 of 4 servers ready", "the restarted replicas are back")
}

// TestClusterShardDown stops both replicas of shard 2. Ingest answers 503
// with Retry-After and stores nothing; queries fail with an error naming the
// cause instead of answering from shard 1 alone; the health check names the
// shard. Once the shard is back, the client's retry stores the batch once.
func TestClusterShardDown(t *testing.T) {
	e := newEnv(t, nil)
	c, db, ctx, tg := e.c, e.db, e.ctx, e.tg
	tg.migrate(ctx, t)
	d := demo.Generate(demo.Options{Seed: 6, Days: 3, Teams: 2, Now: faultNow, KPIInterval: 30 * time.Minute})
	var first, second demo.Dataset
	first.KPI, second.KPI = d.KPI[:len(d.KPI)/2], d.KPI[len(d.KPI)/2:]
	first.Tasks = d.Tasks
	var progress atomic.Int64
	require.Zero(t, tg.sendAll(ctx, t, &first, []string{demo.StreamTasks, demo.StreamKPI}, 2000, &progress))
	before := tg.sqlCount(ctx, t, "SELECT count() FROM kpi_samples")

	c.Stop(t, c.Shard(2)...)

	body, err := second.NDJSON(demo.StreamKPI, 0, len(second.KPI))
	require.NoError(t, err)
	r := tg.ingest(ctx, t, demo.StreamKPI, "second-half", body)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, string(r.Body))
	require.NotEmpty(t, r.Headers["Retry-After"])
	require.Contains(t, string(r.Body), "No server of shard 2 of cluster")

	from, to := faultNow.Add(-3*24*time.Hour), faultNow
	for _, q := range []struct {
		queryType string
		body      map[string]any
	}{
		{"kpi", map[string]any{"metrics": []string{"latency_p95_ms"}, "aggregation": "count", "interval": "1h"}},
		{"kpi", map[string]any{"metrics": []string{"latency_p95_ms"}, "aggregation": "avg", "groupBy": []string{"label:region"}, "interval": "30m"}},
		{"taskflow", map[string]any{"view": "wip"}},
		{"dora", map[string]any{"metric": "deployment_frequency"}},
		{"sql", map[string]any{"rawSql": "SELECT count() FROM kpi_samples"}},
	} {
		resp := tg.query(ctx, t, q.queryType, q.body, from, to, time.Minute)
		require.Error(t, resp.Error, "%s %v answered with a shard down: %v", q.queryType, q.body, resp.Frames)
		require.Contains(t, resp.Error.Error(), "of cluster "+strconv.Quote(c.Name)+" answers, so ClickHouse cannot see all the data", "%s %v", q.queryType, q.body)
		for _, f := range resp.Frames {
			require.Zero(t, f.Rows(), "%s %v: no partial rows beside the error", q.queryType, q.body)
		}
	}

	res, _ := tg.health(t)
	require.Equal(t, backend.HealthStatusError, res.Status, res.Message)
	require.Contains(t, res.Message, "No server of shard 2 answers")

	c.Start(t, c.Shard(2)...)
	db.WaitReplicated(t, time.Minute)
	require.Equal(t, before, tg.sqlCount(ctx, t, "SELECT count() FROM kpi_samples"), "the refused batch stored nothing")
	r = tg.ingest(ctx, t, demo.StreamKPI, "second-half", body)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var a ingestAnswer
	r.JSON(t, &a)
	require.Equal(t, len(second.KPI), a.Accepted)
	requireExactlyOnce(ctx, t, tg, db, &d)
	require.True(t, strings.HasPrefix(a.BatchID, "k-"))
}

// TestClusterLeaseServerDown stops the cluster's first server, which holds
// the writer leases (store.Lease), while the data source is connected to
// another one: queries go on, ingest answers 503 naming that server, and the
// client's retry is stored once it is back.
func TestClusterLeaseServerDown(t *testing.T) {
	e := newEnv(t, nil)
	c, db, ctx := e.c, e.db, e.ctx
	tg := target{name: "cluster via node2", p: e.p, ds: e.p.DataSource(t, db.JSONData(c.Nodes[1]), nil)}
	tg.migrate(ctx, t)
	d := demo.Generate(demo.Options{Seed: 7, Days: 2, Teams: 1, Now: faultNow, KPIInterval: time.Hour})
	half := len(d.KPI) / 2
	first, err := d.NDJSON(demo.StreamKPI, 0, half)
	require.NoError(t, err)
	second, err := d.NDJSON(demo.StreamKPI, half, len(d.KPI))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, tg.ingest(ctx, t, demo.StreamKPI, "first", first).Status)

	c.Stop(t, c.Nodes[0])
	r := tg.ingest(ctx, t, demo.StreamKPI, "second", second)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, string(r.Body))
	require.NotEmpty(t, r.Headers["Retry-After"])
	require.Contains(t, string(r.Body), c.Nodes[0].Addr()+" (the first server of cluster "+c.Name+", which holds every writer lease)")
	require.Equal(t, float64(half), tg.sqlCount(ctx, t, "SELECT count() FROM kpi_samples"), "queries go on through the other replica")

	c.Start(t, c.Nodes[0])
	r = tg.ingest(ctx, t, demo.StreamKPI, "second", second)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	requireExactlyOnce(ctx, t, tg, db, &demo.Dataset{KPI: d.KPI})
}
