//go:build cluster

package clustersuite

import (
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/demo"
)

var compareNow = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// compareDataset is the generated dataset both sides load. KPI values are
// rounded to quarters, whose sums are exact in float64 in any order: the
// cluster adds up each shard's partial sums, one server adds in another order.
func compareDataset() demo.Dataset {
	d := demo.Generate(demo.Options{Seed: 3, Days: 14, Teams: 3, Now: compareNow, KPIInterval: 15 * time.Minute})
	kpi := make([]demo.KPISample, len(d.KPI))
	for i, k := range d.KPI {
		k.Value = math.Round(k.Value*4) / 4
		kpi[i] = k
	}
	d.KPI = kpi
	return d
}

type compareQuery struct {
	queryType string
	body      map[string]any
	// approx: the answer is a t-digest estimate merged from partial states,
	// whose value depends on how states were merged; compared within tol.
	approx bool
}

func compareQueries() []compareQuery {
	var qs []compareQuery
	for _, agg := range []string{"avg", "sum", "min", "max", "count", "last", "rate", "p50", "p90", "p95", "p99"} {
		pct := strings.HasPrefix(agg, "p")
		for _, v := range []struct {
			groupBy  []string
			interval string
			rollup   bool
			// ties: a series has several samples at one ts, so which is
			// "last" is not defined (argMax picks any, on one server too).
			ties bool
		}{
			{[]string{"service"}, "1h", true, false},                   // kpi_rollup_1h
			{[]string{"team"}, "3h", true, true},                       // kpi_rollup_1h
			{[]string{"team"}, "5m", false, true},                      // kpi_samples (no rollup below 1h)
			{[]string{"teamLevel:1"}, "1d", true, true},                // kpi_rollup_1d
			{[]string{"service", "label:region"}, "30m", false, false}, // kpi_samples
			{[]string{"environment", "project"}, "45s", false, true},   // kpi_samples (not whole minutes)
		} {
			if agg == "last" && v.ties {
				continue
			}
			qs = append(qs, compareQuery{queryType: "kpi", approx: pct && v.rollup, body: map[string]any{
				"metrics": []string{"latency_p95_ms", "error_rate", "build_duration_s"}, "aggregation": agg,
				"groupBy": v.groupBy, "interval": v.interval, "format": "timeseries"}})
		}
		qs = append(qs, compareQuery{queryType: "kpi", approx: pct, body: map[string]any{
			"metrics": []string{"requests_per_s"}, "aggregation": agg, "groupBy": []string{"service"},
			"filters":  []map[string]any{{"key": "environment", "operator": "=", "value": "production"}},
			"interval": "6h", "format": "table"}})
	}
	for _, m := range []string{"deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"} {
		group := []string{"team"}
		if m == "time_to_restore" {
			group = []string{"service"}
		}
		for _, f := range []string{"timeseries", "table", "band"} {
			qs = append(qs, compareQuery{queryType: "dora", body: map[string]any{"metric": m, "groupBy": group, "format": f}})
		}
		qs = append(qs, compareQuery{queryType: "dora", body: map[string]any{"metric": m, "groupBy": []string{}, "format": "timeseries"}})
	}
	for _, v := range []string{"cfd", "wip", "throughput", "cycle_time", "aging", "tasks"} {
		qs = append(qs, compareQuery{queryType: "taskflow", body: map[string]any{"view": v, "percentiles": []float64{50, 85, 95}}})
	}
	qs = append(qs, compareQuery{queryType: "taskflow", body: map[string]any{"view": "cycle_time", "teams": []string{"payments"}}})
	for _, sql := range []string{
		"SELECT $__timeInterval(ts) AS time, metric, avg(value) AS avg_value FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY time, metric ORDER BY time, metric",
		"SELECT team, count() AS n, sum(value) AS s, uniqExact(event_id) AS ids FROM kpi_samples GROUP BY team ORDER BY team",
		"SELECT state_category, count() AS n FROM tasks_current FINAL GROUP BY state_category ORDER BY state_category",
		"SELECT result, count() AS n FROM deployments FINAL WHERE $__timeFilter(finished_at) GROUP BY result ORDER BY result",
		"SELECT count() AS n FROM incidents FINAL WHERE caused_by_deployment GLOBAL IN (SELECT deployment_id FROM deployments FINAL)",
	} {
		qs = append(qs, compareQuery{queryType: "sql", body: map[string]any{"rawSql": sql, "format": "table"}})
	}
	qs = append(qs, compareQuery{queryType: "forecast", body: map[string]any{"mode": "completion", "historyDays": 10, "trials": 1000}})
	return qs
}

