//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// The builder query tests load a generated dataset (pkg/demo) with
// PrepareBatch, ask the plugin through Grafana's protocol, and compare with
// answers computed here in Go from the same rows, without SQL.
//
// KPI values are rounded to quarters before insertion: sums of quarters are
// exact in float64 in any order, so sums, averages and rates from
// kpi_samples, from the rollups' merged states and from Go agree bit for bit.

var builderNow = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// moduleTime is the time an optimizer module took, in its notice.
var moduleTime = regexp.MustCompile(`[0-9.]+(µs|ms|s)\b`)

type builderEnv struct {
	db   *chtest.Database
	ds   demo.Dataset
	kpi  []demo.KPISample // values quantised as inserted
	p    *plugintest.Plugin
	src  plugintest.DataSource
	team map[string]string // team → parent
}

func quarter(v float64) float64 { return math.Round(v*4) / 4 }

func setupBuilder(t *testing.T) *builderEnv {
	t.Helper()
	return setupDemo(t, demo.Options{Seed: 7, Days: 10, Teams: 2, Now: builderNow, KPIInterval: 15 * time.Minute})
}

// setupDemo loads a generated dataset into a migrated test database and
// starts the plugin with a data source on it.
func setupDemo(t *testing.T, opts demo.Options) *builderEnv {
	t.Helper()
	st, db := chtest.MigratedStore(t)
	return loadDemo(t, st, db, opts)
}

// loadDemo loads a generated dataset into st's database (with kpiflow's
// schema on it) and starts the plugin with a data source on it.
func loadDemo(t *testing.T, st *store.Store, db *chtest.Database, opts demo.Options) *builderEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	ds := demo.Generate(opts)
	env := &builderEnv{db: db, ds: ds, team: map[string]string{}}
	for _, tm := range ds.Teams {
		env.team[tm.Team] = tm.Parent
	}
	for _, k := range ds.KPI {
		k.Value = quarter(k.Value)
		env.kpi = append(env.kpi, k)
	}

	insert := func(table string, cols []string, n int, row func(b driver.Batch, i int) error) {
		t.Helper()
		// Three batches per table: the rollups then merge several states.
		for part := 0; part < 3; part++ {
			lo, hi := n*part/3, n*(part+1)/3
			require.NoError(t, st.InsertBatch(ctx, table, cols, func(b driver.Batch) error {
				for i := lo; i < hi; i++ {
					if err := row(b, i); err != nil {
						return err
					}
				}
				return nil
			}), table)
		}
	}
	insert("teams", []string{"team", "parent", "display_name", "event_id", "batch_id"}, len(ds.Teams), func(b driver.Batch, i int) error {
		r := ds.Teams[i]
		return b.Append(r.Team, r.Parent, r.DisplayName, r.EventID, "test")
	})
	insert("kpi_samples", []string{"ts", "metric", "value", "team", "project", "service", "environment", "source",
		"label_keys", "label_values", "event_id", "batch_id"}, len(env.kpi), func(b driver.Batch, i int) error {
		r := env.kpi[i]
		keys := make([]string, 0, len(r.Labels))
		for k := range r.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vals := make([]string, len(keys))
		for j, k := range keys {
			vals[j] = r.Labels[k]
		}
		return b.Append(r.TS, r.Metric, r.Value, r.Team, r.Project, r.Service, r.Environment, r.Source, keys, vals, r.EventID, "test")
	})
	insert("task_events", []string{"ts", "task_id", "project", "team", "title", "kind", "state", "state_category",
		"assignee", "points", "parent_id", "blocked_by", "event_id", "batch_id"}, len(ds.Tasks), func(b driver.Batch, i int) error {
		r := ds.Tasks[i]
		blocked := r.BlockedBy
		if blocked == nil {
			blocked = []string{}
		}
		return b.Append(r.TS, r.TaskID, r.Project, r.Team, r.Title, r.Kind, r.State, r.StateCategory, r.Assignee, r.Points,
			r.ParentID, blocked, r.EventID, "test")
	})
	insert("deployments", []string{"finished_at", "deployment_id", "service", "team", "environment", "result", "commit_sha",
		"first_commit_at", "pipeline", "event_id", "batch_id"}, len(ds.Deployments), func(b driver.Batch, i int) error {
		r := ds.Deployments[i]
		return b.Append(r.FinishedAt, r.DeploymentID, r.Service, r.Team, r.Environment, r.Result, r.CommitSHA, r.FirstCommitAt,
			r.Pipeline, r.EventID, "test")
	})
	insert("incidents", []string{"incident_id", "service", "team", "severity", "opened_at", "resolved_at",
		"caused_by_deployment", "event_id", "batch_id"}, len(ds.Incidents), func(b driver.Batch, i int) error {
		r := ds.Incidents[i]
		return b.Append(r.IncidentID, r.Service, r.Team, r.Severity, r.OpenedAt, r.ResolvedAt, r.CausedByDeployment, r.EventID, "test")
	})

	env.p = plugintest.Start(t)
	env.src = env.p.DataSource(t, db.JSONData(), nil)
	return env
}

func (e *builderEnv) run(t *testing.T, headers map[string]string, queryType string, body map[string]any, from, to time.Time, interval time.Duration) backend.DataResponse {
	t.Helper()
	body["refId"] = "A"
	body["queryType"] = queryType
	// What Grafana adds to every query must be tolerated.
	body["datasource"] = map[string]string{"type": plugintest.PluginID, "uid": e.src.Settings.UID}
	body["intervalMs"] = interval.Milliseconds()
	body["maxDataPoints"] = 1000
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp := e.p.QueryData(ctx, t, e.src, headers, backend.DataQuery{RefID: "A", QueryType: queryType, JSON: raw,
		TimeRange: backend.TimeRange{From: from, To: to}, Interval: interval, MaxDataPoints: 1000})
	r := resp.Responses["A"]
	require.NoError(t, r.Error, "%s %s", queryType, raw)
	for _, f := range r.Frames {
		require.NotNil(t, f.Meta)
		require.Contains(t, f.Meta.ExecutedQueryString, "SELECT")
	}
	return r
}

