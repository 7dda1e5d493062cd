//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
	"github.com/kpiflow/kpiflow/pkg/internal/wasmtest"
)

// optimizerModule builds a WebAssembly text module of pkg/optimizer and
// returns its settings entry.
func optimizerModule(t *testing.T, name, src string) map[string]any {
	t.Helper()
	path, sum := wasmtest.File(t, t.TempDir(), filepath.Join("../optimizer", src))
	return map[string]any{"name": name, "path": path, "sha256": sum}
}

// TestIntegrationOptimizerModules runs kpi queries through the plugin
// protocol on data sources with optimizer modules: the built-in module's
// notice says what it changed, a configured module's notice shows, and a
// module that fails or returns a plan the host refuses leaves the answer
// exactly as without it. A module that cannot be loaded fails the health
// check while queries keep answering.
func TestIntegrationOptimizerModules(t *testing.T) {
	st, db := chtest.MigratedStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	start := end.Add(-48 * time.Hour)
	require.NoError(t, st.InsertBatch(ctx, "kpi_samples", []string{"ts", "metric", "value", "team", "project", "service",
		"environment", "source", "label_keys", "label_values", "event_id", "batch_id"}, func(b driver.Batch) error {
		for i := 0; i < 48*4; i++ {
			for j, team := range []string{"a", "b", "c"} {
				ts := start.Add(time.Duration(i) * 15 * time.Minute)
				if err := b.Append(ts, "build_seconds", float64(i%7+j)*0.25, team, "p", "api", "production", "ci",
					[]string{}, []string{}, ts.String()+team, "test"); err != nil {
					return err
				}
			}
		}
		return nil
	}))

	note := optimizerModule(t, "note", "examples/note/note.wat")
	trap := optimizerModule(t, "trap", "testdata/hostile/trap.wat")
	badSum := optimizerModule(t, "badsum", "examples/note/note.wat")
	badSum["sha256"] = strings.Repeat("0", 64)
	withModules := func(mods ...map[string]any) map[string]any {
		jd := db.JSONData()
		jd["optimizerModules"] = mods
		return jd
	}
	p := plugintest.Start(t)
	plain := p.DataSource(t, db.JSONData(), nil)
	noted := p.DataSource(t, withModules(note), nil)
	trapped := p.DataSource(t, withModules(trap), nil)
	unloadable := p.DataSource(t, withModules(badSum), nil)

	query := func(ds plugintest.DataSource) backend.DataResponse {
		t.Helper()
		raw, _ := json.Marshal(map[string]any{"metrics": []string{"build_seconds"}, "aggregation": "avg",
			"interval": "1h", "groupBy": []string{"team"}})
		resp := p.QueryData(ctx, t, ds, nil, backend.DataQuery{RefID: "A", QueryType: "kpi", JSON: raw,
			TimeRange: backend.TimeRange{From: start, To: end}, Interval: time.Minute, MaxDataPoints: 1000})
		r := resp.Responses["A"]
		require.NoError(t, r.Error)
		require.NotEmpty(t, r.Frames)
		return r
	}
	notices := func(r backend.DataResponse) []string {
		var out []string
		for _, n := range r.Frames[0].Meta.Notices {
			out = append(out, n.Text)
		}
		return out
	}

	base := query(plain)
	require.Contains(t, base.Frames[0].Meta.ExecutedQueryString, "FROM `kpi_rollup_1h`")
	require.Len(t, notices(base), 1)
	require.Regexp(t, `^Optimizer module "builtin" changed the plan in [0-9.]+[µm]s: source kpi_samples → kpi_rollup_1h, `+
		`time_column ts → bucket\. Reading kpi_rollup_1h: its 1h buckets fit the 1h interval`, notices(base)[0])

	t.Run("a configured module's notice", func(t *testing.T) {
		h := p.CheckHealth(ctx, t, noted)
		require.Equal(t, backend.HealthStatusOk, h.Status, h.Message)
		require.Contains(t, h.Message, "Optimizer modules ready: builtin, note.")
		r := query(noted)
		require.Len(t, notices(r), 2)
		require.Regexp(t, `^Optimizer module "note" kept the plan \([0-9.]+[µm]s\)\. The note example module saw this query\.$`, notices(r)[1])
		requireSameData(t, base.Frames, r.Frames)
	})

	t.Run("a failing module leaves the answer as it was", func(t *testing.T) {
		r := query(trapped)
		require.Len(t, notices(r), 2)
		require.Contains(t, notices(r)[1], `Plan rewrite step 2 was skipped, the query runs on the plan it had: optimizer module "trap" failed after `)
		require.Contains(t, notices(r)[1], "trapped: wasm error: unreachable")
		require.Equal(t, base.Frames[0].Meta.ExecutedQueryString, r.Frames[0].Meta.ExecutedQueryString)
		requireSameData(t, base.Frames, r.Frames)
	})

	t.Run("a module that cannot be loaded fails the health check, not the queries", func(t *testing.T) {
		h := p.CheckHealth(ctx, t, unloadable)
		require.Equal(t, backend.HealthStatusError, h.Status)
		require.Contains(t, h.Message, `Optimizer module "badsum" could not be loaded: sha256 mismatch: `+badSum["path"].(string))
		var details struct {
			OptimizerModules []struct {
				Name, State, Error string
			} `json:"optimizerModules"`
		}
		require.NoError(t, json.Unmarshal(h.JSONDetails, &details))
		require.Len(t, details.OptimizerModules, 2)
		require.Equal(t, "ready", details.OptimizerModules[0].State)
		require.Equal(t, "failed", details.OptimizerModules[1].State)
		r := query(unloadable)
		require.Contains(t, notices(r)[1], `optimizer module "badsum" failed after`)
		require.Contains(t, notices(r)[1], "it could not be loaded: sha256 mismatch")
		requireSameData(t, base.Frames, r.Frames)
	})
}

// requireSameData compares frames' fields and values, not their notices.
func requireSameData(t *testing.T, want, got data.Frames) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, len(want[i].Fields), len(got[i].Fields))
		for j := range want[i].Fields {
			w, g := want[i].Fields[j], got[i].Fields[j]
			require.Equal(t, w.Name, g.Name)
			require.Equal(t, w.Labels, g.Labels)
			require.Equal(t, w.Len(), g.Len())
			for k := 0; k < w.Len(); k++ {
				require.Equal(t, w.At(k), g.At(k), "frame %d field %s row %d", i, w.Name, k)
			}
		}
	}
}
