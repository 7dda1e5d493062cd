package optimizer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// TestBuiltinCorpus: for every (interval, range, aggregation, grouping,
// filter) of a generated grid, the built-in module reads the table that
// pkg/query's ChooseKPISource chooses. Without max points the module changes
// nothing else; with them it may only widen the buckets of a raw scan.
func TestBuiltinCorpus(t *testing.T) {
	ctx := context.Background()
	// A generous deadline: a busy test machine must not turn the table
	// choice into a timeout (the deadline has tests of its own).
	h := newHost(t, calm().WithModules(builtinModule(t)))
	c := query.Catalog()
	intervals := []string{"", "1s", "30s", "1m", "90s", "5m", "15m", "1h", "2h", "90m", "6h", "1d", "2d", "1w"}
	end := time.Date(2026, 11, 20, 13, 37, 11, 0, time.UTC)
	ranges := []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 90 * 24 * time.Hour}
	aggs := []string{"avg", "sum", "min", "max", "count", "p50", "p90", "p95", "p99", "rate", "last"}
	groupings := []string{`[]`, `["team"]`, `["team", "project", "service", "environment"]`, `["label:region"]`, `["teamLevel:1"]`}
	filters := []string{`[]`, `[{"key": "team", "operator": "=", "value": "a"}]`,
		`[{"key": "label:region", "operator": "=", "value": "eu"}]`, `[{"key": "source", "operator": "!=", "value": "ci"}]`}
	cases, rollups, widened := 0, 0, 0
	for _, iv := range intervals {
		for _, r := range ranges {
			for _, agg := range aggs {
				for _, g := range groupings {
					for _, f := range filters {
						for _, maxPoints := range []int64{0, 1000} {
							raw := fmt.Sprintf(`{"metrics": ["m1", "m2"], "aggregation": %q, "interval": %q, "groupBy": %s, "filters": %s}`, agg, iv, g, f)
							p := kpiPlan(t, raw, end.Add(-r), end, maxPoints)
							want, _ := query.ChooseKPISource(p, c)
							got, notices := h.Optimize(ctx, p, c)
							for _, n := range notices {
								require.NotEqual(t, NoticeFailed, n.Kind, "%s: %s", raw, n.Text())
							}
							require.Equal(t, want.Source, got.Source, "%s over %s, max points %d", raw, r, maxPoints)
							require.Equal(t, want.TimeColumn, got.TimeColumn)
							// Everything but the source, and a raw scan's bucket, stays.
							same := got
							same.Source, same.TimeColumn, same.Bucket = p.Source, p.TimeColumn, p.Bucket
							require.Equal(t, p, same)
							switch {
							case got.Bucket != p.Bucket:
								require.Equal(t, "kpi_samples", got.Source, "only raw scans are widened")
								require.Greater(t, plan.Buckets(p.TimeRange, p.Bucket), maxPoints)
								require.LessOrEqual(t, plan.Buckets(got.TimeRange, got.Bucket), maxPoints)
								widened++
							case maxPoints > 0 && got.Source == "kpi_samples":
								require.LessOrEqual(t, plan.Buckets(p.TimeRange, p.Bucket), maxPoints, "%s over %s", raw, r)
							}
							if got.Source != "kpi_samples" {
								rollups++
							}
							cases++
						}
					}
				}
			}
		}
	}
	t.Logf("%d cases: %d read a rollup, %d raw scans widened", cases, rollups, widened)
	// 1h and 1d buckets (6 of the 14 intervals) can read a rollup; sub-hour
	// ones read kpi_samples since there is no 1m rollup.
	require.Greater(t, rollups, cases/6)
	require.Greater(t, widened, 0)
}