// series reads timeseries-multi frames as name{labels} → unix time → value.
func series(t *testing.T, frames data.Frames) map[string]map[int64]float64 {
	t.Helper()
	out := map[string]map[int64]float64{}
	for _, f := range frames {
		require.Equal(t, data.FrameTypeTimeSeriesMulti, f.Meta.Type)
		require.Len(t, f.Fields, 2)
		if f.Rows() == 0 {
			continue
		}
		v := f.Fields[1]
		key := seriesKey(v.Name, v.Labels)
		m := map[int64]float64{}
		for i := 0; i < f.Rows(); i++ {
			x, ok := v.ConcreteAt(i)
			if !ok {
				continue
			}
			m[f.Fields[0].At(i).(time.Time).Unix()] = x.(float64)
		}
		out[key] = m
	}
	return out
}

func seriesKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

func notices(r backend.DataResponse) string {
	var texts []string
	for _, f := range r.Frames {
		for _, n := range f.Meta.Notices {
			texts = append(texts, n.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// ancestor is the team at depth level (root = 0) above team, or team itself.
func ancestor(parents map[string]string, team string, level int) string {
	path := []string{team}
	for cur := team; parents[cur] != ""; cur = parents[cur] {
		path = append(path, parents[cur])
	}
	if d := len(path) - 1; d > level {
		return path[d-level]
	}
	return team
}

type kpiCase struct {
	name        string
	metrics     []string
	agg         string
	groupBy     []string
	filters     []map[string]any
	adhoc       []map[string]any
	keep        func(demo.KPISample) bool
	interval    string
	bucket      int64
	table       string // the table the notices must name
	from, to    time.Time
	checkNoTies bool
}

// expectKPI computes a kpi query's answer from the samples in Go.
func (e *builderEnv) expectKPI(t *testing.T, c kpiCase) map[string]map[int64]float64 {
	t.Helper()
	from := c.from.Unix() / c.bucket * c.bucket
	to := (c.to.Unix() + c.bucket - 1) / c.bucket * c.bucket
	type acc struct {
		sum, min, max, n float64
		last             float64
		lastTS           int64
		ties             bool
	}
	accs := map[string]map[int64]*acc{}
	for _, s := range e.kpi {
		ts := s.TS.Unix()
		if ts < from || ts >= to || !slices.Contains(c.metrics, s.Metric) || (c.keep != nil && !c.keep(s)) {
			continue
		}
		labels := map[string]string{}
		for _, g := range c.groupBy {
			switch {
			case strings.HasPrefix(g, "label:"):
				labels[strings.TrimPrefix(g, "label:")] = s.Labels[strings.TrimPrefix(g, "label:")]
			case strings.HasPrefix(g, "teamLevel:"):
				var n int
				fmt.Sscanf(g, "teamLevel:%d", &n)
				labels["team"] = ancestor(e.team, s.Team, n)
			default:
				labels[g] = map[string]string{"team": s.Team, "project": s.Project, "service": s.Service, "environment": s.Environment}[g]
			}
		}
		key := seriesKey(s.Metric, labels)
		b := ts / c.bucket * c.bucket
		if accs[key] == nil {
			accs[key] = map[int64]*acc{}
		}
		a := accs[key][b]
		if a == nil {
			a = &acc{min: math.Inf(1), max: math.Inf(-1), lastTS: -1}
			accs[key][b] = a
		}
		a.sum += s.Value
		a.n++
		a.min = math.Min(a.min, s.Value)
		a.max = math.Max(a.max, s.Value)
		switch {
		case ts > a.lastTS:
			a.last, a.lastTS, a.ties = s.Value, ts, false
		case ts == a.lastTS && s.Value != a.last:
			a.ties = true
		}
	}
	out := map[string]map[int64]float64{}
	for key, buckets := range accs {
		out[key] = map[int64]float64{}
		for b, a := range buckets {
			if c.checkNoTies {
				require.False(t, a.ties, "the dataset has two different values at the latest time of %s@%d; last is ambiguous", key, b)
			}
			out[key][b] = map[string]float64{"avg": a.sum / a.n, "sum": a.sum, "min": a.min, "max": a.max, "count": a.n,
				"last": a.last, "rate": a.sum / float64(c.bucket)}[c.agg]
		}
	}
	return out
}

func TestIntegrationBuilderQueries(t *testing.T) {
	e := setupBuilder(t)
	from, to := builderNow.Add(-3*24*time.Hour+17*time.Minute), builderNow.Add(-5*time.Hour+3*time.Minute)

	t.Run("kpi", func(t *testing.T) {
		var cases []kpiCase
		for _, agg := range []string{"avg", "sum", "min", "max", "count", "last", "rate"} {
			cases = append(cases,
				kpiCase{name: agg + " by service, 1h (rollup_1h)", metrics: []string{"latency_p95_ms", "error_rate"}, agg: agg,
					groupBy: []string{"service"}, interval: "1h", bucket: 3600, table: "kpi_rollup_1h", from: from, to: to, checkNoTies: agg == "last"},
				kpiCase{name: agg + " by service and label, 30m (kpi_samples)", metrics: []string{"requests_per_s"}, agg: agg,
					groupBy: []string{"service", "label:region"}, interval: "30m", bucket: 1800, table: "kpi_samples", from: from, to: to, checkNoTies: agg == "last"},
			)
		}
		for _, agg := range []string{"avg", "sum", "min", "max", "count", "rate"} {
			cases = append(cases,
				kpiCase{name: agg + " by team, 3h (rollup_1h)", metrics: []string{"latency_p95_ms"}, agg: agg,
					groupBy: []string{"team"}, interval: "3h", bucket: 3 * 3600, table: "kpi_rollup_1h", from: from, to: to},
				kpiCase{name: agg + " by team, 5m (kpi_samples: no rollup below 1h)", metrics: []string{"latency_p95_ms"}, agg: agg,
					groupBy: []string{"team"}, interval: "5m", bucket: 300, table: "kpi_samples", from: from, to: to},
				kpiCase{name: agg + " by teamLevel:1, 1d (rollup_1d)", metrics: []string{"error_rate", "build_duration_s"}, agg: agg,
					groupBy: []string{"teamLevel:1"}, interval: "1d", bucket: 86400, table: "kpi_rollup_1d",
					from: builderNow.Add(-8 * 24 * time.Hour), to: builderNow},
				kpiCase{name: agg + " no grouping, filters, 2h", metrics: []string{"latency_p95_ms", "coverage_pct"}, agg: agg,
					filters: []map[string]any{{"key": "environment", "operator": "=", "value": "production"},
						{"key": "service", "operator": "not in", "value": []string{"gateway"}}},
					keep:     func(s demo.KPISample) bool { return s.Environment == "production" && s.Service != "gateway" },
					interval: "2h", bucket: 7200, table: "kpi_rollup_1h", from: from, to: to},
				kpiCase{name: agg + " label and ad hoc filters, 1h (kpi_samples)", metrics: []string{"latency_p95_ms", "error_rate"}, agg: agg,
					groupBy: []string{"project"},
					filters: []map[string]any{{"key": "label:region", "operator": "=~", "value": "^eu-"}},
					adhoc:   []map[string]any{{"key": "team", "operator": "!=", "value": "nobody"}},
					keep: func(s demo.KPISample) bool {
						return strings.HasPrefix(s.Labels["region"], "eu-") && s.Team != "nobody"
					},
					interval: "1h", bucket: 3600, table: "kpi_samples", from: from, to: to},
			)
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				body := map[string]any{"metrics": c.metrics, "aggregation": c.agg, "groupBy": c.groupBy,
					"filters": c.filters, "interval": c.interval, "format": "timeseries"}
				if c.filters == nil {
					body["filters"] = []any{}
				}
				if c.adhoc != nil {
					body["adhocFilters"] = c.adhoc
				}
				r := e.run(t, nil, "kpi", body, c.from, c.to, time.Minute)
				require.Contains(t, notices(r), "Reading "+c.table+":")
				want := e.expectKPI(t, c)
				require.NotEmpty(t, want)
				require.Equal(t, want, series(t, r.Frames))
			})
		}
	})

	t.Run("kpi table format and interval from the request", func(t *testing.T) {
		r := e.run(t, nil, "kpi", map[string]any{"metrics": []string{"error_rate"}, "aggregation": "max", "groupBy": []string{"label:region"},
			"filters": []any{}, "format": "table"}, from, to, 6*time.Hour)
		require.Len(t, r.Frames, 1)
		f := r.Frames[0]
		require.Equal(t, []string{"time", "metric", "region", "max"}, fieldNames(f))
		want := e.expectKPI(t, kpiCase{metrics: []string{"error_rate"}, agg: "max", groupBy: []string{"label:region"}, bucket: 6 * 3600, from: from, to: to})
		got := map[string]map[int64]float64{}
		for i := 0; i < f.Rows(); i++ {
			k := seriesKey("error_rate", map[string]string{"region": f.Fields[2].At(i).(string)})
			if got[k] == nil {
				got[k] = map[int64]float64{}
			}
			got[k][f.Fields[0].At(i).(time.Time).Unix()] = f.Fields[3].At(i).(float64)
		}
		require.Equal(t, want, got)
	})

	t.Run("kpi percentiles from kpi_samples interpolate like R-7", func(t *testing.T) {
		r := e.run(t, nil, "kpi", map[string]any{"metrics": []string{"latency_p95_ms"}, "aggregation": "p90",
			"groupBy": []string{"service", "label:region"}, "filters": []any{}, "interval": "6h"}, from, to, time.Minute)
		require.NotContains(t, notices(r), "approximate")
		got := series(t, r.Frames)
		lo, hi := from.Unix()/21600*21600, (to.Unix()+21599)/21600*21600
		values := map[string]map[int64][]float64{}
		for _, s := range e.kpi {
			if s.Metric != "latency_p95_ms" || s.TS.Unix() < lo || s.TS.Unix() >= hi {
				continue
			}
			k := seriesKey(s.Metric, map[string]string{"service": s.Service, "region": s.Labels["region"]})
			if values[k] == nil {
				values[k] = map[int64][]float64{}
			}
			b := s.TS.Unix() / 21600 * 21600
			values[k][b] = append(values[k][b], s.Value)
		}
		require.Len(t, got, len(values))
		for k, bs := range values {
			require.Len(t, got[k], len(bs), k)
			for b, vs := range bs {
				sort.Float64s(vs)
				// Within 1e-9 relative: the same formula, evaluated in a
				// different order of floating-point operations.
				require.InEpsilon(t, interpolated(vs, 0.9), got[k][b], 1e-9, "%s@%d", k, b)
			}
		}
	})

	t.Run("kpi percentiles from a rollup are marked approximate", func(t *testing.T) {
		r := e.run(t, nil, "kpi", map[string]any{"metrics": []string{"latency_p95_ms"}, "aggregation": "p90", "groupBy": []string{"service"},
			"filters": []any{}, "interval": "1h"}, from, to, time.Minute)
		require.Contains(t, notices(r), "approximate")
		require.NotEmpty(t, series(t, r.Frames))
	})

	t.Run("alert rule and dashboard get the same answer", func(t *testing.T) {
		for _, q := range []struct {
			typ  string
			body func() map[string]any
		}{
			{"kpi", func() map[string]any {
				return map[string]any{"metrics": []string{"latency_p95_ms", "error_rate"}, "aggregation": "avg",
					"groupBy": []string{"service", "label:region"}, "filters": []any{}, "interval": "15m"}
			}},
			{"dora", func() map[string]any {
				return map[string]any{"metric": "lead_time", "groupBy": []string{"service"}, "environment": "production", "format": "timeseries"}
			}},
			{"taskflow", func() map[string]any { return map[string]any{"view": "throughput"} }},
		} {
			dash := e.run(t, nil, q.typ, q.body(), from, to, time.Hour)
			alert := e.run(t, map[string]string{"FromAlert": "true"}, q.typ, q.body(), from, to, time.Hour)
			require.Equal(t, len(dash.Frames), len(alert.Frames), q.typ)
			require.Contains(t, alert.Frames[0].Meta.ExecutedQueryString, "alert=true", "the query is attributed to the alert")
			for i := range dash.Frames {
				// Same SQL apart from the attribution comment; same data.
				dash.Frames[i].Meta.ExecutedQueryString = stripComment(dash.Frames[i].Meta.ExecutedQueryString)
				alert.Frames[i].Meta.ExecutedQueryString = stripComment(alert.Frames[i].Meta.ExecutedQueryString)
				// Optimizer notices say how long each module took.
				for _, f := range []*data.Frame{dash.Frames[i], alert.Frames[i]} {
					for j, n := range f.Meta.Notices {
						f.Meta.Notices[j].Text = moduleTime.ReplaceAllString(n.Text, "T")
					}
				}
				a, err := dash.Frames[i].MarshalJSON()
				require.NoError(t, err)
				b, err := alert.Frames[i].MarshalJSON()
				require.NoError(t, err)
				require.JSONEq(t, string(a), string(b), q.typ)
			}
		}
	})

	t.Run("every query type can drive an alert", func(t *testing.T) {
		alert := map[string]string{"FromAlert": "true"}
		for _, q := range []struct {
			typ  string
			body map[string]any
		}{
			{"kpi", map[string]any{"metrics": []string{"error_rate"}, "aggregation": "max", "groupBy": []string{"service"}, "interval": "15m"}},
			{"kpi", map[string]any{"metrics": []string{"no_such_metric"}, "aggregation": "avg", "groupBy": []string{"team"}}},
			{"dora", map[string]any{"metric": "lead_time", "groupBy": []string{"team"}, "format": "timeseries"}},
			{"dora", map[string]any{"metric": "deployment_frequency", "format": "timeseries"}},
			{"dora", map[string]any{"metric": "lead_time", "environment": "nowhere", "format": "timeseries"}},
			{"dora", map[string]any{"metric": "change_failure_rate", "groupBy": []string{"team"}, "format": "table"}},
			{"dora", map[string]any{"metric": "time_to_restore", "groupBy": []string{"team"}, "format": "band"}},
			{"taskflow", map[string]any{"view": "cfd"}},
			{"taskflow", map[string]any{"view": "wip"}},
			{"taskflow", map[string]any{"view": "throughput"}},
			{"taskflow", map[string]any{"view": "cycle_time"}},
		} {
			r := e.run(t, alert, q.typ, q.body, from, to, time.Hour)
			require.NoError(t, r.Error, "%s %v", q.typ, q.body)
			require.Empty(t, dataplaneProblem(r.Frames), "%s %v", q.typ, q.body)
			if q.typ == "kpi" {
				continue // a KPI's unit is the team's: kpiflow does not know it
			}
			// Every number says what it is, so Grafana formats it.
			for _, f := range r.Frames {
				for _, fl := range f.Fields {
					if fl.Type().Numeric() {
						require.NotNil(t, fl.Config, "%s %v: field %s has no unit", q.typ, q.body, fl.Name)
						require.NotEmpty(t, fl.Config.Unit, "%s %v: field %s has no unit", q.typ, q.body, fl.Name)
					}
				}
			}
		}
		units := map[string]string{}
		for _, q := range []struct {
			typ  string
			body map[string]any
		}{
			{"dora", map[string]any{"metric": "lead_time", "groupBy": []string{"team"}, "format": "table"}},
			{"dora", map[string]any{"metric": "change_failure_rate", "groupBy": []string{"team"}, "format": "table"}},
			{"taskflow", map[string]any{"view": "cycle_time"}},
			{"taskflow", map[string]any{"view": "aging"}},
		} {
			r := e.run(t, alert, q.typ, q.body, from, to, time.Hour)
			require.NoError(t, r.Error)
			for _, fl := range r.Frames[0].Fields {
				if fl.Config != nil {
					units[fl.Name] = fl.Config.Unit
				}
			}
		}
		require.Equal(t, "s", units["lead_time"])
		require.Equal(t, "percentunit", units["change_failure_rate"])
		require.Equal(t, "s", units["cycle_time"])
		require.Equal(t, "none", units["tasks"])
		require.Equal(t, "s", units["age"])
		// Lists are not alert material (README: Alerting on builder queries).
		for _, view := range []string{"aging", "tasks"} {
			r := e.run(t, alert, "taskflow", map[string]any{"view": view}, from, to, time.Hour)
			require.NoError(t, r.Error)
			require.NotEmpty(t, dataplaneProblem(r.Frames), view)
		}
		r := e.run(t, alert, "kpi", map[string]any{"metrics": []string{"error_rate"}, "aggregation": "max", "format": "table"}, from, to, time.Hour)
		require.NoError(t, r.Error)
		require.NotEmpty(t, dataplaneProblem(r.Frames), "kpi table is long (a time column): alert with format timeseries")
	})

	t.Run("dora", func(t *testing.T) { e.testDORA(t) })
	t.Run("taskflow", func(t *testing.T) { e.testTaskflow(t) })

	t.Run("variables", func(t *testing.T) { e.testVariables(t) })

	t.Run("empty results are frames, not errors", func(t *testing.T) {
		r := e.run(t, nil, "kpi", map[string]any{"metrics": []string{"no_such_metric"}, "aggregation": "avg", "groupBy": []string{"teamLevel:0"}}, from, to, time.Minute)
		require.Len(t, r.Frames, 1)
		require.Zero(t, r.Frames[0].Rows())
		require.Equal(t, data.FrameTypeTimeSeriesMulti, r.Frames[0].Meta.Type)
		// Without groups an aggregate answers one row: no value, no band.
		r = e.run(t, nil, "dora", map[string]any{"metric": "lead_time", "environment": "nowhere", "format": "band"}, from, to, time.Minute)
		require.Equal(t, 1, r.Frames[0].Rows())
		_, ok := r.Frames[0].Fields[0].ConcreteAt(0)
		require.False(t, ok)
		require.Equal(t, "no data", r.Frames[0].Fields[1].At(0))
		r = e.run(t, nil, "dora", map[string]any{"metric": "lead_time", "environment": "nowhere", "groupBy": []string{"team"}, "format": "table"}, from, to, time.Minute)
		require.Zero(t, r.Frames[0].Rows())
		r = e.run(t, nil, "taskflow", map[string]any{"view": "throughput", "teams": []string{"nobody"}}, from, to, time.Minute)
		require.Equal(t, 3, r.Frames[0].Rows(), "the range's 3 UTC days, all zero")
		for i := 0; i < r.Frames[0].Rows(); i++ {
			require.Zero(t, r.Frames[0].Fields[1].At(i))
		}
		r = e.run(t, nil, "taskflow", map[string]any{"view": "cycle_time", "teams": []string{"nobody"}}, from, to, time.Minute)
		require.Equal(t, 3, r.Frames[0].Rows())
		_, ok = r.Frames[0].Fields[1].ConcreteAt(0)
		require.False(t, ok, "no tasks, no percentile")
	})

	t.Run("row cap with a notice", func(t *testing.T) {
		jd := e.db.JSONData()
		jd["maxRows"] = 3
		capped := *e
		capped.src = e.p.DataSource(t, jd, nil)
		r := capped.run(t, nil, "taskflow", map[string]any{"view": "tasks"}, from, to, time.Hour)
		require.Equal(t, 3, r.Frames[0].Rows())
		require.Contains(t, notices(r), "cut at 3 rows")
	})

	t.Run("fields Grafana or other plugins add are ignored with a notice", func(t *testing.T) {
		for _, c := range []struct {
			typ  string
			body map[string]any
		}{
			{"kpi", map[string]any{"metrics": []string{"error_rate"}, "aggregation": "max", "panelId": 7, "pluginVersion": "12.4.2"}},
			{"dora", map[string]any{"metric": "lead_time", "panelId": 7, "pluginVersion": "12.4.2"}},
			{"taskflow", map[string]any{"view": "throughput", "panelId": 7, "pluginVersion": "12.4.2"}},
		} {
			r := e.run(t, nil, c.typ, c.body, from, to, time.Hour)
			require.NoError(t, r.Error, c.typ)
			require.Contains(t, notices(r), `Ignored query field(s) kpiflow does not know: "panelId", "pluginVersion".`, c.typ)
		}
	})

	t.Run("bad queries name the field", func(t *testing.T) {
		ctx := context.Background()
		for _, c := range []struct{ typ, body, field string }{
			{"kpi", `{"metrics":[],"aggregation":"avg"}`, "metrics:"},
			{"kpi", `{"metrics":["x"],"aggregation":"avg","filters":[{"key":"team","operator":"~","value":"a"}]}`, "filters[0].operator:"},
			{"kpi", `{"metrics":["x"],"aggregation":"avg","Metrics":["y"]}`, `Metrics: unknown field; the field is spelled "metrics"`},
			{"dora", `{"metric":"mttr"}`, "metric:"},
			{"taskflow", `{"view":"cfd","percentiles":[100]}`, "percentiles[0]:"},
		} {
			resp := e.p.QueryData(ctx, t, e.src, nil, backend.DataQuery{RefID: "A", QueryType: c.typ, JSON: []byte(c.body),
				TimeRange: backend.TimeRange{From: from, To: to}})
			r := resp.Responses["A"]
			require.ErrorContains(t, r.Error, c.field)
			require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
		}
	})
}

// stripComment drops the leading attribution comment (/* kpiflow ... */).
func stripComment(sql string) string {
	if _, rest, ok := strings.Cut(sql, "*/ "); ok && strings.HasPrefix(sql, "/*") {
		return rest
	}
	return sql
}

func fieldNames(f *data.Frame) []string {
	out := make([]string, len(f.Fields))
	for i, fl := range f.Fields {
		out[i] = fl.Name
	}
	return out
}

// median is the middle value, or the mean of the two middle ones.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	return (s[(n+1)/2-1] + s[n/2]) / 2
}

func (e *builderEnv) testDORA(t *testing.T) {
	from, to := e.ds.From, e.ds.To
	// FINAL: the last inserted row per key (the generator has no repeats,
	// but the expectation does not rely on that).
	deps := map[string]demo.Deployment{}
	for _, d := range e.ds.Deployments {
		deps[d.DeploymentID] = d
	}
	incs := map[string]demo.Incident{}
	caused := map[string]bool{}
	for _, in := range e.ds.Incidents {
		incs[in.IncidentID] = in
	}
	for _, in := range incs {
		if in.CausedByDeployment != "" {
			caused[in.CausedByDeployment] = true
		}
	}
	groupOf := func(groupBy []string, team, service, env string) string {
		labels := map[string]string{}
		for _, g := range groupBy {
			labels[g] = map[string]string{"team": team, "service": service, "environment": env}[g]
		}
		return seriesKey("", labels)
	}
	// expect computes metric per group (and per bucket when bucket > 0).
	expect := func(metric string, groupBy []string, bucket int64) map[string]map[int64]float64 {
		lo, hi := from.Unix(), to.Unix()
		if bucket > 0 {
			lo, hi = lo/bucket*bucket, (hi+bucket-1)/bucket*bucket
		}
		bk := func(ts int64) int64 {
			if bucket == 0 {
				return 0
			}
			return ts / bucket * bucket
		}
		type acc struct {
			days      map[int64]bool
			durations []float64
			all, bad  float64
		}
		accs := map[string]map[int64]*acc{}
		get := func(g string, b int64) *acc {
			if accs[g] == nil {
				accs[g] = map[int64]*acc{}
			}
			if accs[g][b] == nil {
				accs[g][b] = &acc{days: map[int64]bool{}}
			}
			return accs[g][b]
		}
		if metric == "time_to_restore" {
			for _, in := range incs {
				if in.ResolvedAt == nil || in.ResolvedAt.Unix() < lo || in.ResolvedAt.Unix() >= hi {
					continue
				}
				a := get(groupOf(groupBy, in.Team, in.Service, ""), bk(in.ResolvedAt.Unix()))
				if d := in.ResolvedAt.Unix() - in.OpenedAt.Unix(); d > 0 {
					a.durations = append(a.durations, float64(d))
				}
			}
		} else {
			for _, d := range deps {
				ts := d.FinishedAt.Unix()
				if d.Environment != "production" || ts < lo || ts >= hi {
					continue
				}
				g, b := groupOf(groupBy, d.Team, d.Service, d.Environment), bk(ts)
				switch metric {
				case "deployment_frequency":
					if d.Result == "success" {
						get(g, b).days[ts/86400] = true
					}
				case "lead_time":
					if d.Result == "success" && d.FirstCommitAt != nil {
						a := get(g, b)
						if x := ts - d.FirstCommitAt.Unix(); x > 0 {
							a.durations = append(a.durations, float64(x))
						}
					}
				case "change_failure_rate":
					if d.Result != "cancelled" {
						a := get(g, b)
						a.all++
						if caused[d.DeploymentID] {
							a.bad++
						}
					}
				}
			}
		}
		out := map[string]map[int64]float64{}
		for g, bs := range accs {
			out[g] = map[int64]float64{}
			for b, a := range bs {
				switch metric {
				case "deployment_frequency":
					out[g][b] = float64(len(a.days))
				case "change_failure_rate":
					out[g][b] = a.bad / a.all
				default:
					if len(a.durations) > 0 {
						out[g][b] = median(a.durations)
					} else {
						out[g][b] = math.NaN()
					}
				}
			}
		}
		return out
	}
	dropNaN := func(m map[string]map[int64]float64) map[string]map[int64]float64 {
		for g, bs := range m {
			for b, v := range bs {
				if math.IsNaN(v) {
					delete(bs, b)
				}
			}
			if len(bs) == 0 {
				delete(m, g)
			}
		}
		return m
	}

	for _, metric := range []string{"deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"} {
		for _, groupBy := range [][]string{{}, {"team"}, {"service"}} {
			t.Run(fmt.Sprintf("%s table by %v", metric, groupBy), func(t *testing.T) {
				r := e.run(t, nil, "dora", map[string]any{"metric": metric, "groupBy": groupBy, "format": "table"}, from, to, time.Hour)
				require.Len(t, r.Frames, 1)
				f := r.Frames[0]
				got := map[string]map[int64]float64{}
				for i := 0; i < f.Rows(); i++ {
					labels := map[string]string{}
					for j, g := range groupBy {
						labels[g] = f.Fields[j].At(i).(string)
					}
					v, ok := f.Fields[len(groupBy)].ConcreteAt(i)
					if !ok {
						continue
					}
					got[seriesKey("", labels)] = map[int64]float64{0: v.(float64)}
				}
				want := dropNaN(expect(metric, groupBy, 0))
				require.NotEmpty(t, want)
				require.Equal(t, want, got)
			})
			t.Run(fmt.Sprintf("%s daily series by %v", metric, groupBy), func(t *testing.T) {
				r := e.run(t, nil, "dora", map[string]any{"metric": metric, "groupBy": groupBy, "format": "timeseries"}, from, to, time.Hour)
				got := map[string]map[int64]float64{}
				for k, v := range series(t, r.Frames) {
					got["{"+strings.SplitN(k, "{", 2)[1]] = v
				}
				want := dropNaN(expect(metric, groupBy, 86400))
				if metric == "deployment_frequency" {
					// Days without a deployment are 0 in every series.
					lo, hi := from.Unix()/86400*86400, (to.Unix()+86399)/86400*86400
					for _, bs := range want {
						for b := lo; b < hi; b += 86400 {
							if _, ok := bs[b]; !ok {
								bs[b] = 0
							}
						}
					}
				}
				require.NotEmpty(t, want)
				require.Equal(t, want, got)
			})
		}
	}
	t.Run("band", func(t *testing.T) {
		r := e.run(t, nil, "dora", map[string]any{"metric": "change_failure_rate", "groupBy": []string{"team"}, "format": "band"}, from, to, time.Hour)
		f := r.Frames[0]
		require.Equal(t, []string{"team", "change_failure_rate", "band"}, fieldNames(f))
		for i := 0; i < f.Rows(); i++ {
			require.Contains(t, []string{"elite", "high", "medium", "low"}, f.Fields[2].At(i))
		}
	})
}

func (e *builderEnv) testTaskflow(t *testing.T) {
	from, to := builderNow.Add(-7*24*time.Hour+5*time.Hour), builderNow.Add(-2*time.Hour)
	type ev = demo.TaskEvent
	byTask := map[string][]ev{}
	for _, x := range e.ds.Tasks {
		byTask[x.TaskID] = append(byTask[x.TaskID], x)
	}
	for id, evs := range byTask {
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].TS.Before(evs[j].TS) })
		for i := 1; i < len(evs); i++ {
			require.False(t, evs[i].TS.Equal(evs[i-1].TS), "task %s has two events at one time; its state would be ambiguous", id)
		}
		byTask[id] = evs
	}
	firstDay, lastDay := from.Unix()/86400*86400, (to.Unix()-1)/86400*86400
	inScope := func(teams []string, x ev) bool { return len(teams) == 0 || slices.Contains(teams, x.Team) }

	for _, teams := range [][]string{nil, {"checkout"}} {
		scope := fmt.Sprint(teams)
		body := func(view string) map[string]any {
			b := map[string]any{"view": view}
			if teams != nil {
				b["teams"] = teams
			}
			return b
		}
		// Events in scope per task (scope filters apply to events).
		scoped := map[string][]ev{}
		for id, evs := range byTask {
			for _, x := range evs {
				if inScope(teams, x) {
					scoped[id] = append(scoped[id], x)
				}
			}
		}

		t.Run("cfd "+scope, func(t *testing.T) {
			r := e.run(t, nil, "taskflow", body("cfd"), from, to, time.Hour)
			require.Len(t, r.Frames, 1)
			f := r.Frames[0]
			require.Equal(t, data.FrameTypeTimeSeriesWide, f.Meta.Type)
			require.Equal(t, []string{"time", "todo", "in_progress", "done"}, fieldNames(f))
			n := int((lastDay-firstDay)/86400) + 1
			require.Equal(t, n, f.Rows())
			for d := 0; d < n; d++ {
				end := firstDay + int64(d+1)*86400
				want := map[string]float64{}
				for _, evs := range scoped {
					var cat string
					for _, x := range evs {
						if x.TS.Unix() < end {
							cat = x.StateCategory
						}
					}
					if cat != "" {
						want[cat]++
					}
				}
				require.Equal(t, end-86400, f.Fields[0].At(d).(time.Time).Unix())
				for j, c := range []string{"todo", "in_progress", "done"} {
					require.Equal(t, want[c], f.Fields[j+1].At(d), "day %d %s", d, c)
				}
			}
			if len(teams) == 0 && os.Getenv("KPIFLOW_WRITE_FIXTURES") == "1" {
				tasks := e.run(t, nil, "taskflow", body("tasks"), from, to, time.Hour)
				aging := e.run(t, nil, "taskflow", body("aging"), from, to, time.Hour)
				writeTaskflowFixture(t, f, tasks.Frames[0], aging.Frames[0])
			}
		})

		t.Run("wip "+scope, func(t *testing.T) {
			r := e.run(t, nil, "taskflow", body("wip"), from, to, time.Hour)
			f := r.Frames[0]
			require.Equal(t, []string{"state_category", "state", "tasks"}, fieldNames(f))
			want := map[string]float64{}
			for _, evs := range byTask {
				cur := evs[len(evs)-1] // tasks_current: the latest event of the task
				if inScope(teams, cur) && cur.StateCategory != "done" {
					want[cur.StateCategory+"/"+cur.State]++
				}
			}
			got := map[string]float64{}
			for i := 0; i < f.Rows(); i++ {
				v, _ := f.Fields[2].ConcreteAt(i)
				got[f.Fields[0].At(i).(string)+"/"+f.Fields[1].At(i).(string)] = toF(v)
			}
			require.NotEmpty(t, want)
			require.Equal(t, want, got)
		})

		t.Run("throughput "+scope, func(t *testing.T) {
			r := e.run(t, nil, "taskflow", body("throughput"), from, to, time.Hour)
			f := r.Frames[0]
			n := int((lastDay-firstDay)/86400) + 1
			require.Equal(t, n, f.Rows(), "every day, zero days included")
			want := make([]float64, n)
			for _, evs := range scoped {
				for _, x := range evs {
					if x.StateCategory == "done" {
						if d := (x.TS.Unix() - firstDay) / 86400; x.TS.Unix() >= firstDay && int(d) < n {
							want[d]++
						}
						break
					}
				}
			}
			got := make([]float64, n)
			for i := range got {
				got[i] = f.Fields[1].At(i).(float64)
			}
			require.Equal(t, want, got)
		})

		t.Run("cycle time "+scope, func(t *testing.T) {
			r := e.run(t, nil, "taskflow", mergeMap(body("cycle_time"), map[string]any{"percentiles": []float64{50, 85, 95}}),
				builderNow.Add(-10*24*time.Hour), to, time.Hour)
			f := r.Frames[0]
			var durations []float64
			for _, evs := range scoped {
				var started, finished int64
				for _, x := range evs {
					if x.TS.Unix() >= to.Unix() {
						continue
					}
					if x.StateCategory == "in_progress" && started == 0 {
						started = x.TS.Unix()
					}
					if x.StateCategory == "done" && finished == 0 {
						finished = x.TS.Unix()
					}
				}
				if started > 0 && finished >= builderNow.Add(-10*24*time.Hour).Unix() && finished-started > 0 {
					durations = append(durations, float64(finished-started))
				}
			}
			require.NotEmpty(t, durations)
			sort.Float64s(durations)
			require.Equal(t, float64(len(durations)), f.Fields[2].At(0), "tasks counted")
			for i, p := range []float64{50, 85, 95} {
				got, ok := f.Fields[1].ConcreteAt(i)
				require.True(t, ok)
				want := interpolated(durations, p/100)
				// Tolerance: ClickHouse's quantile interpolates like this
				// for small samples; allow 1% of the value or one
				// minute for differences of quantile method.
				require.InDelta(t, want, got.(float64), math.Max(0.01*want, 60), "p%v", p)
			}
		})

		t.Run("aging "+scope, func(t *testing.T) {
			r := e.run(t, nil, "taskflow", body("aging"), from, to, time.Hour)
			f := r.Frames[0]
			want := map[string]float64{}
			for id, evs := range scoped {
				var cur *ev
				var started int64
				for i, x := range evs {
					if x.TS.Unix() >= to.Unix() {
						break
					}
					cur = &evs[i]
					if x.StateCategory == "in_progress" && started == 0 {
						started = x.TS.Unix()
					}
				}
				if cur != nil && cur.StateCategory == "in_progress" {
					want[id] = float64(to.Unix() - started)
				}
			}
			got := map[string]float64{}
			ageCol := slices.Index(fieldNames(f), "age")
			for i := 0; i < f.Rows(); i++ {
				got[f.Fields[0].At(i).(string)] = f.Fields[ageCol].At(i).(float64)
			}
			require.Equal(t, want, got)
		})

		t.Run("tasks "+scope, func(t *testing.T) {
			r := e.run(t, nil, "taskflow", body("tasks"), from, to, time.Hour)
			f := r.Frames[0]
			want := 0
			for _, evs := range byTask {
				if inScope(teams, evs[len(evs)-1]) {
					want++
				}
			}
			require.Equal(t, want, f.Rows())
		})
	}
}

