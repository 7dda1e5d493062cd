//go:build integration

package plugin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

type migrateAnswer struct {
	Applied []struct {
		Version  int    `json:"version"`
		Name     string `json:"name"`
		Checksum string `json:"checksum"`
	} `json:"applied"`
	Version int    `json:"version"`
	Error   string `json:"error"`
}

type schemaAnswer struct {
	ServerVersion string `json:"serverVersion"`
	Status        string `json:"status"`
	Version       int    `json:"version"`
	LatestVersion int    `json:"latestVersion"`
	Detail        string `json:"detail"`
	Tables        []struct {
		Name   string `json:"name"`
		Engine string `json:"engine"`
		Rows   uint64 `json:"rows"`
	} `json:"tables"`
	Migrations []struct {
		Version int    `json:"version"`
		Status  string `json:"status"`
	} `json:"migrations"`
	PendingDDL []string `json:"pendingDdl"`
	Retention  []struct {
		Table  string `json:"table"`
		Method string `json:"method"`
	} `json:"retention"`
}

func TestIntegrationAdminMigrateAndHealth(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	jd := db.JSONData()
	jd["retentionDays"] = map[string]int{"kpi_samples": 400}
	ds := p.DataSource(t, jd, nil)
	admin := ds.WithRole("Admin")

	res := p.CheckHealth(ctx, t, ds)
	require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
	require.Equal(t, "missing", details(t, res).Schema)

	t.Run("non-admins are refused", func(t *testing.T) {
		for _, role := range []string{"Viewer", "Editor"} {
			for _, call := range [][2]string{{http.MethodPost, "admin/migrate"}, {http.MethodGet, "admin/schema"}} {
				r := p.CallResource(ctx, t, ds.WithRole(role), call[0], call[1], nil, nil)
				require.Equal(t, http.StatusForbidden, r.Status, string(r.Body))
				var e struct{ Error, RequiredRole string }
				r.JSON(t, &e)
				require.Contains(t, e.Error, "needs the Grafana role Admin; the caller's role is "+role)
				require.Equal(t, "Admin", e.RequiredRole)
			}
		}
	})

	t.Run("schema before migrating lists the DDL to run", func(t *testing.T) {
		r := p.CallResource(ctx, t, admin, http.MethodGet, "admin/schema", nil, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var s schemaAnswer
		r.JSON(t, &s)
		require.Equal(t, "missing", s.Status)
		require.Empty(t, s.Tables)
		require.Contains(t, s.PendingDDL[0], "CREATE TABLE IF NOT EXISTS `"+db.Name+"`.`schema_migrations`")
		require.Greater(t, len(s.PendingDDL), 10)
		require.Equal(t, "drop_partitions", s.Retention[0].Method, "18.16 has no TTL")
	})

	var latest int
	t.Run("migrate", func(t *testing.T) {
		r := p.CallResource(ctx, t, admin, http.MethodPost, "admin/migrate", nil, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var m migrateAnswer
		r.JSON(t, &m)
		require.NotEmpty(t, m.Applied)
		latest = m.Version
		require.Equal(t, m.Applied[len(m.Applied)-1].Version, latest)
		require.Equal(t, 1, m.Applied[0].Version)

		res := p.CheckHealth(ctx, t, ds)
		require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
		require.Contains(t, res.Message, "Schema ready at migration")
		require.Equal(t, "ready", details(t, res).Schema)

		// Again: nothing to do.
		r = p.CallResource(ctx, t, admin, http.MethodPost, "admin/migrate", nil, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		r.JSON(t, &m)
		require.Empty(t, m.Applied)
		require.Equal(t, latest, m.Version)
	})

	t.Run("schema after migrating", func(t *testing.T) {
		r := p.CallResource(ctx, t, admin, http.MethodGet, "admin/schema", nil, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var s schemaAnswer
		r.JSON(t, &s)
		require.Equal(t, "ready", s.Status)
		require.Equal(t, latest, s.Version)
		require.Equal(t, latest, s.LatestVersion)
		require.Empty(t, s.PendingDDL)
		engines := map[string]string{}
		rows := map[string]uint64{}
		for _, tb := range s.Tables {
			engines[tb.Name], rows[tb.Name] = tb.Engine, tb.Rows
		}
		require.Equal(t, "MergeTree", engines["kpi_samples"])
		require.Equal(t, "AggregatingMergeTree", engines["kpi_rollup_1h"])
		require.Equal(t, "MaterializedView", engines["kpi_rollup_1h_mv"])
		require.Equal(t, "ReplacingMergeTree", engines["tasks_current"])
		require.Equal(t, uint64(2*latest), rows["schema_migrations"])
		for _, m := range s.Migrations {
			require.Equal(t, "done", m.Status)
		}
	})

	t.Run("a half-applied migration is broken", func(t *testing.T) {
		b, err := db.Conn.PrepareBatch(ctx, "INSERT INTO "+db.Name+".schema_migrations (version, name, state, checksum, applied_at)")
		require.NoError(t, err)
		require.NoError(t, b.Append(uint32(latest+1), "future change", "started", "abc", time.Now()))
		require.NoError(t, b.Send())

		res := p.CheckHealth(ctx, t, ds)
		require.Equal(t, backend.HealthStatusError, res.Status)
		require.Equal(t, "broken", details(t, res).Schema)
		require.Regexp(t, `Schema broken at migration \d+: migration \d+ \(future change\) started at .* but never finished`, res.Message)
	})
	require.False(t, p.Exited())
}

func TestIntegrationAutoMigrate(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	jd := db.JSONData()
	jd["autoMigrate"] = true
	ds := p.DataSource(t, jd, nil)

	// The instance is created by the first call and waits a little for the
	// migration, which takes well under a second here.
	require.Eventually(t, func() bool {
		return details(t, p.CheckHealth(ctx, t, ds)).Schema == "ready"
	}, 30*time.Second, 100*time.Millisecond)
	res := p.CheckHealth(ctx, t, ds)
	require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
	require.NotContains(t, res.Message, "Automatic migration")

	var n uint64
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'kpi_samples'", db.Name).Scan(&n))
	require.Equal(t, uint64(1), n)
}

// TestIntegrationMigrateCreatesTheDatabase is issue 14's set-up point:
// autoMigrate and admin/migrate on a server without the database create it
// (the pool's connections select the database, so creating it takes a
// connection of its own).
func TestIntegrationMigrateCreatesTheDatabase(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, c := range []struct{ suffix, how string }{{"_auto", "autoMigrate"}, {"_admin", "admin/migrate"}} {
		t.Run(c.how, func(t *testing.T) {
			name := db.Name + c.suffix
			t.Cleanup(func() { _ = db.Conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name) })
			jd := db.JSONData()
			jd["database"] = name
			if c.how == "autoMigrate" {
				jd["autoMigrate"] = true
			}
			ds := p.DataSource(t, jd, nil)
			if c.how == "admin/migrate" {
				r := p.CallResource(ctx, t, ds.WithRole("Admin"), http.MethodPost, "admin/migrate", nil, nil)
				require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			}
			require.Eventually(t, func() bool {
				return details(t, p.CheckHealth(ctx, t, ds)).Schema == "ready"
			}, 30*time.Second, 100*time.Millisecond)
			var n uint64
			require.NoError(t, db.Conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'kpi_samples'", name).Scan(&n))
			require.Equal(t, uint64(1), n)
		})
	}
}

// TestIntegrationAutoMigrateRetries starts with a migration that fails (a
// schema_migrations table of someone else's, in the way): the health check
// reports the failure, and the background retry migrates once the table is
// out of the way.
func TestIntegrationAutoMigrateRetries(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, db.Conn.Exec(ctx, "CREATE TABLE "+db.Name+".schema_migrations (x UInt8) ENGINE = Memory"))
	jd := db.JSONData()
	jd["autoMigrate"] = true
	ds := p.DataSource(t, jd, nil)

	res := p.CheckHealth(ctx, t, ds)
	require.Equal(t, backend.HealthStatusError, res.Status)
	require.Contains(t, res.Message, "schema_migrations", res.Message)

	require.NoError(t, db.Conn.Exec(ctx, "DROP TABLE "+db.Name+".schema_migrations"))
	// The first retry comes 10 s after the failed attempt.
	require.Eventually(t, func() bool {
		return details(t, p.CheckHealth(ctx, t, ds)).Schema == "ready"
	}, 60*time.Second, 500*time.Millisecond)
	res = p.CheckHealth(ctx, t, ds)
	require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
}

// TestIntegrationOutOfRangeSettingsNamed is issues 8.1 and 8.10: numbers out
// of their range are refused with the field's name and the allowed range, by
// the health check and by admin/migrate, before anything runs.
func TestIntegrationOutOfRangeSettingsNamed(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range []struct {
		field string
		value any
		want  string
	}{
		{"retentionDays", map[string]int{"kpi_samples": 999999}, "jsonData.retentionDays.kpi_samples: expected 1 to 36500 days, got 999999"},
		{"maxRows", int64(9223372036854775807), "jsonData.maxRows: expected 1 to 10000000 rows, got 9223372036854775807"},
	} {
		jd := db.JSONData()
		jd[c.field] = c.value
		ds := p.DataSource(t, jd, nil)
		res := p.CheckHealth(ctx, t, ds)
		require.Equal(t, backend.HealthStatusError, res.Status, c.field)
		require.Contains(t, res.Message, c.want)
		mig := p.CallResource(ctx, t, ds.WithRole("Admin"), "POST", "admin/migrate", nil, nil)
		require.Equal(t, http.StatusBadRequest, mig.Status, string(mig.Body))
		require.Contains(t, string(mig.Body), c.want)
	}
}