// TestBuiltinNotices: what the built-in module tells a panel.
func TestBuiltinNotices(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, calm().WithModules(builtinModule(t)))
	c := query.Catalog()
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name, query string
		span        time.Duration
		maxPoints   int64
		source      string
		bucket      int64
		text        string
	}{
		{"hourly over 90 days", `{"metrics": ["m"], "aggregation": "avg", "interval": "1h"}`, 90 * 24 * time.Hour, 0,
			"kpi_rollup_1h", 3600, `Optimizer module "builtin" changed the plan in DURATION: source kpi_samples → kpi_rollup_1h, ` +
				`time_column ts → bucket. Reading kpi_rollup_1h: its 1h buckets fit the 1h interval and the aligned time range, ` +
				`so it answers like kpi_samples with fewer rows.`},
		{"percentile", `{"metrics": ["m"], "aggregation": "p90", "interval": "1d"}`, 30 * 24 * time.Hour, 0,
			"kpi_rollup_1d", 86400, `Optimizer module "builtin" changed the plan in DURATION: source kpi_samples → kpi_rollup_1d, ` +
				`time_column ts → bucket. Reading kpi_rollup_1d: its 1d buckets fit the 1d interval and the aligned time range, ` +
				`so it answers like kpi_samples with fewer rows. Percentiles from rollups are t-digest estimates (approximate).`},
		{"labels", `{"metrics": ["m"], "aggregation": "avg", "interval": "1h", "groupBy": ["label:region"]}`, 24 * time.Hour, 0,
			"kpi_samples", 3600, `Optimizer module "builtin" kept the plan (DURATION). Reading kpi_samples: label groupings need the raw samples (rollups hold no labels).`},
		{"labels, many points", `{"metrics": ["m"], "aggregation": "avg", "interval": "1m", "filters": [{"key": "label:region", "operator": "=", "value": "eu"}]}`,
			30 * 24 * time.Hour, 1000, "kpi_samples", 3600, `Optimizer module "builtin" changed the plan in DURATION: bucket_s 60 → 3600. ` +
				`Reading kpi_samples: label filters need the raw samples (rollups hold no labels). ` +
				`Widened the buckets from 1m to 1h: 43200 buckets would be more than the 1000 points the panel shows.`},
		{"off the grid", `{"metrics": ["m"], "aggregation": "sum", "interval": "30s"}`, time.Hour, 0,
			"kpi_samples", 30, `Optimizer module "builtin" kept the plan (DURATION). Reading kpi_samples: no rollup fits the 30s interval.`},
		{"source filter", `{"metrics": ["m"], "aggregation": "sum", "interval": "1h", "filters": [{"key": "source", "operator": "=", "value": "ci"}]}`,
			time.Hour, 0, "kpi_samples", 3600, `Optimizer module "builtin" kept the plan (DURATION). Reading kpi_samples: the source filter needs the raw samples (rollups hold no source).`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := kpiPlan(t, tc.query, end.Add(-tc.span), end, tc.maxPoints)
			got, notices := h.Optimize(ctx, p, c)
			require.Equal(t, tc.source, got.Source)
			require.Equal(t, tc.bucket, got.Bucket)
			require.Len(t, notices, 1)
			n := notices[0]
			n.Took = time.Microsecond
			require.Equal(t, tc.text, replaceDuration(n.Text(), "1µs"))
		})
	}
	// Plans with nothing to choose (no rollups of their table) pass without
	// a notice.
	dep := plan.Plan{Source: "deployments", TimeColumn: "finished_at", TimeRange: plan.TimeRange{From: 3600, To: 7200},
		Aggregations: []plan.Aggregation{{Func: plan.FuncCount, Alias: "n"}}}
	got, notices := h.Optimize(ctx, dep, c)
	require.Equal(t, dep, got)
	require.Empty(t, notices)
}

func replaceDuration(text, d string) string {
	return strings.ReplaceAll(text, d, "DURATION")
}

// TestBuiltinAnswersErrors: the module says what it cannot read.
func TestBuiltinAnswersErrors(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, calm().WithModules(builtinModule(t)))
	m := h.modules[0]
	for req, want := range map[string]string{
		`{"abi": 2, "plan": {}}`: `{"error":"builtin: this module speaks ABI v1; the request is abi 2"}`,
		`{"abi": 1, "plan": {`:   `{"error":"builtin: malformed JSON"}`,
		`{"abi": 1}`:             `{"error":"builtin: the request has no plan"}`,
	} {
		out, err := m.call(ctx, []byte(req))
		require.NoError(t, err)
		require.Equal(t, want, string(out))
		var r map[string]any
		require.NoError(t, json.Unmarshal(out, &r))
	}
}
