package query

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/dialect"
)

func macroEnv() MacroEnv {
	return MacroEnv{
		From:     time.Date(2026, 11, 23, 10, 0, 0, 250e6, time.UTC), // 1795428000.250
		To:       time.Date(2026, 11, 24, 11, 0, 0, 750e6, time.UTC), // 1795518000.750
		Interval: 30 * time.Second,
	}
}

func TestExpandMacros(t *testing.T) {
	tests := []struct {
		name, sql, want string
		env             func(*MacroEnv)
	}{
		{"timeFilter", "WHERE $__timeFilter(ts)", "WHERE ts >= toDateTime(1795428000) AND ts <= toDateTime(1795518000)", nil},
		{"timeFilter expression", "WHERE $__timeFilter( toDateTime(t, 'UTC') )",
			"WHERE toDateTime(t, 'UTC') >= toDateTime(1795428000) AND toDateTime(t, 'UTC') <= toDateTime(1795518000)", nil},
		{"timeFilter_ms rounds inward on 18.16", "WHERE $__timeFilter_ms(ts)",
			"WHERE ts >= toDateTime(1795428001) AND ts <= toDateTime(1795518000)", nil},
		{"timeFilter_ms with DateTime64", "WHERE $__timeFilter_ms(ts)",
			"WHERE ts >= fromUnixTimestamp64Milli(toInt64(1795428000250)) AND ts <= fromUnixTimestamp64Milli(toInt64(1795518000750))",
			func(e *MacroEnv) { e.Dialect = dialect.For(dialect.Version{Major: 20, Minor: 5}) }},
		{"dateFilter", "WHERE $__dateFilter(d)", "WHERE toDateTime(d) >= toDateTime(toDate('2026-11-23')) AND toDateTime(d) <= toDateTime(toDate('2026-11-24'))", nil},
		{"timeInterval", "SELECT $__timeInterval(ts) AS t", "SELECT toDateTime(intDiv(toUInt32(toDateTime(ts)), 30) * 30) AS t", nil},
		{"timeInterval at least 1s", "$__timeInterval(ts)", "toDateTime(intDiv(toUInt32(toDateTime(ts)), 1) * 1)",
			func(e *MacroEnv) { e.Interval = 20 * time.Millisecond }},
		{"timeInterval_ms is a DateTime on 18.16", "$__timeInterval_ms(ts)", "toDateTime(intDiv(toUInt32(toDateTime(ts)), 30) * 30)", nil},
		{"timeInterval_ms is a DateTime64 where the server has it", "$__timeInterval_ms(ts)",
			"fromUnixTimestamp64Milli(toInt64(intDiv(toUnixTimestamp64Milli(toDateTime64(ts, 3)), 30000) * 30000))",
			func(e *MacroEnv) { e.Dialect = dialect.For(dialect.Version{Major: 20, Minor: 5}) }},
		{"dateTimeFilter", "WHERE $__dateTimeFilter(d, t)", "WHERE (toDateTime(d) >= toDateTime(toDate('2026-11-23')) AND toDateTime(d) <= toDateTime(toDate('2026-11-24'))) " +
			"AND (t >= toDateTime(1795428000) AND t <= toDateTime(1795518000))", nil},
		{"dt", "$__dt(d,t)", "(toDateTime(d) >= toDateTime(toDate('2026-11-23')) AND toDateTime(d) <= toDateTime(toDate('2026-11-24'))) " +
			"AND (t >= toDateTime(1795428000) AND t <= toDateTime(1795518000))", nil},
		{"timeFrom timeTo", "$__timeFrom(ts) AND $__timeTo(ts)", "ts >= toDateTime(1795428000) AND ts <= toDateTime(1795518000)", nil},
		{"timeGroup", "$__timeGroup(ts, 5m)", "toDateTime(intDiv(toUInt32(toDateTime(ts)), 300) * 300)", nil},
		{"timeGroup quoted, days", "$__timeGroup(ts, '1d')", "toDateTime(intDiv(toUInt32(toDateTime(ts)), 86400) * 86400)", nil},
		{"interval", "$__interval", "30s", nil},
		{"interval in minutes", "$__interval", "5m", func(e *MacroEnv) { e.Interval = 5 * time.Minute }},
		{"table column", "SELECT $__column FROM $__table", "SELECT value FROM kpi_samples",
			func(e *MacroEnv) { e.Table, e.Column = "kpi_samples", "value" }},
		{"interval_s", "INTERVAL $__interval_s SECOND", "INTERVAL 30 SECOND", nil},
		{"interval_s with empty parens", "$__interval_s()", "30", nil},
		{"interval_ms", "$__interval_ms", "30000", nil},
		{"fromTime toTime", "$__fromTime, $__toTime", "toDateTime(1795428000), toDateTime(1795518000)", nil},
		{"fromTime_ms toTime_ms", "$__fromTime_ms,$__toTime_ms", "toDateTime(1795428001),toDateTime(1795518000)", nil},
		{"from to", "$__from $__to", "1795428000250 1795518000750", nil},
		{"conditionalAll restricts", "WHERE $__conditionalAll(team IN ('a','b'), 'a','b')", "WHERE team IN ('a','b')", nil},
		{"conditionalAll all marker", "WHERE $__conditionalAll(team IN ($__all), $__all)", "WHERE 1=1", nil},
		{"conditionalAll empty", "WHERE $__conditionalAll(team = '', '')", "WHERE 1=1", nil},
		{"conditionalAll unexpanded variable", "WHERE $__conditionalAll(team IN (${team:sqlstring}), ${team:sqlstring})", "WHERE 1=1", nil},
		{"conditionalAll nested macro", "WHERE $__conditionalAll($__timeFilter(ts) AND team = 'x', 'x')",
			"WHERE ts >= toDateTime(1795428000) AND ts <= toDateTime(1795518000) AND team = 'x'", nil},
		{"arguments keep quotes and parentheses", "$__timeFilter(if(x = ')', a, b))",
			"if(x = ')', a, b) >= toDateTime(1795428000) AND if(x = ')', a, b) <= toDateTime(1795518000)", nil},
		{"no filters", "WHERE $__adHocFilters('kpi_samples')", "WHERE 1=1", nil},
		{"adHocFilters", "WHERE $__adHocFilters('kpi_samples')",
			"WHERE (toString(`team`) = 'a\\'b' AND `value` > 2.5 AND match(toString(`service`), '^api') AND toString(`env`) IN ('prod', 'x\\x24__y'))",
			func(e *MacroEnv) {
				e.AdHocFilters = []AdHocFilter{
					{Key: "team", Operator: "=", Value: "a'b"},
					{Key: "value", Operator: ">", Value: "2.5"},
					{Key: "service", Operator: "=~", Value: "^api"},
					{Key: "other_table.x", Operator: "=", Value: "skipped"},
					{Key: "kpi_samples.env", Operator: "=|", Values: []string{"prod", "x$__y"}},
				}
			}},
		{"adHocFilters db.table", "$__adHocFilters('kpiflow.kpi_samples')", "(toString(`team`) != 'a')",
			func(e *MacroEnv) {
				e.AdHocFilters = []AdHocFilter{{Key: "kpi_samples.team", Operator: "!=", Value: "a"}}
			}},
		{"adHocFilters for several tables", "$__adHocFilters('a', \"b\")", "(toString(`x`) = '1' AND toString(`y`) = '2')",
			func(e *MacroEnv) {
				e.AdHocFilters = []AdHocFilter{{Key: "a.x", Operator: "=", Value: "1"}, {Key: "b.y", Operator: "=", Value: "2"}, {Key: "c.z", Operator: "=", Value: "3"}}
			}},
		{"no macros", "SELECT '$' || 'x', 1", "SELECT '$' || 'x', 1", nil},
		{"strings, identifiers and comments are left alone", "SELECT '$__fromTime', \"$__x\", `$__y`, $$ $__z $$ -- $__nope(\n/* $__nope */ $__toTime",
			"SELECT '$__fromTime', \"$__x\", `$__y`, $$ $__z $$ -- $__nope(\n/* $__nope */ toDateTime(1795518000)", nil},
		{"macro glued to a word", "x$__interval_s", "x30", nil},
		{"macro argument with brackets", "$__timeFilter(arr[1])", "arr[1] >= toDateTime(1795428000) AND arr[1] <= toDateTime(1795518000)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := macroEnv()
			if tt.env != nil {
				tt.env(&env)
			}
			got, err := ExpandMacros(tt.sql, env)
			require.NoError(t, err)
			require.Equal(t, tt.want, got.SQL)
		})
	}
}

