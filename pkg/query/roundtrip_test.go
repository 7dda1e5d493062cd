package query

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// gridQueries is a generated grid of kpi, dora and taskflow queries: every
// aggregation and interval of kpi with its groupings, filter kinds and
// formats in turn, every DORA
// metric, grouping and format, every taskflow view with and without scope.
func gridQueries() [][2]string {
	var out [][2]string
	add := func(typ string, m map[string]any) {
		b, _ := json.Marshal(m)
		out = append(out, [2]string{typ, string(b)})
	}
	filters := []any{nil,
		[]map[string]any{{"key": "team", "operator": "in", "value": []string{"a", "b"}}},
		[]map[string]any{{"key": "label:k", "operator": "=~", "value": "^x"}},
		[]map[string]any{{"key": "source", "operator": "!=", "value": "ci"}, {"key": "environment", "operator": "!~", "value": "dev"}},
	}
	groupings := [][]string{nil, {"team"}, {"label:k"}, {"teamLevel:1"}, {"team", "teamLevel:1", "service"}}
	i := 0
	for agg := range kpiAggregations() {
		for _, iv := range []string{"", "30s", "1m", "5m", "1h", "90m", "1d"} {
			// Groupings, filters and formats cycle, so each meets every
			// aggregation and interval without the whole product.
			for k := 0; k < 3; k++ {
				m := map[string]any{"metrics": []string{"m2", "m1"}, "aggregation": agg,
					"groupBy": groupings[(i+k)%len(groupings)], "filters": filters[(i+2*k)%len(filters)],
					"adhocFilters": []map[string]any{{"key": "service", "operator": "=|", "values": []string{"api"}}}}
				if iv != "" {
					m["interval"] = iv
				}
				if (i+k)%2 == 1 {
					m["format"] = FormatTable
				}
				add(TypeKPI, m)
			}
			i++
		}
	}
	for _, metric := range []string{DeploymentFrequency, LeadTime, ChangeFailureRate, TimeToRestore} {
		for _, gb := range [][]string{nil, {"team"}, {"service", "team"}} {
			for _, format := range []string{"", FormatTimeSeries, FormatTable, FormatBand} {
				for _, env := range []string{"", "staging"} {
					add(TypeDORA, map[string]any{"metric": metric, "groupBy": gb, "format": format, "environment": env})
				}
			}
		}
	}
	for _, view := range []string{ViewCFD, ViewWIP, ViewThroughput, ViewCycleTime, ViewAging, ViewTasks} {
		for _, scope := range []bool{false, true} {
			for _, ps := range [][]float64{nil, {50, 99.9}} {
				m := map[string]any{"view": view, "percentiles": ps}
				if scope {
					m["teams"], m["projects"] = []string{"b", "a"}, []string{"P"}
				}
				add(TypeTaskflow, m)
			}
		}
	}
	return out
}

func gridEnvs() []Env {
	wide := testEnv()
	wide.From, wide.Interval, wide.MaxDataPoints, wide.MaxRows = wide.To.Add(-30*24*time.Hour), time.Second, 500, 0
	narrow := testEnv()
	narrow.From, narrow.Interval, narrow.MaxRows, narrow.TeamParents = narrow.To.Add(-2*time.Hour), 20*time.Second, 10, nil
	return []Env{testEnv(), wide, narrow}
}

// everyPlan calls check with every plan the builders produce over the
// grid, before and after the rewrite chain, with its env and a description
// for messages, and returns how many it checked.
func everyPlan(t *testing.T, check func(p plan.Plan, env Env, where string)) int {
	n := 0
	for _, g := range gridQueries() {
		q, err := Parse(g[0], []byte(g[1]))
		require.NoError(t, err, g[1])
		for i, env := range gridEnvs() {
			pq, err := pipeline().Prepare(context.Background(), q, env)
			require.NoError(t, err, "%s %s env %d", g[0], g[1], i)
			built, err := q.Build(env)
			require.NoError(t, err)
			for _, p := range []plan.Plan{built.Plan, pq.Plan} {
				check(p, env, fmt.Sprintf("%s %s env %d", g[0], g[1], i))
				n++
			}
		}
	}
	return n
}