// TestClusterAnswersLikeOneServer loads the same generated dataset through
// the ingest API into one server and into the 2x2 cluster, checks that the
// rows spread over both shards (and both replicas of each), then sends every
// query type to both and requires the same frames.
func TestClusterAnswersLikeOneServer(t *testing.T) {
	// No server is stopped here: runs beside the other such tests, after the fault tests.
	t.Parallel()
	e := newEnv(t, nil)
	db, p, ctx, cl := e.db, e.p, e.ctx, e.tg
	one := singleTarget(t, p)
	d := compareDataset()
	for _, tg := range []target{one, cl} {
		tg.migrate(ctx, t)
		tg.load(ctx, t, &d, 5000)
		tg.verify(ctx, t)
	}

	t.Run("rows spread over both shards", func(t *testing.T) {
		db.WaitReplicated(t, time.Minute)
		for table, want := range map[string]int{"kpi_samples": len(d.KPI), "task_events": len(d.Tasks), "deployments": len(d.Deployments)} {
			n := db.LocalCounts(t, fmt.Sprintf("SELECT count() FROM %s.%s_local", db.Name, table))
			require.Equal(t, n[0], n[1], "%s: replicas of shard 1 differ", table)
			require.Equal(t, n[2], n[3], "%s: replicas of shard 2 differ", table)
			require.Equal(t, uint64(want), n[0]+n[2], table)
			// An even spread, give or take: each shard holds 35-65 % of the rows.
			require.InDelta(t, 0.5, float64(n[0])/float64(want), 0.15, "%s: shard 1 holds %d of %d rows", table, n[0], want)
		}
	})

	from, to := compareNow.Add(-10*24*time.Hour+17*time.Minute), compareNow.Add(-3*time.Hour)
	for _, q := range compareQueries() {
		t.Run(fmt.Sprintf("%s %v", q.queryType, q.body), func(t *testing.T) {
			a := one.query(ctx, t, q.queryType, q.body, from, to, time.Minute)
			b := cl.query(ctx, t, q.queryType, q.body, from, to, time.Minute)
			if a.Error != nil {
				require.Error(t, b.Error, "one server failed (%v), the cluster did not", a.Error)
				require.Equal(t, a.Error.Error(), b.Error.Error())
				return
			}
			require.NoError(t, b.Error)
			requireSameFrames(t, a.Frames, b.Frames, q.approx)
		})
	}

	t.Run("variables", func(t *testing.T) {
		for _, path := range []string{"metrics", "teams", "projects", "services", "environments", "labels/keys", "labels/values?key=region"} {
			a := one.p.CallResource(ctx, t, one.ds, http.MethodGet, path, nil, nil)
			b := cl.p.CallResource(ctx, t, cl.ds, http.MethodGet, path, nil, nil)
			require.Equal(t, http.StatusOK, a.Status, "%s: %s", path, a.Body)
			require.Equal(t, string(a.Body), string(b.Body), path)
		}
	})
}

// requireSameFrames compares frames field by field: names, labels, types and
// values, and the notices. With approx, numbers may differ by 5 %.
func requireSameFrames(t *testing.T, want, got data.Frames, approx bool) {
	t.Helper()
	require.Equal(t, len(want), len(got), "frame count")
	require.NotEmpty(t, want)
	for i := range want {
		a, b := want[i], got[i]
		require.Equal(t, a.Name, b.Name, "frame %d name", i)
		require.Equal(t, a.Rows(), b.Rows(), "frame %d (%s) rows", i, a.Name)
		require.Equal(t, len(a.Fields), len(b.Fields), "frame %d fields", i)
		if a.Meta != nil {
			require.NotNil(t, b.Meta)
			require.Equal(t, a.Meta.Type, b.Meta.Type)
			require.Equal(t, notices(a), notices(b), "frame %d notices", i)
		}
		for j, fa := range a.Fields {
			fb := b.Fields[j]
			require.Equal(t, fa.Name, fb.Name)
			require.Equal(t, fa.Labels.String(), fb.Labels.String())
			require.Equal(t, fa.Type(), fb.Type(), "field %s", fa.Name)
			for r := 0; r < fa.Len(); r++ {
				va, vb := fa.At(r), fb.At(r)
				if approx {
					if x, ok := floatOf(va); ok {
						y, _ := floatOf(vb)
						require.LessOrEqual(t, math.Abs(x-y), 0.05*math.Max(math.Abs(x), math.Abs(y))+1e-9,
							"frame %d field %s row %d: %v vs %v", i, fa.Name, r, x, y)
						continue
					}
				}
				require.Equal(t, va, vb, "frame %d (%s) field %s%s row %d", i, a.Name, fa.Name, fa.Labels, r)
			}
		}
	}
}

// moduleTime is the time an optimizer module took, which its notice names;
// it differs from one call to the next, so comparisons leave it out.
var moduleTime = regexp.MustCompile(`(changed the plan in |kept the plan \()[0-9.]+(ns|µs|ms|s)`)

func notices(f *data.Frame) []string {
	var out []string
	for _, n := range f.Meta.Notices {
		out = append(out, moduleTime.ReplaceAllString(n.Text, "${1}DURATION"))
	}
	return out
}

func floatOf(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case *float64:
		if x == nil {
			return 0, false
		}
		return *x, true
	}
	return 0, false
}