func TestExpandMacrosErrors(t *testing.T) {
	tests := []struct{ sql, macro, msg string }{
		{"SELECT $__nope(ts)", "$__nope", "unknown macro"},
		{"SELECT $__timeFilter", "$__timeFilter", "expects one argument"},
		{"SELECT $__timeFilter()", "$__timeFilter", "expects one argument"},
		{"SELECT $__timeFilter(a, b)", "$__timeFilter", "expects one argument"},
		{"SELECT $__timeFilter(ts", "$__timeFilter", "missing closing parenthesis"},
		{"SELECT $__fromTime(1)", "$__fromTime", "takes no arguments"},
		{"SELECT $__conditionalAll(x)", "$__conditionalAll", "expects at least two arguments, as in $__conditionalAll(condition, $variable...)"},
		{"SELECT $__adHocFilters()", "$__adHocFilters", "expects at least one argument, as in $__adHocFilters('table'...)"},
		{"SELECT $__adHocFilters('a b')", "$__adHocFilters", "table names"},
		{"SELECT $__timeGroup(ts)", "$__timeGroup", "expects two arguments, as in $__timeGroup(col, period)"},
		{"SELECT $__timeGroup(ts, fortnight)", "$__timeGroup", "is not a duration"},
		{"SELECT $__timeGroup(ts, 100ms)", "$__timeGroup", "under a second"},
		{"SELECT $__table", "$__table", `no "table" field`},
		{"SELECT $__timeFilter(a, )", "$__timeFilter", "expects one argument"},
		{"SELECT $__interval_s$x", "$__interval_s", "put a space before the $"},
		{"SELECT $__timeFilter(ts]", "$__timeFilter", "brackets do not match"},
		{"SELECT ($__columns(ts, k, v) FROM t)", "$__columns", "top level"},
		{"$__columns(ts, k, v) FROM t UNION ALL $__lttb(10, x, y) FROM t", "$__lttb", "one statement macro"},
		{"SELECT 1, $__timeFilter($__columns(a, b, c))", "$__columns", "top level"},
		{"SELECT $__", "$__", "macro name"},
		{"SELECT $_$__conditionalAll(_fromTime, 'x')", "$__", "still contains"},
		{"SELECT $__timeFilter($__nope)", "$__nope", "unknown macro"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			_, err := ExpandMacros(tt.sql, macroEnv())
			var me *MacroError
			require.ErrorAs(t, err, &me)
			require.Equal(t, tt.macro, me.Macro)
			require.Contains(t, err.Error(), tt.msg)
			require.True(t, strings.HasPrefix(err.Error(), "rawSql: "), "errors name the field")
		})
	}
}

