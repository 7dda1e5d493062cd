//go:build chdb

package chdb

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// Run by scripts/modern-clickhouse.sh, which sets KPIFLOW_CHDB_LIB.
func TestChDB(t *testing.T) {
	lib := os.Getenv("KPIFLOW_CHDB_LIB")
	require.NotEmpty(t, lib, "KPIFLOW_CHDB_LIB is not set: run scripts/modern-clickhouse.sh")

	_, err := Open(lib+".missing", t.TempDir())
	require.ErrorContains(t, err, "npm ci")

	db, err := Open(lib, t.TempDir())
	require.NoError(t, err)
	defer db.Close()

	t.Run("result with names, types and rows", func(t *testing.T) {
		res, err := db.Query("SELECT number AS n, toString(number) AS s FROM numbers(3)")
		require.NoError(t, err)
		require.Equal(t, []string{"n", "s"}, res.Names)
		require.Equal(t, []string{"UInt64", "String"}, res.Types)
		require.Len(t, res.Rows, 3)
		require.JSONEq(t, `"2"`, string(res.Rows[2][1]))
	})
	t.Run("statements without a result", func(t *testing.T) {
		_, err := db.Query("CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a")
		require.NoError(t, err)
		_, err = db.Query("INSERT INTO t (a) FORMAT JSONEachRow {\"a\": 7}\n")
		require.NoError(t, err)
		out, err := db.Raw("SELECT a FROM t", "TabSeparated")
		require.NoError(t, err)
		require.Equal(t, "7\n", string(out))
	})
	t.Run("a ClickHouse error is an error with its code", func(t *testing.T) {
		_, err := db.Query("SELECT no_such_column FROM t")
		var ce *Error
		require.True(t, errors.As(err, &ce), "%v", err)
		require.Contains(t, ce.Message, "Code: 47.")
	})
	t.Run("the Go runtime keeps its signal handlers", func(t *testing.T) {
		// Without keepGoSignalHandlers this kills the process (after a
		// five-minute sleep in chDB's handler) instead of panicking.
		var p *int
		recovered := func() (r any) {
			defer func() { r = recover() }()
			_ = *p
			return nil
		}()
		var re runtime.Error
		require.True(t, errors.As(recovered.(error), &re), "%v", recovered)
	})
	require.NoError(t, db.Close())
	_, err = db.Query("SELECT 1")
	require.ErrorContains(t, err, "closed")
}
