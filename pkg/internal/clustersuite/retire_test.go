//go:build cluster

package clustersuite

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// TestClusterRetireRollup1m upgrades a cluster installed before migration
// 4: kpi_rollup_1m (Distributed over a replicated _local table) and its view
// on every server, fed by samples. admin/migrate drops the view, the
// Distributed table and the _local table ON CLUSTER, on all four servers;
// the 1h and 1d rollups keep every sample. A server that still has the view
// afterwards (as if the DROP ... ON CLUSTER never reached it) is reported
// incomplete, and migrating again drops it there.
func TestClusterRetireRollup1m(t *testing.T) {
	// No server is stopped here: runs beside the other such tests, after the fault tests.
	t.Parallel()
	e := newEnv(t, nil)
	c, db, ctx, tg := e.c, e.db, e.ctx, e.tg
	raw, err := json.Marshal(db.JSONData(c.Nodes[0]))
	require.NoError(t, err)
	s, err := settings.Parse(raw, nil)
	require.NoError(t, err)
	st, err := store.Open(ctx, s)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	chtest.PreRetirementSchema(ctx, t, st, s)

	retired := []string{"kpi_rollup_1m", "kpi_rollup_1m_local", "kpi_rollup_1m_mv"}
	for i, n := range c.Nodes {
		objs := objectsOn(t, db, i)
		for _, o := range retired {
			require.Contains(t, objs, o, "%s before the upgrade", n)
		}
	}
	const samples = 600
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	require.NoError(t, st.InsertBatch(ctx, schema.TableKPISamples, []string{"ts", "metric", "value", "team", "event_id", "batch_id"},
		func(b driver.Batch) error {
			for i := range samples {
				if err := b.Append(at.Add(time.Duration(i)*7*time.Minute), "m", float64(i%9)/4, fmt.Sprintf("t%d", i%3), fmt.Sprint(i), "b"); err != nil {
					return err
				}
			}
			return nil
		}))
	// Each replica fetches the parts the other's views wrote.
	db.WaitReplicated(t, time.Minute)
	count := func(table string) float64 {
		return tg.sqlCount(ctx, t, "SELECT countMerge(cnt) FROM "+table)
	}
	require.Equal(t, float64(samples), tg.sqlCount(ctx, t, "SELECT count() FROM kpi_samples"))
	for _, table := range []string{"kpi_rollup_1m", "kpi_rollup_1h", "kpi_rollup_1d"} {
		require.Equal(t, float64(samples), count(table), table)
	}
	require.Equal(t, "pending", tg.schema(t).Status)

	tg.migrate(ctx, t)
	// schema_migrations' rows reach the other replica of each shard a
	// moment later; read the schema once both have them.
	db.WaitReplicated(t, time.Minute)
	s4 := tg.schema(t)
	require.Equal(t, "ready", s4.Status, "%+v", s4)
	require.Equal(t, 4, s4.Version)
	for i, n := range c.Nodes {
		objs := objectsOn(t, db, i)
		for _, o := range retired {
			require.NotContains(t, objs, o, "%s after the upgrade", n)
		}
		for _, o := range []string{"kpi_rollup_1h", "kpi_rollup_1h_local", "kpi_rollup_1h_mv", "kpi_rollup_1d", "kpi_rollup_1d_local", "kpi_rollup_1d_mv"} {
			require.Contains(t, objs, o, "%s after the upgrade", n)
		}
	}
	for _, table := range []string{"kpi_rollup_1h", "kpi_rollup_1d"} {
		require.Equal(t, float64(samples), count(table), table)
	}

	t.Run("a server that still has the 1m view", func(t *testing.T) {
		// The view as the pre-migration-4 DDL made it, on the last server only.
		d, err := st.Dialect(ctx)
		require.NoError(t, err)
		migs, err := store.Migrations(d, s)
		require.NoError(t, err)
		for _, stmt := range chtest.Rollup1mDDL(t, migs[1].Statements) {
			if !strings.Contains(stmt, "ENGINE = Distributed(") {
				local := strings.ReplaceAll(stmt, " ON CLUSTER `"+c.Name+"`", "")
				require.NoError(t, db.Conns[3].Exec(ctx, local), local)
			}
		}
		db.WaitReplicated(t, time.Minute)
		res, h := tg.health(t)
		require.Equal(t, backend.HealthStatusError, res.Status, res.Message)
		require.Contains(t, res.Message, "still has kpi_rollup_1m_mv, kpi_rollup_1m_local, which a migration dropped")
		require.Equal(t, store.NodeIncomplete, h.Nodes[3].Status)
		sa := tg.schema(t)
		require.Equal(t, []string{"kpi_rollup_1m_mv", "kpi_rollup_1m_local"}, sa.Nodes[3].Leftover)
		require.Equal(t, "incomplete", sa.Migrations[3].Status)

		tg.migrate(ctx, t)
		db.WaitReplicated(t, time.Minute)
		objs := objectsOn(t, db, 3)
		for _, o := range retired {
			require.NotContains(t, objs, o)
		}
		res, _ = tg.health(t)
		require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
	})
}
