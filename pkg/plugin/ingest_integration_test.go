//go:build integration

package plugin_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

type ingestResult struct {
	Accepted   int    `json:"accepted"`
	Duplicates int    `json:"duplicates"`
	BatchID    string `json:"batch_id"`
	LedgerHash string `json:"ledger_hash"`
	Replayed   bool   `json:"replayed"`
}

type ingestErrors struct {
	Errors []struct {
		Index   int    `json:"index"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	Truncated int `json:"truncated"`
}

type verifyReport struct {
	OK    bool `json:"ok"`
	Break *struct {
		Stream   string `json:"stream"`
		Seq      uint64 `json:"seq"`
		BatchID  string `json:"batch_id"`
		What     string `json:"what"`
		Expected string `json:"expected"`
		Found    string `json:"found"`
	} `json:"break"`
	Streams []struct {
		Stream   string `json:"stream"`
		Links    int    `json:"links"`
		Rows     int64  `json:"rows"`
		Erasures int    `json:"erasures"`
	} `json:"streams"`
}

// ingestEnv is a running plugin with a migrated data source.
type ingestEnv struct {
	t   *testing.T
	ctx context.Context
	p   *plugintest.Plugin
	db  *chtest.Database
	ds  plugintest.DataSource
}

func newIngestEnv(t *testing.T) *ingestEnv {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	ds := p.DataSource(t, db.JSONData(), nil)
	res := p.CallResource(ctx, t, ds.WithRole("Admin"), "POST", "admin/migrate", nil, nil)
	require.Equal(t, 200, res.Status, string(res.Body))
	return &ingestEnv{t: t, ctx: ctx, p: p, db: db, ds: ds}
}

func (e *ingestEnv) post(ds plugintest.DataSource, path string, headers map[string]string, body []byte) plugintest.Response {
	e.t.Helper()
	return e.p.CallResource(e.ctx, e.t, ds, "POST", path, headers, body)
}

// query runs a sql query through QueryData and returns the first row.
func (e *ingestEnv) query(sql string) []any {
	e.t.Helper()
	resp := e.p.QueryData(e.ctx, e.t, e.ds, nil, sqlQuery("A", sql))
	r := resp.Responses["A"]
	require.NoError(e.t, r.Error, sql)
	require.Len(e.t, r.Frames, 1)
	f := r.Frames[0]
	require.Equal(e.t, 1, f.Rows(), sql)
	var row []any
	for _, fl := range f.Fields {
		row = append(row, fl.At(0))
	}
	return row
}

// totals is count() and sum(value) from kpi_samples and from the 1h rollup.
func (e *ingestEnv) totals() (raw, rollup [2]any) {
	r := e.query("SELECT count(), sum(value) FROM kpi_samples")
	u := e.query("SELECT countMerge(cnt), sumMerge(sum) FROM kpi_rollup_1h")
	return [2]any{r[0], r[1]}, [2]any{u[0], u[1]}
}

func (e *ingestEnv) waitMutations() {
	e.t.Helper()
	require.Eventually(e.t, func() bool {
		var n uint64
		require.NoError(e.t, e.db.Conn.QueryRow(e.ctx,
			"SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0", e.db.Name).Scan(&n))
		return n == 0
	}, time.Minute, 100*time.Millisecond)
}

func kpiJSON(ts time.Time, rows ...string) []byte {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf(`{"ts": %d, %s}`, ts.UnixMilli(), r)
	}
	return []byte("[" + strings.Join(out, ",\n") + "]")
}

func TestIntegrationIngestThroughPluginProtocol(t *testing.T) {
	e := newIngestEnv(t)
	ts := time.Now().Add(-time.Hour).Truncate(time.Minute)
	jsonCT := map[string]string{"Content-Type": "application/json"}

	t.Run("good batch", func(t *testing.T) {
		res := e.post(e.ds, "ingest/kpi", jsonCT, kpiJSON(ts,
			`"metric": "lead_time", "value": 1.5, "team": "core", "labels": {"region": "eu"}, "event_id": "e1"`,
			`"metric": "lead_time", "value": 2.5, "team": "core", "event_id": "e2"`))
		require.Equal(t, 200, res.Status, string(res.Body))
		var r ingestResult
		res.JSON(t, &r)
		require.Equal(t, 2, r.Accepted)
		require.Equal(t, 0, r.Duplicates)
		require.NotEmpty(t, r.BatchID)
		require.Len(t, r.LedgerHash, 64)
		raw, rollup := e.totals()
		require.Equal(t, [2]any{uint64(2), 4.0}, raw)
		require.Equal(t, [2]any{uint64(2), 4.0}, rollup)
	})

	t.Run("bad batch names rows and writes nothing", func(t *testing.T) {
		res := e.post(e.ds, "ingest/kpi", jsonCT, kpiJSON(ts,
			`"metric": "ok", "value": 1`,
			`"metric": "m", "value": "NaN", "colour": "red"`,
			`"value": 3`))
		require.Equal(t, 400, res.Status, string(res.Body))
		var r ingestErrors
		res.JSON(t, &r)
		require.Len(t, r.Errors, 3)
		require.Equal(t, 1, r.Errors[0].Index)
		require.Equal(t, "value", r.Errors[0].Field)
		require.Equal(t, "colour", r.Errors[1].Field)
		require.Equal(t, "unknown field", r.Errors[1].Message)
		require.Equal(t, 2, r.Errors[2].Index)
		require.Equal(t, "metric", r.Errors[2].Field)
		raw, _ := e.totals()
		require.Equal(t, uint64(2), raw[0], "nothing of a bad batch is written")
	})

	t.Run("413 over the label limit and for a gzip bomb", func(t *testing.T) {
		var labels []string
		for i := 0; i < 33; i++ {
			labels = append(labels, fmt.Sprintf(`"k%d": "v"`, i))
		}
		res := e.post(e.ds, "ingest/kpi", jsonCT, kpiJSON(ts, `"metric": "m", "value": 1, "labels": {`+strings.Join(labels, ",")+`}`))
		require.Equal(t, 413, res.Status, string(res.Body))
		require.Contains(t, string(res.Body), "max_labels")

		var bomb bytes.Buffer
		zw := gzip.NewWriter(&bomb)
		_, _ = zw.Write([]byte("["))
		_, _ = zw.Write(bytes.Repeat([]byte(" "), 17<<20))
		require.NoError(t, zw.Close())
		require.Less(t, bomb.Len(), 100<<10)
		res = e.post(e.ds, "ingest/kpi", map[string]string{"Content-Encoding": "gzip"}, bomb.Bytes())
		require.Equal(t, 413, res.Status, string(res.Body))
		require.Contains(t, string(res.Body), "decompressed request body is larger than the limit of 16777216 bytes (max_body_bytes)")
	})

	t.Run("403 for a Viewer names the role", func(t *testing.T) {
		res := e.post(e.ds.WithRole("Viewer"), "ingest/kpi", jsonCT, kpiJSON(ts, `"metric": "m", "value": 1`))
		require.Equal(t, 403, res.Status, string(res.Body))
		require.Contains(t, string(res.Body), "needs the Grafana role Editor or higher")
		require.Contains(t, string(res.Body), "role is Viewer")
	})

	t.Run("idempotent retry is stored once", func(t *testing.T) {
		body := kpiJSON(ts.Add(-time.Minute), `"metric": "deploys", "value": 10`, `"metric": "deploys", "value": 20, "team": "web"`)
		h := map[string]string{"Content-Type": "application/json", "Idempotency-Key": "ci-run-42"}
		first := e.post(e.ds, "ingest/kpi", h, body)
		require.Equal(t, 200, first.Status, string(first.Body))
		second := e.post(e.ds, "ingest/kpi", h, body)
		require.Equal(t, 200, second.Status, string(second.Body))
		var a, b ingestResult
		first.JSON(t, &a)
		second.JSON(t, &b)
		require.True(t, b.Replayed)
		require.Equal(t, a.BatchID, b.BatchID)
		require.Equal(t, a.LedgerHash, b.LedgerHash)
		require.Equal(t, 2, b.Accepted)
		raw, rollup := e.totals()
		require.Equal(t, [2]any{uint64(4), 34.0}, raw)
		require.Equal(t, [2]any{uint64(4), 34.0}, rollup)
	})

	t.Run("event_id re-sent in another batch counts once", func(t *testing.T) {
		res := e.post(e.ds, "ingest/kpi", jsonCT, kpiJSON(ts,
			`"metric": "lead_time", "value": 2.5, "team": "core", "event_id": "e2"`,
			`"metric": "lead_time", "value": 5, "team": "core", "event_id": "e3"`))
		require.Equal(t, 200, res.Status, string(res.Body))
		var r ingestResult
		res.JSON(t, &r)
		require.Equal(t, 1, r.Accepted)
		require.Equal(t, 1, r.Duplicates)
		raw, rollup := e.totals()
		require.Equal(t, [2]any{uint64(5), 39.0}, raw)
		require.Equal(t, [2]any{uint64(5), 39.0}, rollup)
	})

	t.Run("gzip NDJSON", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		for i := 0; i < 3; i++ {
			fmt.Fprintf(zw, `{"ts": "%s", "metric": "ndjson", "value": 1}`+"\n", ts.Add(time.Duration(-i)*time.Minute).Format(time.RFC3339))
		}
		require.NoError(t, zw.Close())
		res := e.post(e.ds, "ingest/kpi", map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}, buf.Bytes())
		require.Equal(t, 200, res.Status, string(res.Body))
		var r ingestResult
		res.JSON(t, &r)
		require.Equal(t, 3, r.Accepted)
		raw, _ := e.totals()
		require.Equal(t, [2]any{uint64(8), 42.0}, raw)
	})

	t.Run("ledger verify ok, then broken by an altered row", func(t *testing.T) {
		res := e.get(t, e.ds.WithRole("Viewer"), "ledger/verify", "stream=kpi")
		require.Equal(t, 403, res.Status, string(res.Body))
		res = e.get(t, e.ds, "ledger/verify", "stream=kpi")
		require.Equal(t, 200, res.Status, string(res.Body))
		var rep verifyReport
		res.JSON(t, &rep)
		require.True(t, rep.OK, string(res.Body))
		require.Equal(t, 4, rep.Streams[0].Links)
		require.Equal(t, int64(8), rep.Streams[0].Rows)

		// Which batch holds e3, as the plugin reports it.
		row := e.query("SELECT batch_id FROM kpi_samples WHERE event_id = 'e3'")
		batchID := fmt.Sprint(deref(row[0]))
		require.NoError(t, e.db.Conn.Exec(e.ctx, fmt.Sprintf("ALTER TABLE %s.kpi_samples UPDATE value = 500 WHERE event_id = 'e3'", e.db.Name)))
		e.waitMutations()

		res = e.get(t, e.ds, "ledger/verify", "stream=kpi")
		require.Equal(t, 200, res.Status, string(res.Body))
		rep = verifyReport{}
		res.JSON(t, &rep)
		require.False(t, rep.OK)
		require.NotNil(t, rep.Break, string(res.Body))
		require.Equal(t, "kpi", rep.Break.Stream)
		require.Equal(t, uint64(3), rep.Break.Seq)
		require.Equal(t, batchID, rep.Break.BatchID)
		require.Equal(t, "content_sha256", rep.Break.What)
		require.NotEqual(t, rep.Break.Expected, rep.Break.Found)

		// A window that leaves the altered batch out passes.
		from := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		res = e.get(t, e.ds, "ledger/verify", "stream=kpi&from="+from)
		rep = verifyReport{}
		res.JSON(t, &rep)
		require.True(t, rep.OK, string(res.Body))
	})

	t.Run("erase", func(t *testing.T) {
		tasks := fmt.Sprintf(`[{"ts": %[1]d, "task_id": "T-1", "state_category": "in_progress", "assignee": "Ann Example", "title": "Fix login"},
			{"ts": %[1]d, "task_id": "T-2", "state_category": "todo", "assignee": "Bob"}]`, ts.UnixMilli())
		res := e.post(e.ds, "ingest/tasks", jsonCT, []byte(tasks))
		require.Equal(t, 200, res.Status, string(res.Body))

		body := []byte(`{"assignee": "Ann Example"}`)
		res = e.post(e.ds, "admin/erase", nil, body)
		require.Equal(t, 403, res.Status, "an Editor may not erase")
		res = e.post(e.ds.WithRole("Admin"), "admin/erase", nil, body)
		require.Equal(t, 200, res.Status, string(res.Body))
		require.NotContains(t, string(res.Body), "Ann")

		row := e.query("SELECT countIf(assignee = 'Ann Example'), countIf(assignee = 'Bob'), count() FROM task_events")
		require.Equal(t, []any{uint64(0), uint64(1), uint64(2)}, row)
		row = e.query("SELECT countIf(assignee = 'Ann Example') FROM tasks_current FINAL")
		require.Equal(t, uint64(0), row[0])
		row = e.query("SELECT count() FROM ingest_ledger WHERE kind = 'erasure' AND stream = 'tasks'")
		require.Equal(t, uint64(1), row[0])

		res = e.get(t, e.ds, "ledger/verify", "stream=tasks")
		var rep verifyReport
		res.JSON(t, &rep)
		require.True(t, rep.OK, string(res.Body))
		require.Equal(t, 1, rep.Streams[0].Erasures)
	})
	require.False(t, e.p.Exited())
}

// get calls a resource with a query string the way Grafana does: the query
// is in URL only, not in Path (plugintest.CallResource puts its path in both).
func (e *ingestEnv) get(t *testing.T, ds plugintest.DataSource, path, query string) plugintest.Response {
	t.Helper()
	s := ds.Settings
	req := &backend.CallResourceRequest{
		PluginContext: backend.PluginContext{OrgID: 1, PluginID: plugintest.PluginID, User: ds.User,
			DataSourceInstanceSettings: &s, GrafanaConfig: backend.NewGrafanaCfg(map[string]string{})},
		Path: path, Method: "GET", URL: "/api/datasources/uid/" + s.UID + "/resources/" + path + "?" + query,
	}
	stream, err := e.p.Resource.CallResource(e.ctx, backend.ToProto().CallResourceRequest(req))
	require.NoError(t, err)
	var out plugintest.Response
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		r := backend.FromProto().CallResourceResponse(msg)
		if r.Status != 0 {
			out.Status, out.Headers = r.Status, r.Headers
		}
		out.Body = append(out.Body, r.Body...)
	}
	return out
}

func deref(v any) any {
	if p, ok := v.(*string); ok && p != nil {
		return *p
	}
	return v
}

func TestIntegrationIngestUnavailable(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	jd := db.JSONData()
	jd["port"] = closedPort(t)
	ds := p.DataSource(t, jd, nil)
	res := p.CallResource(ctx, t, ds, "POST", "ingest/kpi", map[string]string{"Idempotency-Key": "k"},
		kpiJSON(time.Now().Add(-time.Minute), `"metric": "m", "value": 1`))
	require.Equal(t, 503, res.Status, string(res.Body))
	require.Equal(t, []string{"5"}, res.Headers["Retry-After"])
	require.Contains(t, string(res.Body), "check the Host and Port settings")

	// ClickHouse refusing the write (here: the schema is not installed in
	// this database yet) is a 503 with the advice too.
	ds = p.DataSource(t, db.JSONData(), nil)
	res = p.CallResource(ctx, t, ds, "POST", "ingest/kpi", nil, kpiJSON(time.Now().Add(-time.Minute), `"metric": "m", "value": 1`))
	require.Equal(t, 503, res.Status, string(res.Body))
	require.Equal(t, []string{"5"}, res.Headers["Retry-After"])
	require.Contains(t, string(res.Body), "POST admin/migrate")
}

// TestIntegrationEmptyBodies is issue 8.8: Grafana sends no body at all for
// an empty request, which reached the handlers as a nil Body and panicked.
func TestIntegrationEmptyBodies(t *testing.T) {
	e := newIngestEnv(t)
	admin := e.ds.WithRole("Admin")
	for _, c := range []struct {
		ds   plugintest.DataSource
		path string
		want string
	}{
		{e.ds, "ingest/kpi", "empty"},
		{e.ds, "ingest/tasks", "empty"},
		{admin, "admin/erase", "assignee"},
	} {
		res := e.post(c.ds, c.path, nil, nil)
		require.Equal(t, 400, res.Status, "%s: %s", c.path, res.Body)
		require.Contains(t, string(res.Body), c.want, c.path)
	}
	require.False(t, e.p.Exited())
}

// TestIntegrationIngestConfigurationErrors is issue 8.11: a configuration
// error is not transient (no 503, no Retry-After), and a body past the
// ingest limit gets the promised 413 rather than a gRPC error.
func TestIntegrationIngestConfigurationErrors(t *testing.T) {
	e := newIngestEnv(t)
	body := kpiJSON(time.Now().Add(-time.Minute), `"metric": "m", "value": 1`)

	t.Run("wrong password", func(t *testing.T) {
		jd := e.db.JSONData()
		jd["username"] = chtest.PasswordUser
		ds := e.p.DataSource(t, jd, map[string]string{"password": "not-the-password"})
		res := e.post(ds, "ingest/kpi", map[string]string{"Idempotency-Key": "k"}, body)
		require.Equal(t, 500, res.Status, string(res.Body))
		require.Empty(t, res.Headers["Retry-After"])
		var r struct{ Error, Setting string }
		res.JSON(t, &r)
		require.Equal(t, "jsonData.username, secureJsonData.password", r.Setting)
		require.Contains(t, r.Error, "retrying will not help")
	})

	t.Run("30 MiB body gets 413", func(t *testing.T) {
		big := append([]byte("["), bytes.Repeat([]byte(" "), 30<<20)...)
		res := e.post(e.ds, "ingest/kpi", nil, append(big, ']'))
		require.Equal(t, 413, res.Status, string(res.Body))
		require.Contains(t, string(res.Body), "max_body_bytes")
	})
	require.False(t, e.p.Exited())
}

// TestIntegrationAdminRepair is issue 8.3 through the plugin protocol:
// verify reports short rollups, admin/repair (Admin only) rebuilds them, and
// the counts at every resolution agree again.
func TestIntegrationAdminRepair(t *testing.T) {
	e := newIngestEnv(t)
	ts := time.Now().Add(-2 * time.Hour).Truncate(time.Hour)
	var rows []string
	for i := 0; i < 50; i++ {
		rows = append(rows, fmt.Sprintf(`"metric": "m", "value": %d, "team": "t%d"`, i, i%3))
	}
	res := e.post(e.ds, "ingest/kpi", nil, kpiJSON(ts, rows...))
	require.Equal(t, 200, res.Status, string(res.Body))
	require.NoError(t, e.db.Conn.Exec(e.ctx, fmt.Sprintf("ALTER TABLE %s.kpi_rollup_1d DELETE WHERE 1 = 1", e.db.Name)))
	e.waitMutations()

	res = e.get(t, e.ds, "ledger/verify", "stream=kpi")
	require.Equal(t, 200, res.Status, string(res.Body))
	var rep verifyReport
	res.JSON(t, &rep)
	require.False(t, rep.OK, string(res.Body))
	require.Contains(t, string(res.Body), `"table":"kpi_rollup_1d"`)

	require.Equal(t, 403, e.post(e.ds, "admin/repair", nil, nil).Status)
	require.Equal(t, 400, e.post(e.ds.WithRole("Admin"), "admin/repair", nil, []byte(`{"from": "yesterday"}`)).Status)
	res = e.post(e.ds.WithRole("Admin"), "admin/repair", nil, nil)
	require.Equal(t, 200, res.Status, string(res.Body))
	var fixed struct {
		Rebuilt []struct {
			Table string `json:"table"`
		} `json:"rebuilt"`
		Remaining []any `json:"remaining"`
	}
	res.JSON(t, &fixed)
	require.Len(t, fixed.Rebuilt, 1, string(res.Body))
	require.Equal(t, "kpi_rollup_1d", fixed.Rebuilt[0].Table)
	require.Empty(t, fixed.Remaining)
	for _, r := range []string{"kpi_samples", "kpi_rollup_1h", "kpi_rollup_1d"} {
		q := "SELECT countMerge(cnt) FROM " + r
		if r == "kpi_samples" {
			q = "SELECT count() FROM " + r
		}
		require.Equal(t, uint64(50), e.query(q)[0], r)
	}
	res = e.get(t, e.ds, "ledger/verify", "stream=kpi")
	rep = verifyReport{}
	res.JSON(t, &rep)
	require.True(t, rep.OK, string(res.Body))
}
