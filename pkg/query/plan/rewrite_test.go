package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckRewrite(t *testing.T) {
	orig := base()
	roundTrip := func(p Plan) Plan {
		raw, err := json.Marshal(p)
		require.NoError(t, err)
		var back Plan
		require.NoError(t, json.Unmarshal(raw, &back))
		return back
	}
	ok := map[string]func(p *Plan){
		"unchanged":    func(p *Plan) {},
		"rollup":       func(p *Plan) { p.Source, p.TimeColumn = "roll_1h", "bucket" },
		"narrower":     func(p *Plan) { p.TimeRange.From += 60; p.Limit = 5 },
		"extra filter": func(p *Plan) { p.Filters = append(p.Filters, Filter{Column: "team", Op: OpNe, Values: Strings("x")}) },
		"filters reordered": func(p *Plan) {
			p.Filters = append([]Filter{{Column: "metric", Op: OpEq, Values: Strings("m")}}, p.Filters...)
		},
	}
	for name, mod := range ok {
		t.Run(name, func(t *testing.T) {
			r := roundTrip(orig)
			mod(&r)
			require.NoError(t, CheckRewrite(&orig, &r))
		})
	}
	bad := map[string]struct {
		mod  func(p *Plan)
		path string
	}{
		"wider from":      {func(p *Plan) { p.TimeRange.From -= 60 }, "time_range.from"},
		"open to":         {func(p *Plan) { p.TimeRange.To = 0 }, "time_range.to"},
		"dropped filter":  {func(p *Plan) { p.Filters = nil }, "filters[0]"},
		"changed filter":  {func(p *Plan) { p.Filters[0].Values = Strings("a") }, "filters[0]"},
		"raised limit":    {func(p *Plan) { p.Limit = 0 }, "limit"},
		"other bucket":    {func(p *Plan) { p.Bucket = 120 }, "bucket_s"},
		"other aggregate": {func(p *Plan) { p.Aggregations[0].Func = FuncMax }, "aggregations"},
		"new nesting":     {func(p *Plan) { inner := base(); p.From, p.Source = &inner, "" }, "from"},
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			r := roundTrip(orig)
			b.mod(&r)
			err := CheckRewrite(&orig, &r)
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), b.path), "%q should name %q", err, b.path)
		})
	}
}