func TestParseSQLQuery(t *testing.T) {
	q, err := ParseSQLQuery([]byte(`{"refId":"A","queryType":"sql","rawSql":"SELECT 1","datasource":{"uid":"x"},"intervalMs":1000,"maxDataPoints":100}`))
	require.NoError(t, err)
	require.Equal(t, "SELECT 1", q.RawSQL)
	require.Equal(t, FormatTable, q.Format)

	q, err = ParseSQLQuery([]byte(`{"rawSql":"SELECT 1","format":"timeseries","adhocFilters":[{"key":"team","operator":"=","value":"a"}]}`))
	require.NoError(t, err)
	require.Equal(t, FormatTimeSeries, q.Format)
	require.Len(t, q.AdHocFilters, 1)

	bad := []struct{ json, field string }{
		{`{}`, "rawSql"},
		{`{"rawSql":"  "}`, "rawSql"},
		{`{"rawSql":"SELECT 1","format":"graph"}`, "format"},
		{`{"rawSql":"SELECT 1","rawSQL":"x"}`, "rawSQL"},
		{`{"rawSql":"SELECT 1","adhocFilters":[{"key":"a","operator":"=","value":"x","Value":"y"}]}`, "adhocFilters[0].Value"},
		{`{"rawSql":1}`, "rawSql"},
		{`{"rawSql":"SELECT 1","adhocFilters":[{"key":"a;b","operator":"=","value":"x"}]}`, "adhocFilters[0].key"},
		{`{"rawSql":"SELECT 1","adhocFilters":[{"key":"a","operator":"LIKE","value":"x"}]}`, "adhocFilters[0].operator"},
		{`[1]`, "query"},
	}
	for _, tt := range bad {
		t.Run(tt.json, func(t *testing.T) {
			_, err := ParseSQLQuery([]byte(tt.json))
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
		})
	}
}

