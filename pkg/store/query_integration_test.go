//go:build integration

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// querySettings runs sql through st.Query and returns the readonly and
// max_execution_time the server ran it with.
func querySettings(ctx context.Context, t *testing.T, st *store.Store, sql string) (map[string]string, error) {
	t.Helper()
	rows, err := st.Query(ctx, store.Attribution{User: "test"}, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var name, value string
		require.NoError(t, rows.Scan(&name, &value))
		got[name] = value
	}
	return got, rows.Err()
}

const settingsSQL = "SELECT name, value FROM system.settings WHERE name IN ('readonly', 'max_execution_time')"

// TestIntegrationQueryKeepsReadonlyAndTimeout: a query never runs without
// readonly and max_execution_time (issue 8.5). SETTINGS readonly = 0 made
// the server refuse the query's settings, which Query took for a read-only
// user and re-ran the query without them: readonly 0, no timeout.
func TestIntegrationQueryKeepsReadonlyAndTimeout(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, db.Settings(t))
	require.NoError(t, err)
	defer st.Close()

	got, err := querySettings(ctx, t, st, settingsSQL)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"readonly": "2", "max_execution_time": "30"}, got)

	got, err = querySettings(ctx, t, st, settingsSQL+" SETTINGS readonly = 0")
	require.Error(t, err, "ran with %v", got)
	require.Contains(t, err.Error(), "Cannot modify 'readonly'")
}

// TestIntegrationQueryReadonlyUser: a ClickHouse user whose profile is
// readonly=1 may send no settings at all; its queries run without them (the
// server keeps them read-only, and kpiflow stops them at the Query timeout),
// and that user's SETTINGS readonly = 0 is refused by the server.
func TestIntegrationQueryReadonlyUser(t *testing.T) {
	srv := chtest.StartServer(t)
	db := srv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := db.Settings(t)
	s.Username = chtest.ReadonlyUser
	s.QueryTimeout = 2 * time.Second
	st, err := store.Open(ctx, s)
	require.NoError(t, err)
	defer st.Close()

	got, err := querySettings(ctx, t, st, settingsSQL)
	require.NoError(t, err)
	require.Equal(t, "1", got["readonly"])

	_, err = querySettings(ctx, t, st, settingsSQL+" SETTINGS readonly = 0")
	require.ErrorContains(t, err, "readonly")

	// No max_execution_time reaches the server: kpiflow stops the query at
	// the Query timeout itself.
	start := time.Now()
	_, err = querySettings(ctx, t, st, "SELECT count() FROM system.numbers")
	require.Error(t, err)
	require.Less(t, time.Since(start), 10*time.Second, "the query ran past the Query timeout")
}