func mergeMap(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func toF(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case uint64:
		return float64(x)
	}
	return math.NaN()
}

// interpolated is the p-quantile with linear interpolation between the
// closest ranks (R-7, what ClickHouse's quantile does on small samples).
func interpolated(sorted []float64, p float64) float64 {
	h := p * float64(len(sorted)-1)
	lo := math.Floor(h)
	if int(lo)+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[int(lo)] + (h-lo)*(sorted[int(lo)+1]-sorted[int(lo)])
}

// writeTaskflowFixture writes the frontend's taskflow fixtures: the frames
// the backend's own query path produced, in Grafana's data frame JSON.
func writeTaskflowFixture(t *testing.T, frames ...*data.Frame) {
	t.Helper()
	writeFixture(t, "taskflow.json", frames...)
}

func sortedSet(xs map[string]bool) []string {
	out := []string{}
	for x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func (e *builderEnv) testVariables(t *testing.T) {
	metrics, teams, projects, keys, regions := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	services, environments := map[string]bool{}, map[string]bool{}
	for _, s := range e.kpi {
		metrics[s.Metric], teams[s.Team], projects[s.Project] = true, true, true
		services[s.Service], environments[s.Environment] = true, true
		for k, v := range s.Labels {
			keys[k] = true
			if k == "region" {
				regions[v] = true
			}
		}
	}
	for _, tm := range e.ds.Teams {
		teams[tm.Team] = true
	}
	for _, x := range e.ds.Tasks {
		teams[x.Team], projects[x.Project] = true, true
	}
	for _, d := range e.ds.Deployments {
		teams[d.Team], services[d.Service], environments[d.Environment] = true, true, true
	}
	for _, in := range e.ds.Incidents {
		services[in.Service] = true
	}
	delete(services, "")
	delete(environments, "")
	ctx := context.Background()
	for path, want := range map[string][]string{
		"metrics": sortedSet(metrics), "teams": sortedSet(teams), "projects": sortedSet(projects),
		"services": sortedSet(services), "environments": sortedSet(environments),
		"labels/keys": sortedSet(keys), "labels/values?key=region": sortedSet(regions), "labels/values?key=nope": {},
	} {
		t.Run(path, func(t *testing.T) {
			status, body := e.getResource(ctx, t, path)
			require.Equal(t, 200, status, string(body))
			var got []string
			require.NoError(t, json.Unmarshal(body, &got))
			require.Equal(t, want, got)
		})
	}
	status, body := e.getResource(ctx, t, "labels/values")
	require.Equal(t, 400, status)
	require.Contains(t, string(body), "key: required")
}

// getResource calls a resource through the plugin protocol.
func (e *builderEnv) getResource(ctx context.Context, t *testing.T, pathAndQuery string) (int, []byte) {
	t.Helper()
	res := e.p.CallResource(ctx, t, e.src, "GET", pathAndQuery, nil, nil)
	return res.Status, res.Body
}
