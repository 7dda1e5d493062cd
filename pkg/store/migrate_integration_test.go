//go:build integration

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

func openStore(t *testing.T, s settings.Settings) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), s)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestIntegrationMigrate(t *testing.T) {
	db := chtest.NewDatabase(t)
	st := openStore(t, db.Settings(t))
	ctx := testCtx(t)

	state, err := st.SchemaState(ctx)
	require.NoError(t, err)
	require.Equal(t, store.SchemaMissing, state.Status)

	res, err := st.Migrate(ctx)
	require.NoError(t, err)
	require.Equal(t, store.LatestVersion(), res.Version)
	require.Len(t, res.Applied, store.LatestVersion())
	for i, a := range res.Applied {
		require.Equal(t, i+1, a.Version)
		require.Len(t, a.Checksum, 64)
	}

	state, err = st.SchemaState(ctx)
	require.NoError(t, err)
	require.Equal(t, store.SchemaState{Status: store.SchemaReady, Version: store.LatestVersion()}, state)

	// Every table of the schema exists with its columns in the described order.
	for _, tbl := range schema.Tables() {
		rows, err := db.Conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", db.Name, tbl.Name)
		require.NoError(t, err)
		var names []string
		for rows.Next() {
			var name, typ string
			require.NoError(t, rows.Scan(&name, &typ))
			c, ok := tbl.Column(name)
			require.True(t, ok, "%s.%s", tbl.Name, name)
			require.Equal(t, c.Type, typ, "%s.%s on 18.16", tbl.Name, name)
			names = append(names, name)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		require.Equal(t, tbl.ColumnNames(), names, tbl.Name)
	}

	// Applying again changes nothing.
	res, err = st.Migrate(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Applied)
	require.Equal(t, store.LatestVersion(), res.Version)
	var n uint64
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT count() FROM "+db.Name+".schema_migrations").Scan(&n))
	require.Equal(t, uint64(2*store.LatestVersion()), n)
}

// TestIntegrationMigrateRepairs re-runs a half-applied migration and one
// whose view was dropped.
func TestIntegrationMigrateRepairs(t *testing.T) {
	db := chtest.NewDatabase(t)
	s := db.Settings(t)
	st := openStore(t, s)
	ctx := testCtx(t)
	d, err := st.Dialect(ctx)
	require.NoError(t, err)

	// Migration 1 crashed after its first statement.
	boot, err := store.BootstrapDDL(d, s)
	require.NoError(t, err)
	migs, err := store.Migrations(d, s)
	require.NoError(t, err)
	for _, stmt := range append(boot, migs[0].Statements[0]) {
		require.NoError(t, db.Conn.Exec(ctx, stmt))
	}
	b, err := db.Conn.PrepareBatch(ctx, "INSERT INTO "+db.Name+".schema_migrations (version, name, state, checksum, applied_at)")
	require.NoError(t, err)
	require.NoError(t, b.Append(uint32(1), migs[0].Name, "started", migs[0].Checksum, time.Now()))
	require.NoError(t, b.Send())

	state, err := st.SchemaState(ctx)
	require.NoError(t, err)
	require.Equal(t, store.SchemaBroken, state.Status)
	require.Contains(t, state.Detail, "migration 1 (baseline tables) started at")

	res, err := st.Migrate(ctx)
	require.NoError(t, err)
	require.Len(t, res.Applied, store.LatestVersion())
	state, err = st.SchemaState(ctx)
	require.NoError(t, err)
	require.Equal(t, store.SchemaReady, state.Status)

	// A view dropped by hand: broken, and Migrate puts it back.
	require.NoError(t, db.Conn.Exec(ctx, "DROP TABLE "+db.Name+".kpi_rollup_1h_mv"))
	state, err = st.SchemaState(ctx)
	require.NoError(t, err)
	require.Equal(t, store.SchemaState{Status: store.SchemaBroken, Version: store.LatestVersion(),
		Detail: "kpi_rollup_1h_mv (created by migration 2, kpi rollups) is missing"}, state)
	res, err = st.Migrate(ctx)
	require.NoError(t, err)
	require.Len(t, res.Applied, 1)
	require.Equal(t, 2, res.Applied[0].Version)
	state, err = st.SchemaState(ctx)
	require.NoError(t, err)
	require.Equal(t, store.SchemaReady, state.Status)
}

// TestIntegrationMigrateReadonly checks that a user who may not run DDL gets
// an error the plugin can recognise (IsReadonly) and explain.
func TestIntegrationMigrateReadonly(t *testing.T) {
	db := chtest.NewDatabase(t)
	st := openStore(t, db.Settings(t))
	// As a user whose profile is read-only.
	ctx := clickhouse.Context(testCtx(t), clickhouse.WithSettings(clickhouse.Settings{"readonly": 1}))
	_, err := st.Migrate(ctx)
	require.Error(t, err)
	require.True(t, store.IsReadonly(err), err.Error())
	require.Contains(t, err.Error(), "create schema_migrations")
}
