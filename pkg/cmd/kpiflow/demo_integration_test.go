//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// TestIntegrationDemoIntoClickHouse runs "kpiflow demo --clickhouse" into a
// fresh database, then asks the plugin, through Grafana's plugin protocol,
// whether the schema is ready and how many rows each table holds.
func TestIntegrationDemoIntoClickHouse(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	now := time.Now().UTC().Truncate(time.Hour)
	opts := demo.Options{Seed: 11, Days: 3, Teams: 3, Now: now}
	args := []string{"demo", "--clickhouse", fmt.Sprintf("%s:%d", db.Host, db.Port), "--database", db.Name,
		"--seed", "11", "--days", "3", "--teams", "3", "--batch-size", "4000", "--now", now.Format(time.RFC3339)}

	ta := newTestApp("")
	ta.sleep = sleepCtx
	require.Equal(t, exitOK, ta.run(ctx, args), ta.errOut.String())
	require.Contains(t, ta.out.String(), "applied now")
	ds := demo.Generate(opts)

	p := plugintest.Start(t)
	pds := p.DataSource(t, db.JSONData(), nil)

	t.Run("health check reports the schema ready", func(t *testing.T) {
		res := p.CheckHealth(ctx, t, pds)
		require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
		var d struct {
			Schema string `json:"schema"`
		}
		require.NoError(t, json.Unmarshal(res.JSONDetails, &d))
		require.Equal(t, "ready", d.Schema, res.Message)
	})

	tasks := map[string]bool{}
	for _, e := range ds.Tasks {
		tasks[e.TaskID] = true
	}
	want := map[string]uint64{
		"kpi_samples":   uint64(len(ds.KPI)),
		"task_events":   uint64(len(ds.Tasks)),
		"tasks_current": uint64(len(tasks)),
		"deployments":   uint64(len(ds.Deployments)),
		"incidents":     uint64(len(ds.Incidents)),
		"pipeline_runs": uint64(len(ds.Pipelines)),
		"teams":         uint64(len(ds.Teams)),
	}
	counts := func(t *testing.T) map[string]uint64 {
		got := map[string]uint64{}
		for table := range want {
			q := "SELECT count() AS n FROM " + table
			if table != "kpi_samples" && table != "task_events" {
				q += " FINAL" // ReplacingMergeTree: count each key once
			}
			resp := p.QueryData(ctx, t, pds, nil, sqlQuery("A", q))
			r := resp.Responses["A"]
			require.NoError(t, r.Error, table)
			require.Len(t, r.Frames, 1)
			got[table] = toUint(t, r.Frames[0].Fields[0].At(0))
		}
		return got
	}

	t.Run("sql through QueryData counts the generated rows", func(t *testing.T) {
		require.Equal(t, want, counts(t))

		var sum float64
		for _, s := range ds.KPI {
			if s.Metric == "requests_per_s" {
				sum += s.Value
			}
		}
		resp := p.QueryData(ctx, t, pds, nil, sqlQuery("B", "SELECT sum(value) AS s FROM kpi_samples WHERE metric = 'requests_per_s'"))
		require.NoError(t, resp.Responses["B"].Error)
		got := resp.Responses["B"].Frames[0].Fields[0].At(0)
		require.InDelta(t, sum, toFloat(t, got), math.Abs(sum)*1e-9)

		// The 1h rollup, filled by its materialized view, agrees with the raw rows.
		resp = p.QueryData(ctx, t, pds, nil, sqlQuery("C", "SELECT countMerge(cnt) AS n FROM kpi_rollup_1h"))
		require.NoError(t, resp.Responses["C"].Error)
		require.Equal(t, want["kpi_samples"], toUint(t, resp.Responses["C"].Frames[0].Fields[0].At(0)))
	})

	t.Run("a re-run writes nothing twice", func(t *testing.T) {
		ta := newTestApp("")
		ta.sleep = sleepCtx
		require.Equal(t, exitOK, ta.run(ctx, args), ta.errOut.String())
		require.Equal(t, want, counts(t))
	})

	t.Run("a run an hour later adds only the new rows", func(t *testing.T) {
		later := now.Add(time.Hour)
		ta := newTestApp("")
		ta.sleep = sleepCtx
		args := []string{"demo", "--clickhouse", fmt.Sprintf("%s:%d", db.Host, db.Port), "--database", db.Name,
			"--seed", "11", "--days", "3", "--teams", "3", "--streams", "kpi", "--now", later.Format(time.RFC3339)}
		require.Equal(t, exitOK, ta.run(ctx, args), ta.errOut.String())
		ds2 := demo.Generate(demo.Options{Seed: 11, Days: 3, Teams: 3, Now: later})
		union := map[string]bool{}
		for _, s := range append(ds.KPI, ds2.KPI...) {
			union[s.EventID] = true
		}
		require.Equal(t, uint64(len(union)), counts(t)["kpi_samples"])
	})
}

func sqlQuery(refID, rawSQL string) backend.DataQuery {
	raw, _ := json.Marshal(map[string]string{"rawSql": rawSQL, "format": "table"})
	return backend.DataQuery{RefID: refID, QueryType: "sql", JSON: raw,
		TimeRange: backend.TimeRange{From: time.Now().Add(-time.Hour), To: time.Now()}}
}

func toUint(t *testing.T, v any) uint64 {
	t.Helper()
	switch n := v.(type) {
	case uint64:
		return n
	case *uint64:
		return *n
	case int64:
		return uint64(n)
	case float64:
		return uint64(n)
	}
	t.Fatalf("expected a count, got %T %v", v, v)
	return 0
}

