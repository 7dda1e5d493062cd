package plan

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCloneEdges: the shapes the builders' corpus (query's
// TestCloneIsTheJSONRoundTrip) may not reach, each equal to its JSON round trip.
func TestCloneEdges(t *testing.T) {
	inner := Plan{Source: "task_events", TimeColumn: "ts", GroupBy: []GroupKey{{Column: "task_id", Alias: "task_id"}},
		Aggregations: []Aggregation{{Func: FuncMin, Column: "ts", Alias: "started", Where: []Filter{{Column: "state", Op: OpEq, Values: Strings("a")}}}}}
	for _, tc := range []struct {
		name string
		p    Plan
	}{
		{"zero plan", Plan{}},
		{"empty omitempty slices become nil", Plan{Source: "t", Columns: []string{}, Aggregations: []Aggregation{}, Filters: []Filter{},
			GroupBy: []GroupKey{}, OrderBy: []Order{}}},
		{"empty lists inside", Plan{Source: "t", Aggregations: []Aggregation{{Func: FuncCount, Alias: "n", Where: []Filter{}, Args: []float64{}}},
			Filters: []Filter{{Column: "c", Op: OpIsNull, Values: []Value{}}}}},
		{"remap keeps [] and null apart", Plan{Source: "t", GroupBy: []GroupKey{
			{Column: "team", Alias: "a", Remap: &Remap{From: []string{}, To: []string{}}},
			{Column: "team", Alias: "b", Remap: &Remap{}},
			{Column: "team", Alias: "c", Remap: &Remap{From: []string{"x"}, To: []string{"y"}}}}}},
		{"values are rebuilt", Plan{Source: "t", Filters: []Filter{{Column: "c", Op: OpIn,
			Values: []Value{{str: "left over", num: 2, isNum: true}, {str: "s", num: 3}, Number(-0.5), String("")}}}}},
		{"ref", Plan{Source: "t", Filters: []Filter{{Column: "c", Op: OpInColumnOf, Ref: &ColumnRef{Table: "u", Column: "d"}}}}},
		{"nested", Plan{From: &inner, TimeColumn: "started", TimeRange: TimeRange{From: 1, To: 2}, Bucket: 60, Limit: 3, MaxPoints: 4,
			Aggregations: []Aggregation{{Func: FuncQuantile, Column: "started", Args: []float64{0.5}, Alias: "q"}},
			OrderBy:      []Order{{Column: "time", Desc: true}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := json.Marshal(tc.p)
			require.NoError(t, err)
			var back Plan
			require.NoError(t, json.Unmarshal(raw, &back))
			require.Equal(t, back, tc.p.Clone())
		})
	}
}
