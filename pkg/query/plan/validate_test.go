package plan

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func testCatalog() Catalog {
	return Catalog{Tables: []Table{
		{Name: "samples", Kind: KindRaw, Labels: true, Columns: []Column{{"ts", "DateTime"}, {"metric", "String"},
			{"value", "Float64"}, {"team", "String"}, {"opt", "Nullable(DateTime)"}, {"keys", "Array(String)"}}},
		{Name: "roll_1h", Kind: KindRollup, ResolutionS: 3600, Measure: "value",
			Funcs: []string{FuncAvg, FuncSum, FuncQuantile}, Quantiles: []float64{0.5, 0.9},
			Columns: []Column{{"bucket", "DateTime"}, {"metric", "String"}, {"team", "String"}, {"sum", "AggregateFunction(sum, Float64)"}}},
		{Name: "refs", Kind: KindRaw, Final: true, Columns: []Column{{"id", "String"}}},
	}}
}

func base() Plan {
	return Plan{Source: "samples", TimeColumn: "ts", TimeRange: TimeRange{From: 3600, To: 7200}, Bucket: 60,
		Aggregations: []Aggregation{{Func: FuncAvg, Column: "value", Alias: "v"}},
		GroupBy:      []GroupKey{{Column: "metric", Alias: "metric"}},
		Filters:      []Filter{{Column: "team", Op: OpIn, Values: Strings("a", "b")}},
		OrderBy:      []Order{{Column: "time"}}, Limit: 10}
}

func TestValidateAcceptsGoodPlans(t *testing.T) {
	c := testCatalog()
	good := map[string]func(p *Plan){
		"base":   func(p *Plan) {},
		"rollup": func(p *Plan) { p.Source, p.TimeColumn, p.Bucket = "roll_1h", "bucket", 7200 },
		"rollup p90": func(p *Plan) {
			p.Source, p.TimeColumn, p.Bucket, p.Aggregations[0] = "roll_1h", "bucket", 3600, Aggregation{Func: FuncQuantile, Column: "value", Args: []float64{0.9}, Alias: "v"}
		},
		"label": func(p *Plan) { p.GroupBy = append(p.GroupBy, GroupKey{LabelKey: "region", Alias: "l0"}) },
		"median diff": func(p *Plan) {
			p.Aggregations[0] = Aggregation{Func: FuncMedian, Column: "ts", Minus: "opt", Alias: "v"}
		},
		"fraction": func(p *Plan) {
			p.Aggregations[0] = Aggregation{Func: FuncFraction, Alias: "v", Where: []Filter{{Column: "team", Op: OpInColumnOf, Ref: &ColumnRef{"refs", "id"}}}}
		},
		"nested": func(p *Plan) {
			inner := base()
			p.From, p.Source, p.TimeColumn = &inner, "", "time"
			p.Aggregations[0].Column = "v"
			p.Filters = nil
		},
		"plain columns": func(p *Plan) {
			p.Aggregations, p.GroupBy, p.Bucket, p.Columns, p.OrderBy = nil, nil, 0, []string{"ts", "value"}, []Order{{Column: "ts", Desc: true}}
		},
		"null check": func(p *Plan) { p.Filters = append(p.Filters, Filter{Column: "opt", Op: OpIsNotNull}) },
		"time compare": func(p *Plan) {
			p.Filters = append(p.Filters, Filter{Column: "ts", Op: OpGt, Values: []Value{Number(5)}})
		},
	}
	for name, mod := range good {
		t.Run(name, func(t *testing.T) {
			p := base()
			mod(&p)
			require.NoError(t, p.Validate(c))
			// JSON round trip, as optimizer modules see it.
			raw, err := json.Marshal(p)
			require.NoError(t, err)
			var back Plan
			require.NoError(t, json.Unmarshal(raw, &back))
			require.NoError(t, back.Validate(c))
		})
	}
}

