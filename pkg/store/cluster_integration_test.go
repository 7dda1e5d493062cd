//go:build integration

package store_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// testCluster is the cluster this test needs in the server's remote_servers:
// one shard, one replica, the server itself.
const testCluster = "kpiflow_test"

var (
	onClusterRe  = regexp.MustCompile(" ON CLUSTER `" + testCluster + "`")
	replicatedRe = regexp.MustCompile(`Replicated(\w*MergeTree)\('/clickhouse/tables/\{shard\}/\w+/\w+', '\{replica\}'(, )?`)
)

// withoutZooKeeper turns cluster-mode DDL into what a server without
// ZooKeeper runs: no ON CLUSTER (distributed DDL needs ZooKeeper) and plain
// engines instead of Replicated ones. Everything else, in particular the
// _local/Distributed pairs and the views on local tables, stays as generated.
func withoutZooKeeper(stmt string) string {
	stmt = onClusterRe.ReplaceAllString(stmt, "")
	return replicatedRe.ReplaceAllString(stmt, "$1(")
}

// TestIntegrationClusterLayout runs the cluster-mode schema on a one-node
// cluster and checks that ingest-style inserts into the Distributed tables
// reach the rollups and tasks_current through the local tables. It needs
// remote_servers to define kpiflow_test, and skips otherwise: the cluster
// DDL text itself is covered by the unit tests.
func TestIntegrationClusterLayout(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx := testCtx(t)
	var n uint64
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT count() FROM system.clusters WHERE cluster = ?", testCluster).Scan(&n))
	if n == 0 {
		t.Skipf("the test server has no cluster %s in remote_servers", testCluster)
	}
	s := db.Settings(t)
	s.Cluster = testCluster
	st := openStore(t, s)
	d, err := st.Dialect(ctx)
	require.NoError(t, err)
	stmts, err := store.BootstrapDDL(d, s)
	require.NoError(t, err)
	migs, err := store.Migrations(d, s)
	require.NoError(t, err)
	for _, m := range migs {
		stmts = append(stmts, m.Statements...)
	}
	for _, stmt := range stmts {
		local := withoutZooKeeper(stmt)
		require.NotContains(t, local, "Replicated")
		require.NoError(t, db.Conn.Exec(ctx, local), local)
	}
	engines := map[string]string{}
	rows, err := db.Conn.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = ?", db.Name)
	require.NoError(t, err)
	for rows.Next() {
		var name, engine string
		require.NoError(t, rows.Scan(&name, &engine))
		engines[name] = engine
	}
	rows.Close()
	for _, tb := range schema.Tables() {
		require.Equal(t, "Distributed", engines[tb.Name], tb.Name)
		require.True(t, strings.HasSuffix(engines[tb.Name+"_local"], "MergeTree"), tb.Name)
	}

	// Writes go through the Distributed tables, synchronously so the test can read at once.
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
	base := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	kpi, _ := schema.Lookup(schema.TableKPISamples)
	require.NoError(t, st.InsertBatch(ctx, kpi.Name, kpi.InsertColumns(), func(b driver.Batch) error {
		for i, v := range []float64{3, 9, 6} {
			if err := b.Append(base.Add(time.Duration(i)*time.Minute), "cycle_time", v, "core", "p", "s", "prod", "ci",
				[]string{}, []string{}, "e", "b"); err != nil {
				return err
			}
		}
		return nil
	}))
	var cnt uint64
	var sum, last float64
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT countMerge(cnt), sumMerge(sum), argMaxMerge(last) FROM "+db.Name+".kpi_rollup_1h").
		Scan(&cnt, &sum, &last))
	require.Equal(t, uint64(3), cnt)
	require.Equal(t, 18.0, sum)
	require.Equal(t, 6.0, last)

	te, _ := schema.Lookup(schema.TableTaskEvents)
	require.NoError(t, st.InsertBatch(ctx, te.Name, te.InsertColumns(), func(b driver.Batch) error {
		for i, state := range []string{"todo", "in_progress", "done"} {
			if err := b.Append(base.Add(time.Duration(i)*time.Hour), "T-7", "p", "core", "t", "bug", state, state,
				"", 1.0, "", []string{}, "e"+state, "b"); err != nil {
				return err
			}
		}
		return nil
	}))
	var state string
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT toString(state_category) FROM "+db.Name+".tasks_current FINAL WHERE task_id = 'T-7'").Scan(&state))
	require.Equal(t, "done", state)

	// schema_migrations through its Distributed table, as Migrate writes it.
	require.NoError(t, st.InsertBatch(ctx, schema.TableSchemaMigrations, []string{"version", "name", "state", "checksum", "applied_at"},
		func(b driver.Batch) error {
			return b.Append(uint32(1), "baseline tables", "done", migs[0].Checksum, time.Now())
		}))
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT count() FROM "+db.Name+".schema_migrations_local").Scan(&n))
	require.Equal(t, uint64(1), n)
}