// TestEveryPlanSurvivesJSON: every plan the builders produce, before and
// after the rewrite chain, reads back from JSON (what optimizer modules see
// and return) as a plan with the same SQL and the same arguments, Go types
// included.
func TestEveryPlanSurvivesJSON(t *testing.T) {
	n := everyPlan(t, func(p plan.Plan, env Env, where string) {
		sql, args, err := SQL(p, env.Catalog)
		require.NoError(t, err)
		raw, err := json.Marshal(p)
		require.NoError(t, err)
		var back plan.Plan
		require.NoError(t, json.Unmarshal(raw, &back))
		sql2, args2, err := SQL(back, env.Catalog)
		require.NoError(t, err, "%s", raw)
		require.Equal(t, sql, sql2, where)
		require.Equal(t, args, args2, where)
	})
	require.Greater(t, n, 2000)
}

// TestCloneIsTheJSONRoundTrip: over the same corpus, plan.Clone (the copy a
// rewrite step is given) is exactly the plan a JSON round trip gives, and
// shares nothing with the original.
func TestCloneIsTheJSONRoundTrip(t *testing.T) {
	n := everyPlan(t, func(p plan.Plan, _ Env, where string) {
		raw, err := json.Marshal(p)
		require.NoError(t, err)
		var back plan.Plan
		require.NoError(t, json.Unmarshal(raw, &back))
		c := p.Clone()
		require.Equal(t, back, c, where)
		scribble(&c)
		again, err := json.Marshal(p)
		require.NoError(t, err)
		require.JSONEq(t, string(raw), string(again), "changing the clone changed the original")
	})
	require.Greater(t, n, 2000)
}

// scribble overwrites everything a plan holds by reference.
func scribble(p *plan.Plan) {
	if p.From != nil {
		scribble(p.From)
	}
	for i := range p.Columns {
		p.Columns[i] = "x"
	}
	for i := range p.Aggregations {
		p.Aggregations[i].Alias = "x"
		for j := range p.Aggregations[i].Args {
			p.Aggregations[i].Args[j] = -1
		}
		scribbleFilters(p.Aggregations[i].Where)
	}
	scribbleFilters(p.Filters)
	for i := range p.GroupBy {
		p.GroupBy[i].Alias = "x"
		if r := p.GroupBy[i].Remap; r != nil {
			for j := range r.From {
				r.From[j], r.To[j] = "x", "x"
			}
		}
	}
	for i := range p.OrderBy {
		p.OrderBy[i].Column = "x"
	}
}

func scribbleFilters(fs []plan.Filter) {
	for i := range fs {
		fs[i].Op = "x"
		for j := range fs[i].Values {
			fs[i].Values[j] = plan.String("x")
		}
		if fs[i].Ref != nil {
			fs[i].Ref.Column = "x"
		}
	}
}

// TestEncodeObjectIsMarshal: decodeStrict's re-encoding writes the bytes
// json.Marshal writes for the same map.
func TestEncodeObjectIsMarshal(t *testing.T) {
	raws := []string{
		`{}`,
		`{"b": 1, "a": [1, 2, {"x": "y"}], "c": null}`,
		`{"html": "<a href=\"x\">&</a>", "sep": "\u2028\u2029", "ünï": "cödé", "esc\"aped": "\\n"}`,
		"{\"spaces\" : { \"in\" :\t[ 1 ,\n 2 ] } , \"num\": -1.5e3}",
		`{"` + "\u003c" + `key>": true, "": false}`,
	}
	for _, g := range gridQueries() {
		raws = append(raws, g[1])
	}
	for _, raw := range raws {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(raw), &m), raw)
		want, err := json.Marshal(m)
		require.NoError(t, err)
		got, err := encodeObject(m)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), raw)
	}
}