func TestValidateRejects(t *testing.T) {
	c := testCatalog()
	bad := []struct {
		name string
		mod  func(p *Plan)
		path string
	}{
		{"unknown table", func(p *Plan) { p.Source = "nope" }, "plan.source"},
		{"no source", func(p *Plan) { p.Source = "" }, "plan.source"},
		{"both sources", func(p *Plan) { inner := base(); p.From = &inner }, "plan.source"},
		{"unknown column", func(p *Plan) { p.Aggregations[0].Column = "nope" }, "plan.aggregations[0].column"},
		{"unknown func", func(p *Plan) { p.Aggregations[0].Func = "stddev" }, "plan.aggregations[0].func"},
		{"bad alias", func(p *Plan) { p.Aggregations[0].Alias = "v; DROP" }, "plan.aggregations[0].alias"},
		{"duplicate alias", func(p *Plan) { p.Aggregations[0].Alias = "metric" }, "plan.aggregations[0].alias"},
		{"unknown op", func(p *Plan) { p.Filters[0].Op = "LIKE" }, "plan.filters[0].op"},
		{"no values", func(p *Plan) { p.Filters[0].Values = nil }, "plan.filters[0].values"},
		{"number for string", func(p *Plan) { p.Filters[0].Values = []Value{Number(1)} }, "plan.filters[0].values[0]"},
		{"string for time", func(p *Plan) { p.Filters[0] = Filter{Column: "ts", Op: OpGt, Values: Strings("x")} }, "plan.filters[0].values[0]"},
		{"fractional seconds", func(p *Plan) { p.Filters[0] = Filter{Column: "ts", Op: OpGt, Values: []Value{Number(1.5)}} }, "plan.filters[0].values[0]"},
		{"infinite number", func(p *Plan) { p.Filters[0] = Filter{Column: "value", Op: OpLt, Values: []Value{Number(math.Inf(1))}} }, "plan.filters[0].values[0]"},
		{"bad regex", func(p *Plan) { p.Filters[0] = Filter{Column: "team", Op: OpMatch, Values: Strings("(")} }, "plan.filters[0].values"},
		{"regex number", func(p *Plan) { p.Filters[0] = Filter{Column: "team", Op: OpMatch, Values: []Value{Number(1)}} }, "plan.filters[0].values"},
		{"array group", func(p *Plan) { p.GroupBy[0].Column = "keys" }, "plan.group_by[0].column"},
		{"reversed range", func(p *Plan) { p.TimeRange = TimeRange{From: 10, To: 5} }, "plan.time_range"},
		{"negative limit", func(p *Plan) { p.Limit = -1 }, "plan.limit"},
		{"order by unknown", func(p *Plan) { p.OrderBy[0].Column = "x" }, "plan.order_by[0].column"},
		{"time column not DateTime", func(p *Plan) { p.TimeColumn = "value" }, "plan.time_column"},
		{"rollup label", func(p *Plan) {
			p.Source, p.TimeColumn, p.Bucket = "roll_1h", "bucket", 3600
			p.GroupBy = append(p.GroupBy, GroupKey{LabelKey: "region", Alias: "l0"})
		}, "plan.group_by[1].label_key"},
		{"rollup unanswerable func", func(p *Plan) {
			p.Source, p.TimeColumn, p.Bucket = "roll_1h", "bucket", 3600
			p.Aggregations[0].Func = FuncMax
		}, "plan.aggregations[0].func"},
		{"rollup unanswerable quantile", func(p *Plan) {
			p.Source, p.TimeColumn, p.Bucket = "roll_1h", "bucket", 3600
			p.Aggregations[0] = Aggregation{Func: FuncQuantile, Column: "value", Args: []float64{0.99}, Alias: "v"}
		}, "plan.aggregations[0].func"},
		{"rollup off grid", func(p *Plan) { p.Source, p.TimeColumn, p.Bucket = "roll_1h", "bucket", 60 }, "plan.source"},
		{"rollup state column", func(p *Plan) {
			p.Source, p.TimeColumn, p.Bucket = "roll_1h", "bucket", 3600
			p.Aggregations[0].Column = "sum"
		}, "plan.aggregations[0].column"},
		{"quantile level", func(p *Plan) {
			p.Aggregations[0] = Aggregation{Func: FuncQuantile, Column: "value", Args: []float64{1}, Alias: "v"}
		}, "plan.aggregations[0].args[0]"},
		{"minus not time", func(p *Plan) {
			p.Aggregations[0] = Aggregation{Func: FuncMedian, Column: "value", Minus: "ts", Alias: "v"}
		}, "plan.aggregations[0].minus"},
		{"ref unknown", func(p *Plan) {
			p.Filters[0] = Filter{Column: "team", Op: OpInColumnOf, Ref: &ColumnRef{"refs", "nope"}}
		}, "plan.filters[0].ref.column"},
		{"too deep", func(p *Plan) {
			cur := p
			for i := 0; i < 5; i++ {
				inner := base()
				cur.From, cur.Source = &inner, ""
				cur = &inner
			}
		}, "from"},
		{"rate without range", func(p *Plan) {
			p.Bucket, p.TimeRange = 0, TimeRange{}
			p.OrderBy, p.Aggregations[0].Func = nil, FuncRate
		}, "plan.aggregations[0].func"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			p := base()
			b.mod(&p)
			err := p.Validate(c)
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), b.path), "error %q should name %q", err, b.path)
		})
	}
}

// TestValueJSON: filter values are JSON scalars and keep their type through
// a round trip; anything else does not decode.
func TestValueJSON(t *testing.T) {
	in := Filter{Column: "x", Op: OpIn, Values: []Value{String("a"), Number(0), Number(1.5), String("")}}
	raw, err := json.Marshal(in)
	require.NoError(t, err)
	require.JSONEq(t, `{"column":"x","op":"in","values":["a",0,1.5,""]}`, string(raw))
	var back Filter
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, in, back)
	for _, bad := range []string{`[{}]`, `[null]`, `[true]`, `[["a"]]`, `[1e999]`} {
		require.Error(t, json.Unmarshal([]byte(`{"op":"in","values":`+bad+`}`), &back), bad)
	}
	s, ok := String("a").AsString()
	require.True(t, ok)
	require.Equal(t, "a", s)
	_, ok = Number(1).AsString()
	require.False(t, ok)
}