func toFloat(t *testing.T, v any) float64 {
	t.Helper()
	switch n := v.(type) {
	case float64:
		return n
	case *float64:
		return *n
	}
	t.Fatalf("expected a float, got %T %v", v, v)
	return 0
}

// grafanaFront plays Grafana's HTTP API in front of the real plugin process:
// data source resources go to the plugin's CallResource, and the health
// endpoint to its CheckHealth, as Grafana forwards them.
func grafanaFront(t *testing.T, p *plugintest.Plugin, pds plugintest.DataSource, token string) *httptest.Server {
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"database":"ok"}`))
	})
	mux.HandleFunc("GET /api/datasources/name/{name}", auth(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != pds.Settings.Name {
			http.Error(w, `{"message":"Data source not found"}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"uid": pds.Settings.UID, "type": plugintest.PluginID})
	}))
	mux.HandleFunc("GET /api/datasources/uid/{uid}/health", auth(func(w http.ResponseWriter, r *http.Request) {
		res := p.CheckHealth(r.Context(), t, pds)
		payload := map[string]any{"status": res.Status.String(), "message": res.Message}
		var details map[string]any
		if json.Unmarshal(res.JSONDetails, &details) == nil {
			payload["details"] = details
		}
		if res.Status != backend.HealthStatusOk {
			w.WriteHeader(http.StatusBadRequest)
		}
		_ = json.NewEncoder(w).Encode(payload)
	}))
	mux.HandleFunc("/api/datasources/uid/{uid}/resources/{path...}", auth(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		headers := map[string]string{}
		for k := range r.Header {
			headers[k] = r.Header.Get(k)
		}
		res := p.CallResource(r.Context(), t, pds, r.Method, r.PathValue("path"), headers, body)
		for k, vs := range res.Headers {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(res.Status)
		_, _ = w.Write(res.Body)
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestIntegrationDemoAndPushThroughGrafana is the docker-compose start-up
// path: "kpiflow demo" against Grafana's API, waiting for it, finding the
// data source by name and migrating, into the real plugin and ClickHouse;
// then "kpiflow push" of good and bad rows against the real ingest handler.
func TestIntegrationDemoAndPushThroughGrafana(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := plugintest.Start(t)
	pds := p.DataSource(t, db.JSONData(), nil).WithRole("Admin")
	front := grafanaFront(t, p, pds, "glsa_it")
	now := time.Now().UTC().Truncate(time.Hour)

	ta := newTestApp("")
	ta.sleep = sleepCtx
	code := ta.run(ctx, []string{"demo", "--grafana", front.URL, "--token", "glsa_it", "--datasource-name", pds.Settings.Name,
		"--wait", "60s", "--migrate", "--days", "2", "--teams", "2", "--seed", "3", "--now", now.Format(time.RFC3339)})
	require.Equal(t, exitOK, code, ta.errOut.String())
	ds := demo.Generate(demo.Options{Seed: 3, Days: 2, Teams: 2, Now: now})

	res := p.CheckHealth(ctx, t, pds)
	require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
	require.Contains(t, res.Message, "Schema ready")

	count := func(q string) uint64 {
		resp := p.QueryData(ctx, t, pds, nil, sqlQuery("A", q))
		require.NoError(t, resp.Responses["A"].Error, q)
		return toUint(t, resp.Responses["A"].Frames[0].Fields[0].At(0))
	}
	require.Equal(t, uint64(len(ds.KPI)), count("SELECT count() FROM kpi_samples"))
	require.Equal(t, uint64(len(ds.Deployments)), count("SELECT count() FROM deployments FINAL"))
	require.Equal(t, uint64(len(ds.Tasks)), count("SELECT count() FROM task_events"))

	conn := []string{"--grafana", front.URL, "--token", "glsa_it", "--datasource", pds.Settings.UID}
	t.Run("push one deployment", func(t *testing.T) {
		ta := newTestApp("")
		ta.sleep = sleepCtx
		args := append([]string{"push", "deployment", "--service", "cli-test", "--deployment-id", "cli-1", "--commit-sha", "abc",
			"--first-commit-at", now.Add(-3 * time.Hour).Format(time.RFC3339), "--finished-at", now.Format(time.RFC3339)}, conn...)
		require.Equal(t, exitOK, ta.run(ctx, args), ta.errOut.String())
		require.Contains(t, ta.out.String(), "accepted 1, duplicates 0")
		require.Equal(t, uint64(1), count("SELECT count() FROM deployments FINAL WHERE deployment_id = 'cli-1'"))
		ta = newTestApp("")
		ta.sleep = sleepCtx
		require.Equal(t, exitOK, ta.run(ctx, args), ta.errOut.String())
		require.Equal(t, uint64(1), count("SELECT count() FROM deployments WHERE deployment_id = 'cli-1'"), "sent twice, stored once")
	})

	t.Run("push bad rows: the real handler's errors by line", func(t *testing.T) {
		ta := newTestApp(`{"ts":"2026-11-20T10:00:00Z","metric":"m","value":1}
{"ts":"not a time","metric":"","value":"x"}
`)
		ta.sleep = sleepCtx
		code := ta.run(ctx, append([]string{"push", "kpi", "-"}, conn...))
		require.Equal(t, exitFailed, code)
		msg := ta.errOut.String()
		t.Log(msg)
		require.Contains(t, msg, "400 Bad Request")
		require.Contains(t, msg, "stdin:2: ts: ")
		require.Contains(t, msg, "stdin:2: value: ")
	})
}
