package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckRewrite(t *testing.T) {
	orig := base()
	orig.MaxPoints = 10
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
		// 60 buckets of 60 s, the panel shows 10: 360 s is what it needs.
		"widened to need":      func(p *Plan) { p.Bucket = 360 },
		"widened within three": func(p *Plan) { p.Bucket = 1080 },
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
		"other bucket":    {func(p *Plan) { p.Bucket = 90 }, "bucket_s"},
		"narrower bucket": {func(p *Plan) { p.Bucket = 30 }, "bucket_s"},
		"still too many":  {func(p *Plan) { p.Bucket = 120 }, "bucket_s"},
		"too wide":        {func(p *Plan) { p.Bucket = 1200 }, "bucket_s"},
		"max_points":      {func(p *Plan) { p.MaxPoints = 1000 }, "max_points"},
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

func TestCheckRewriteWideningNeedsMaxPoints(t *testing.T) {
	orig := base()
	r := base()
	r.Bucket = 360
	err := CheckRewrite(&orig, &r)
	require.ErrorContains(t, err, "nothing to widen")
}

func TestCheckRewriteInKeepsTheData(t *testing.T) {
	c := testCatalog()
	c.Tables[1].RollupOf = "samples"
	c.Tables = append(c.Tables, Table{Name: "other_1h", Kind: KindRollup, ResolutionS: 3600, Measure: "value",
		RollupOf: "elsewhere", Funcs: []string{FuncAvg}, Columns: c.Tables[1].Columns})
	orig := base()
	orig.Bucket = 3600
	moved := orig
	moved.Source, moved.TimeColumn = "roll_1h", "bucket"
	require.NoError(t, CheckRewriteIn(c, &orig, &moved))
	back := orig
	require.NoError(t, CheckRewriteIn(c, &moved, &back))
	other := moved
	other.Source = "other_1h"
	require.ErrorContains(t, CheckRewriteIn(c, &orig, &other), "plan.source: other_1h does not hold the data of samples")
	bad := orig
	bad.Source = "system.users"
	require.ErrorContains(t, CheckRewriteIn(c, &orig, &bad), `unknown table "system.users"`)
}

func TestBuckets(t *testing.T) {
	require.Equal(t, int64(60), Buckets(TimeRange{From: 3600, To: 7200}, 60))
	require.Equal(t, int64(2), Buckets(TimeRange{From: 3000, To: 4000}, 3600))
	require.Equal(t, int64(0), Buckets(TimeRange{From: 0, To: 4000}, 3600))
	require.Equal(t, int64(0), Buckets(TimeRange{From: 10, To: 4000}, 0))
}
