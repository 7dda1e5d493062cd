package conformance

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/internal/chdb"
	"github.com/kpiflow/kpiflow/pkg/query"
)

func TestKind(t *testing.T) {
	for typ, want := range map[string]string{
		"LowCardinality(String)":             "string",
		"Nullable(Float64)":                  "number",
		"Enum8('todo' = 1, 'done' = 3)":      "string",
		"DateTime('UTC')":                    "time",
		"DateTime64(3)":                      "time",
		"Date":                               "date",
		"Array(LowCardinality(String))":      "array(string)",
		"UInt64":                             "number",
		"AggregateFunction(count)":           "other:AggregateFunction(count)",
		"LowCardinality(Nullable(String))":   "string",
		"Nullable(DateTime('Europe/Paris'))": "time",
	} {
		require.Equal(t, want, kind(typ), typ)
	}
}

func raw(cells ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(cells))
	for i, c := range cells {
		out[i] = json.RawMessage(c)
	}
	return out
}

func TestFromChDB(t *testing.T) {
	res := &chdb.Result{
		Names: []string{"t", "d", "n", "f", "s", "a", "z"},
		Types: []string{"DateTime", "Date", "UInt64", "Float64", "LowCardinality(String)", "Array(String)", "Nullable(DateTime64(3, 'UTC'))"},
		Rows: [][]json.RawMessage{
			raw(`"2026-11-20 00:00:01"`, `"2026-11-17"`, `18`, `"nan"`, `"x"`, `["a","b"]`, `"2026-11-20 00:00:00.250"`),
			raw(`"2026-11-20 00:00:02"`, `"2026-11-18"`, `"19"`, `0.25`, `""`, `[]`, `null`),
		},
	}
	tab, err := FromChDB(res, time.UTC)
	require.NoError(t, err)
	require.Equal(t, []string{"time", "date", "number", "number", "string", "array(string)", "time"}, tab.Kinds)
	require.Equal(t, float64(Now.UnixMilli()+1000), tab.Rows[0][0])
	require.Equal(t, float64(time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC).UnixMilli()), tab.Rows[0][1])
	require.True(t, math.IsNaN(tab.Rows[0][3].(float64)))
	require.Equal(t, []any{"a", "b"}, tab.Rows[0][5])
	require.Equal(t, float64(Now.UnixMilli()+250), tab.Rows[0][6])
	require.Equal(t, 19.0, tab.Rows[1][2])
	require.Nil(t, tab.Rows[1][6])
}

func TestDiff(t *testing.T) {
	table := func(rows ...[]any) *Table {
		return &Table{Names: []string{"k", "v"}, Kinds: []string{"string", "number"}, Types: []string{"String", "Float64"}, Rows: rows}
	}
	want := table([]any{"a", 1.0}, []any{"b", math.NaN()})
	require.Empty(t, Diff(want, table([]any{"a", 1.0}, []any{"b", math.NaN()}), Tolerance{}, nil, 5))
	require.Equal(t, []string{"row 1 column v: 18.16 1, modern 1.5"}, Diff(want, table([]any{"a", 1.5}, []any{"b", math.NaN()}), Tolerance{}, nil, 5))
	require.Equal(t, []string{"rows: 18.16 2, modern 1"}, Diff(want, table([]any{"a", 1.0}), Tolerance{}, nil, 5))
	typed := table([]any{"a", "1"}, []any{"b", math.NaN()})
	typed.Kinds, typed.Types = []string{"string", "string"}, []string{"String", "String"}
	require.Contains(t, Diff(want, typed, Tolerance{}, nil, 5), "column v: 18.16 type Float64, modern String")

	tol := Tolerance{Column: "v", Why: "estimate"}
	band := &Table{Names: []string{"k", "lo", "hi"}, Rows: [][]any{{"a", 0.5, 2.0}, {"b", 0.0, 1.0}}}
	require.Empty(t, Diff(want, table([]any{"a", 1.75}, []any{"b", float64(float32(1.0000001))}), tol, band, 5))
	require.Equal(t, []string{"row 2 column v: modern 3 outside [0, 1] (estimate); 18.16 NaN"},
		Diff(want, table([]any{"a", 1.75}, []any{"b", 3.0}), tol, band, 5))
}

func TestDifferencesName(t *testing.T) {
	cases, err := Official(dialect.For(dialect.Version{Major: 24, Minor: 8}))
	require.NoError(t, err)
	names := map[string]bool{}
	for _, c := range cases {
		names[c.Name] = true
	}
	for _, d := range Differences() {
		require.True(t, names[d.Case], "difference names no case: %s", d.Case)
		require.NotEmpty(t, d.Reason)
	}
}

// Cases build for the oldest and a current server, with the same names, and
// every raw SQL macro has a query (a new macro fails here until it has one).
func TestCases(t *testing.T) {
	teams := map[string]string{"acme": "", "product": "acme", "checkout": "product"}
	old, err := Cases(dialect.For(dialect.Version{Major: 18, Minor: 16, Patch: 1}), teams)
	require.NoError(t, err)
	cur, err := Cases(dialect.For(dialect.Version{Major: 26, Minor: 7}), teams)
	require.NoError(t, err)
	require.Equal(t, len(old), len(cur))
	seen := map[string]bool{}
	for i := range old {
		require.Equal(t, old[i].Name, cur[i].Name)
		require.False(t, seen[old[i].Name], "case %s twice", old[i].Name)
		seen[old[i].Name] = true
	}
	for _, m := range query.MacroNames() {
		require.Contains(t, MacroSQL(), m)
	}
	official, err := Official(dialect.For(dialect.Version{Major: 26, Minor: 7}))
	require.NoError(t, err)
	for _, c := range official {
		require.True(t, seen[c.Reference()], "%s compares with %s, which is no case", c.Name, c.Reference())
	}
}

func TestOfficialAdHoc(t *testing.T) {
	got := officialAdHoc("kpi_samples", officialAdHocFilters([]query.AdHocFilter{
		{Key: "team", Operator: "=~", Value: "^a'b"},
		{Key: "kpi_samples.project", Operator: "=|", Values: []string{"X", "Y"}},
		{Key: "metric", Operator: "!~", Value: "^b"},
		{Key: "other.team", Operator: "=", Value: "z"},
	}))
	require.Equal(t, `settings additional_table_filters={'kpi_samples' : ' team REGEXP \'^a\\\'b\' AND project IN (\'X\', \'Y\') '}`, got)
}
