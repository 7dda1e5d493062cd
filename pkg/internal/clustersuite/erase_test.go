//go:build cluster

package clustersuite

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

type eraseAnswer struct {
	Rows      uint64 `json:"rows"`
	Tombstone string `json:"tombstone"`
	Error     string `json:"error"`
}

func (tg target) erase(t *testing.T, assignee string) plugintest.Response {
	t.Helper()
	body, err := json.Marshal(map[string]string{"assignee": assignee})
	require.NoError(t, err)
	return tg.p.CallResource(testCtx(t, 3*time.Minute), t, tg.admin(), http.MethodPost, "admin/erase", nil, body)
}

// assignees lists the dataset's assignees, most tasks first.
func assignees(d *demo.Dataset) []string {
	n := map[string]int{}
	for _, e := range d.Tasks {
		if e.Assignee != "" {
			n[e.Assignee]++
		}
	}
	var out []string
	for a := range n {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return n[out[i]] > n[out[j]] || n[out[i]] == n[out[j]] && out[i] < out[j] })
	return out
}

// TestClusterErasureAndRetention: admin/erase and retention (applied by
// admin/migrate) reach every replica of every shard, read back from each
// server's local tables, and remove what they remove on one server; an
// erasure while a replica is down reaches it when it is back.
func TestClusterErasureAndRetention(t *testing.T) {
	retention := map[string]int{"kpi_samples": 30, "task_events": 30, "deployments": 30}
	e := newEnv(t, map[string]any{"retentionDays": retention})
	c, db, p, ctx, cl := e.c, e.db, e.p, e.ctx, e.tg
	sdb := chtest.NewDatabase(t)
	sjd := sdb.JSONData()
	sjd["retentionDays"] = retention
	one := target{name: "single", p: p, ds: p.DataSource(t, sjd, nil)}

	// 100 days up to now: retention counts from the wall clock.
	d := demo.Generate(demo.Options{Seed: 8, Days: 100, Teams: 1, Now: time.Now().UTC().Truncate(time.Hour), KPIInterval: 6 * time.Hour})
	var progress atomic.Int64
	for _, tg := range []target{cl, one} {
		tg.migrate(ctx, t)
		tg.sendAll(ctx, t, &d, []string{demo.StreamTasks, demo.StreamDeployments, demo.StreamKPI}, 5000, &progress)
	}
	db.WaitReplicated(t, time.Minute)

	names := assignees(&d)
	require.GreaterOrEqual(t, len(names), 2)
	t.Run("erasure reaches every replica", func(t *testing.T) {
		name := names[0]
		r := cl.erase(t, name)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var a eraseAnswer
		r.JSON(t, &a)
		require.NotZero(t, a.Rows)
		for _, table := range []string{"task_events", "tasks_current"} {
			left := db.LocalCounts(t, fmt.Sprintf("SELECT count() FROM %s.%s_local WHERE assignee = ?", db.Name, table), name)
			require.Equal(t, []uint64{0, 0, 0, 0}, left, "%s: rows still naming the person, per server", table)
			tomb := db.LocalCounts(t, fmt.Sprintf("SELECT count() FROM %s.%s_local WHERE assignee = ?", db.Name, table), a.Tombstone)
			require.Equal(t, tomb[0], tomb[1], "%s: both replicas of shard 1", table)
			require.Equal(t, tomb[2], tomb[3], "%s: both replicas of shard 2", table)
			require.NotZero(t, tomb[0], "%s: shard 1 held rows of the person", table)
			require.NotZero(t, tomb[2], "%s: shard 2 held rows of the person", table)
		}
		cl.verify(ctx, t)
	})

	t.Run("erasure with a replica down reaches it when it is back", func(t *testing.T) {
		name, down := names[1], c.Shard(2)[1]
		c.Kill(t, down)
		r := cl.erase(t, name)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var a struct {
			Pending []string `json:"pending_servers"`
		}
		r.JSON(t, &a)
		require.Equal(t, []string{down.Addr()}, a.Pending, "the answer names the server that applies it when back")
		c.Start(t, down)
		db.WaitReplicated(t, 2*time.Minute)
		require.Eventually(t, func() bool {
			left := db.LocalCounts(t, fmt.Sprintf("SELECT count() FROM %s.task_events_local WHERE assignee = ?", db.Name), name)
			return left[0]+left[1]+left[2]+left[3] == 0
		}, time.Minute, 200*time.Millisecond, "the person is erased on every server, the restarted one included")
		cl.verify(ctx, t)
	})
	// Last: rows removed by retention no longer match their ledger links.
	t.Run("retention", func(t *testing.T) {
		cutoff := time.Now().UTC().AddDate(0, 0, -30)
		oldRows := db.LocalCounts(t, fmt.Sprintf("SELECT count() FROM %s.kpi_samples_local WHERE ts < toDateTime(%d)", db.Name, cutoff.Unix()))
		require.NotZero(t, oldRows[0]+oldRows[2], "the dataset has rows past the retention")
		for _, tg := range []target{cl, one} {
			tg.migrate(ctx, t) // applies retention
		}
		// Every month whose newest row is past the cutoff is gone from every replica.
		month := fmt.Sprintf("toYYYYMM(toDateTime(%d))", cutoff.Unix())
		for _, table := range []string{"kpi_samples", "task_events"} {
			left := db.LocalCounts(t, fmt.Sprintf("SELECT count() FROM %s.%s_local WHERE toYYYYMM(ts) < %s", db.Name, table, month))
			require.Equal(t, []uint64{0, 0, 0, 0}, left, "%s: rows of expired months per server", table)
		}
		require.Eventually(t, func() bool {
			left := db.LocalCounts(t, fmt.Sprintf("SELECT count() FROM %s.deployments_local WHERE finished_at < toDateTime(%d)", db.Name, cutoff.Unix()-3600))
			return left[0]+left[1]+left[2]+left[3] == 0
		}, time.Minute, 200*time.Millisecond, "expired deployments deleted on every server")
		db.WaitReplicated(t, time.Minute)
		for _, q := range []string{
			"SELECT count() FROM kpi_samples", "SELECT count() FROM task_events",
			fmt.Sprintf("SELECT count() FROM deployments WHERE finished_at >= toDateTime(%d)", cutoff.Unix()+3600),
			"SELECT countMerge(cnt) FROM kpi_rollup_1h",
		} {
			require.Equal(t, one.sqlCount(ctx, t, q), cl.sqlCount(ctx, t, q), "%s: the cluster keeps what one server keeps", q)
		}
	})

}
