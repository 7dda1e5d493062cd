//go:build cluster

package clustersuite

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/store"
)

type schemaAnswer struct {
	Status     string            `json:"status"`
	Detail     string            `json:"detail"`
	Version    int               `json:"version"`
	Cluster    string            `json:"cluster"`
	Nodes      []store.NodeState `json:"nodes"`
	Migrations []struct {
		Version int    `json:"version"`
		Status  string `json:"status"`
	} `json:"migrations"`
}

type healthAnswer struct {
	Schema  string            `json:"schema"`
	Cluster string            `json:"cluster"`
	Nodes   []store.NodeState `json:"nodes"`
}

func (tg target) schema(t *testing.T) schemaAnswer {
	t.Helper()
	r := tg.p.CallResource(testCtx(t, time.Minute), t, tg.admin(), http.MethodGet, "admin/schema", nil, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var s schemaAnswer
	r.JSON(t, &s)
	return s
}

func (tg target) health(t *testing.T) (*backend.CheckHealthResult, healthAnswer) {
	t.Helper()
	res := tg.p.CheckHealth(testCtx(t, time.Minute), t, tg.ds)
	var h healthAnswer
	require.NoError(t, jsonUnmarshal(res.JSONDetails, &h), string(res.JSONDetails))
	return res, h
}

// objectsOn maps each table and view of the database on one node to its
// engine_full text (with the CREATE query for views).
func objectsOn(t *testing.T, db *chtest.ClusterDatabase, i int) map[string]string {
	t.Helper()
	ctx := testCtx(t, time.Minute)
	rows, err := db.Conns[i].Query(ctx, "SELECT name, engine, engine_full, create_table_query FROM system.tables WHERE database = ?", db.Name)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, engine, full, create string
		require.NoError(t, rows.Scan(&name, &engine, &full, &create))
		out[name] = engine + " | " + full + " | " + create
	}
	require.NoError(t, rows.Err())
	return out
}

// TestClusterMigrate: admin/migrate with the cluster setting creates every
// table on every server (a Replicated _local table and a Distributed table
// over it, the views on the local tables), and admin/schema and the health
// check report every server, including one that lacks a view.
func TestClusterMigrate(t *testing.T) {
	// No server is stopped here: runs beside the other such tests, after the fault tests.
	t.Parallel()
	e := newEnv(t, nil)
	c, db, ctx, tg := e.c, e.db, e.ctx, e.tg

	res, h := tg.health(t)
	require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
	require.Equal(t, "missing", h.Schema)
	require.Contains(t, res.Message, "Cluster kpiflow_2x2: 4 of 4 servers ready.")

	tg.migrate(ctx, t)

	for i, n := range c.Nodes {
		objs := objectsOn(t, db, i)
		for _, tb := range schema.Tables() {
			local := objs[tb.Name+"_local"]
			require.True(t, strings.HasPrefix(local, "Replicated"+tb.Engine+" | "), "%s: %s_local is %q", n, tb.Name, local)
			require.Contains(t, local, fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s_local', '{replica}'", db.Name, tb.Name), n.String())
			dist := objs[tb.Name]
			require.Contains(t, dist, fmt.Sprintf("Distributed('%s', '%s', '%s_local', %s)", c.Name, db.Name, tb.Name, tb.ShardKey), "%s: %s", n, tb.Name)
			switch tb.Kind {
			case schema.KindRollup:
				mv := objs[tb.Name+"_mv"]
				require.Contains(t, mv, fmt.Sprintf("TO %s.%s_local", db.Name, tb.Name), "%s: the view writes the local rollup", n)
				require.Contains(t, mv, fmt.Sprintf("FROM %s.kpi_samples_local", db.Name), "%s: the view reads the local samples", n)
			case schema.KindCurrent:
				mv := objs[tb.Name+"_mv"]
				require.Contains(t, mv, fmt.Sprintf("TO %s.%s_local", db.Name, tb.Name), n.String())
				require.Contains(t, mv, fmt.Sprintf("FROM %s.task_events_local", db.Name), n.String())
			}
		}
	}

	s := tg.schema(t)
	require.Equal(t, "ready", s.Status)
	require.Equal(t, c.Name, s.Cluster)
	require.Len(t, s.Nodes, 4)
	for i, n := range s.Nodes {
		require.Equal(t, c.Nodes[i].Port, n.Port)
		require.Equal(t, c.Nodes[i].Shard, n.Shard)
		require.Equal(t, c.Nodes[i].Replica, n.Replica)
		require.Equal(t, store.NodeReady, n.Status, "%+v", n)
		require.Equal(t, "18.16.1", n.ServerVersion)
	}
	res, h = tg.health(t)
	require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
	require.Contains(t, res.Message, "Schema ready at migration")
	require.Contains(t, res.Message, "Cluster kpiflow_2x2: 4 of 4 servers ready.")
	require.Len(t, h.Nodes, 4)

	t.Run("a view missing on one server is reported and recreated", func(t *testing.T) {
		last := c.Nodes[3]
		require.NoError(t, db.Conns[3].Exec(ctx, fmt.Sprintf("DROP TABLE %s.kpi_rollup_1h_mv", db.Name)))

		res, h := tg.health(t)
		require.Equal(t, backend.HealthStatusError, res.Status, res.Message)
		require.Contains(t, res.Message, "3 of 4 servers ready")
		require.Contains(t, res.Message, fmt.Sprintf("%s (shard 2, replica 2) is incomplete (missing kpi_rollup_1h_mv: apply migrations again", last.Addr()))
		require.Equal(t, store.NodeIncomplete, h.Nodes[3].Status)
		s := tg.schema(t)
		require.Equal(t, []string{"kpi_rollup_1h_mv"}, s.Nodes[3].Missing)
		require.Equal(t, "incomplete", s.Migrations[1].Status)

		tg.migrate(ctx, t)
		require.Contains(t, objectsOn(t, db, 3), "kpi_rollup_1h_mv")
		res, _ = tg.health(t)
		require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
		require.Contains(t, res.Message, "4 of 4 servers ready")
	})
}
