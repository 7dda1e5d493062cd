package main

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/ingest"
)

func TestDemoRowsPassIngestValidation(t *testing.T) {
	// Every generated row must pass the ingest API's own decoder, or the
	// demo would fail against a real server.
	ds := demo.Generate(demo.Options{Seed: 5, Days: 3, Teams: demo.MaxTeams, Now: time.Now().UTC().Truncate(time.Hour)})
	for _, stream := range demo.Streams() {
		require.Contains(t, ingest.Streams(), stream)
		for c, err := range ds.Chunks(stream, 20000) {
			require.NoError(t, err)
			b, err := ingest.Decode(bytes.NewReader(c.Body), stream, "application/x-ndjson", ingest.DefaultLimits())
			require.NoError(t, err, "%s chunk %d", stream, c.Index)
			require.Equal(t, c.To-c.From, b.Len())
			for i := range b.Len() {
				require.NotEmpty(t, b.EventID(i))
			}
		}
	}
}

func TestDemoThroughGrafana(t *testing.T) {
	g := newFakeGrafana(t)
	now := "2026-11-22T00:00:00Z"
	args := func(extra ...string) []string {
		return append([]string{"demo", "--days", "2", "--teams", "2", "--seed", "9", "--batch-size", "700",
			"--grafana", g.srv.URL, "--user", "admin", "--password", "admin"}, extra...)
	}
	nowT, _ := time.Parse(time.RFC3339, now)
	ds := demo.Generate(demo.Options{Seed: 9, Days: 2, Teams: 2, Now: nowT})

	t.Run("a missing schema asks for --migrate", func(t *testing.T) {
		ta := newTestApp("")
		code := ta.exec(args("--now", now)...)
		require.Equal(t, exitFailed, code)
		require.Contains(t, ta.errOut.String(), "schema is not installed: run again with --migrate")
		require.Empty(t, g.calls())
	})

	t.Run("waits for Grafana, finds the data source by name, migrates, writes every stream", func(t *testing.T) {
		g.unhealthy = 2
		ta := newTestApp("")
		code := ta.exec(args("--now", now, "--wait", "30s", "--datasource-name", g.name, "--migrate")...)
		require.Equal(t, exitOK, code, ta.errOut.String())
		require.Contains(t, ta.errOut.String(), "waiting for Grafana: GET "+g.srv.URL+"/api/health: 503")
		require.True(t, g.migrated)
		for _, s := range demo.Streams() {
			require.Len(t, g.stored(s), ds.Len(s), s)
			require.Contains(t, ta.out.String(), s+": ")
		}
		require.Contains(t, ta.out.String(), "demo: done")
		keys := map[string]bool{}
		for _, c := range g.calls() {
			require.False(t, keys[c.key], "each chunk has its own key: %s", c.key)
			keys[c.key] = true
		}
	})

	t.Run("run again: nothing doubles", func(t *testing.T) {
		before := len(g.calls())
		ta := newTestApp("")
		code := ta.exec(args("--now", now, "--datasource", g.uid)...)
		require.Equal(t, exitOK, code, ta.errOut.String())
		for _, s := range demo.Streams() {
			require.Len(t, g.stored(s), ds.Len(s), s)
		}
		require.Greater(t, len(g.calls()), before)
	})

	t.Run("a day later: only the new rows are added", func(t *testing.T) {
		later := nowT.Add(24 * time.Hour)
		ds2 := demo.Generate(demo.Options{Seed: 9, Days: 2, Teams: 2, Now: later})
		ta := newTestApp("")
		code := ta.exec(args("--now", later.Format(time.RFC3339), "--datasource", g.uid, "--streams", "kpi,deployments")...)
		require.Equal(t, exitOK, code, ta.errOut.String())
		union := map[string]bool{}
		for _, s := range append(ds.KPI, ds2.KPI...) {
			union[s.EventID] = true
		}
		require.Len(t, g.stored("kpi"), len(union))
		require.Contains(t, ta.out.String(), "duplicates")
	})

	t.Run("a chunk over the server's limits is split", func(t *testing.T) {
		g.fail = []int{413}
		ta := newTestApp("")
		before := len(g.calls())
		code := ta.exec(args("--now", now, "--datasource", g.uid, "--streams", "teams", "--batch-size", "4")...)
		require.Equal(t, exitOK, code, ta.errOut.String())
		calls := g.calls()[before:]
		require.Equal(t, calls[0].key+"a", calls[1].key)
		require.Equal(t, calls[0].key+"b", calls[2].key)
	})
}

func TestDemoUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"demo"}, "--grafana or --clickhouse: required"},
		{[]string{"demo", "--grafana", "http://g", "--token", "t", "--clickhouse", "h:9000"}, "give one"},
		{[]string{"demo", "--days", "0", "--dry-run"}, "--days and --teams: expected at least 1, got 0 and 6"},
		{[]string{"demo", "--days", "1000", "--dry-run"}, "--days: expected 1 to 730, got 1000"},
		{[]string{"demo", "--teams", "20", "--dry-run"}, "--teams: expected 1 to 9, got 20"},
		{[]string{"demo", "--streams", "kpi,nope", "--dry-run"}, `--streams: unknown stream "nope"`},
		{[]string{"demo", "--kpi-interval", "10s", "--dry-run"}, "--kpi-interval: expected whole seconds from 1m to 1h, got 10s"},
		{[]string{"demo", "--clickhouse", "localhost"}, "--clickhouse: expected host:port"},
		{[]string{"demo", "--clickhouse", "localhost:9000", "--database", "bad-name"}, "--database: expected a name"},
		{[]string{"demo", "stray"}, `unexpected argument "stray"`},
	} {
		ta := newTestApp("")
		code := ta.exec(tt.args...)
		require.Equal(t, exitUsage, code, "%v: %s", tt.args, ta.errOut.String())
		require.Contains(t, ta.errOut.String(), tt.want)
	}
}

func TestDemoDryRun(t *testing.T) {
	ta := newTestApp("")
	require.Equal(t, exitOK, ta.exec("demo", "--dry-run", "--days", "3", "--teams", "2", "--now", "2026-11-22T00:00:00Z", "--streams", "teams,kpi"))
	require.Contains(t, ta.out.String(), "teams: 5 rows")
	require.Contains(t, ta.out.String(), "kpi: ")
	require.NotContains(t, ta.out.String(), "tasks: ")
}

func TestWaitRunsOut(t *testing.T) {
	g := newFakeGrafana(t)
	g.unhealthy = 1 << 30
	ta := newTestApp("")
	ta.sleep = sleepCtx // a real wait, ended by --wait's deadline
	code := ta.exec("demo", "--days", "1", "--grafana", g.srv.URL, "--token", g.token, "--wait", "200ms")
	require.Equal(t, exitTimeout, code, ta.errOut.String())
	require.Contains(t, ta.errOut.String(), "gave up waiting for Grafana after 200ms")
}

func TestWaitForClickHouseRunsOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	ta := newTestApp("")
	code := ta.exec("demo", "--days", "1", "--clickhouse", addr, "--wait", "300ms")
	require.Equal(t, exitTimeout, code, ta.errOut.String())
	require.Contains(t, ta.errOut.String(), "waiting for ClickHouse: ")
	require.Contains(t, ta.errOut.String(), "gave up waiting for ClickHouse after 300ms")
}