func FuzzExpandMacros(f *testing.F) {
	for _, s := range []string{
		"SELECT $__timeInterval(ts) AS t, count() FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY t ORDER BY t",
		"$__conditionalAll(team IN ('a'), 'a') AND $__adHocFilters('kpi_samples')",
		"$__timeFilter_ms(ts) $__dateFilter(d) $__fromTime_ms $__toTime_ms $__interval_s $__timeInterval_ms(x)",
		"$__timeFilter(if(x=')',(a),b))", "$__conditionalAll($__conditionalAll(1, 2), '')", "$_$__from", "$__",
		"$__timeFilter('\\'')", "$__conditionalAll(``, `)`)", "'$__x' -- $__y\n$__z", "SELECT 1 SETTINGS $__adHocFilters('t')",
		"$__rateColumns(ts, k, count()) FROM t WHERE x ORDER BY t LIMIT 3", "$__lttb(auto, ts, v) FROM t GROUP BY ts",
	} {
		f.Add(s)
	}
	env := macroEnv()
	env.AdHocFilters = []AdHocFilter{{Key: "team", Operator: "=", Value: "$__timeFilter(x)"}}
	names := MacroNames()
	f.Fuzz(func(t *testing.T, sql string) {
		out, err := ExpandMacros(sql, env)
		if err != nil {
			return
		}
		toks, err := Tokenize(out.SQL)
		if err != nil {
			t.Fatalf("ExpandMacros(%q) = %q, which does not tokenize: %v", sql, out.SQL, err)
		}
		for _, tk := range toks {
			for _, n := range names {
				if tk.Kind == TokenWord && strings.Contains(tk.Text, n) {
					t.Fatalf("ExpandMacros(%q) = %q still contains %s", sql, out.SQL, n)
				}
			}
		}
	})
}

func FuzzParseSQLQuery(f *testing.F) {
	for _, s := range []string{
		`{"rawSql":"SELECT 1"}`, `{"rawSql":"SELECT 1","format":"timeseries"}`, `{"rawSql":1}`, `null`, `[]`, ``,
		`{"rawSql":"x","adhocFilters":[{"key":"a","operator":"=|","values":["x"]}]}`, `{"rawSql":"x","adhocFilters":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		q, err := ParseSQLQuery(raw)
		if err != nil {
			return
		}
		if strings.TrimSpace(q.RawSQL) == "" || (q.Format != FormatTable && q.Format != FormatTimeSeries) {
			t.Fatalf("ParseSQLQuery(%q) accepted %+v", raw, q)
		}
		for _, af := range q.AdHocFilters {
			if !adHocKeyRe.MatchString(af.Key) {
				t.Fatalf("accepted ad hoc key %q", af.Key)
			}
		}
	})
}
