package query

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/dialect"
)

// expanded is sql with kpiflow's expression macros expanded, for comparing a
// statement macro with the SELECT it stands for.
func expanded(t *testing.T, sql string, env MacroEnv) string {
	t.Helper()
	x, err := ExpandMacros(sql, env)
	require.NoError(t, err, sql)
	return x.SQL
}

// TestColumnsStatement: $__columns becomes the SELECT the official plugin
// documents for it, clause by clause.
func TestColumnsStatement(t *testing.T) {
	tests := []struct{ name, sql, want string }{
		{"plain", "$__columns(ts, team, count() AS n) FROM kpi_samples",
			"SELECT $__timeInterval(ts) AS t, toString(team) AS metric, count() AS n FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY t, metric ORDER BY t, metric"},
		{"the query's WHERE joins the time filter", "$__columns(ts, team, count() AS n) FROM kpi_samples WHERE metric = 'x' OR 1",
			"SELECT $__timeInterval(ts) AS t, toString(team) AS metric, count() AS n FROM kpi_samples WHERE $__timeFilter(ts) AND (metric = 'x' OR 1) GROUP BY t, metric ORDER BY t, metric"},
		{"key alias, value default", "$__columns(ts, team AS who, avg(value)) FROM kpi_samples",
			"SELECT $__timeInterval(ts) AS t, toString(team) AS who, avg(value) AS value FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY t, who ORDER BY t, who"},
		{"the query's ORDER BY, HAVING, LIMIT and SETTINGS", "$__columns(ts, team, count() AS n) from kpi_samples having n > 1 order by t desc limit 5 settings max_threads = 1;",
			"SELECT $__timeInterval(ts) AS t, toString(team) AS metric, count() AS n from kpi_samples WHERE $__timeFilter(ts) GROUP BY t, metric having n > 1 order by t desc limit 5 settings max_threads = 1"},
		{"PREWHERE stays with FROM, WITH before the macro stays", "WITH 2 AS k $__columns(ts, team, count() * k AS n) FROM kpi_samples PREWHERE metric = 'x'",
			"WITH 2 AS k SELECT $__timeInterval(ts) AS t, toString(team) AS metric, count() * k AS n FROM kpi_samples PREWHERE metric = 'x' WHERE $__timeFilter(ts) GROUP BY t, metric ORDER BY t, metric"},
		{"keywords in strings, comments, quotes and subqueries do not split", "$__columns(ts, `a AS b`, count()) FROM (SELECT * FROM kpi_samples WHERE 1) -- WHERE\nWHERE x = 'ORDER BY'",
			"SELECT $__timeInterval(ts) AS t, toString(`a AS b`) AS metric, count() AS value FROM (SELECT * FROM kpi_samples WHERE 1) -- WHERE\n WHERE $__timeFilter(ts) AND (x = 'ORDER BY') GROUP BY t, metric ORDER BY t, metric"},
		{"a line comment at the end of an argument or clause keeps its line end", "$__columns(ts -- time\n, team, count()) FROM kpi_samples -- all\n",
			"SELECT $__timeInterval(ts -- time\n) AS t, toString(team) AS metric, count() AS value FROM kpi_samples WHERE $__timeFilter(ts -- time\n) GROUP BY t, metric ORDER BY t, metric"},
	}
	env := macroEnv()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, expanded(t, tt.want, env), expanded(t, tt.sql, env))
		})
	}
}

func TestRateStatements(t *testing.T) {
	env := macroEnv()
	got := expanded(t, "$__perSecondColumns(ts, service AS s, value) FROM kpi_samples WHERE metric = 'requests' LIMIT 10", env)
	want := expanded(t, "SELECT kpiflow_p.1 AS t, s, if((toInt64(kpiflow_p.1) - toInt64(kpiflow_q.1)) = 0 OR (kpiflow_p.2 - kpiflow_q.2) < 0, nan, "+
		"(kpiflow_p.2 - kpiflow_q.2) / (toInt64(kpiflow_p.1) - toInt64(kpiflow_q.1))) AS value FROM ("+
		"SELECT s, arraySort(kpiflow_x -> kpiflow_x.1, groupArray((t, value))) AS kpiflow_points, "+
		"arrayMap(kpiflow_i -> kpiflow_points[if(kpiflow_i = 1, 1, kpiflow_i - 1)], arrayEnumerate(kpiflow_points)) AS kpiflow_prev FROM ("+
		"SELECT $__timeInterval(ts) AS t, toString(service) AS s, max(value) AS value FROM kpi_samples WHERE $__timeFilter(ts) AND (metric = 'requests') GROUP BY t, s"+
		") GROUP BY s) ARRAY JOIN kpiflow_points AS kpiflow_p, kpiflow_prev AS kpiflow_q ORDER BY t, s LIMIT 10", env)
	require.Equal(t, want, got)
	require.Contains(t, expanded(t, "$__rateColumns(ts, team, count()) FROM kpi_samples", env),
		"if((toInt64(kpiflow_p.1) - toInt64(kpiflow_q.1)) = 0, nan, kpiflow_p.2 / (toInt64(kpiflow_p.1) - toInt64(kpiflow_q.1))) AS value")
	require.Contains(t, expanded(t, "$__increaseColumns(ts, team, value) FROM kpi_samples", env), ", nan, toFloat64((kpiflow_p.2 - kpiflow_q.2))) AS value")
}

func TestLTTBStatement(t *testing.T) {
	env := macroEnv()
	env.Dialect = dialect.For(dialect.Version{Major: 23, Minor: 10})
	tests := []struct{ name, sql, want string }{
		{"plain", "$__lttb(100, ts, value) FROM kpi_samples WHERE metric = 'x'",
			"SELECT point.1 AS ts, point.2 AS value FROM (SELECT arrayJoin(lttb(100)(ts, value)) AS point FROM kpi_samples WHERE $__timeFilter(ts) AND (metric = 'x')) ORDER BY ts"},
		{"auto and expressions", "$__lttb(auto, toStartOfMinute(ts), value * 2) FROM kpi_samples",
			"SELECT point.1 AS x, point.2 AS y FROM (SELECT arrayJoin(lttb(3000)(toStartOfMinute(ts), value * 2)) AS point FROM kpi_samples WHERE $__timeFilter(toStartOfMinute(ts))) ORDER BY x"},
		{"aggregated first", "$__lttb(50, ts, avg(value) AS v) FROM kpi_samples GROUP BY ts",
			"SELECT point.1 AS ts, point.2 AS v FROM (SELECT arrayJoin(lttb(50)(ts, v)) AS point FROM (SELECT ts, avg(value) AS v FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY ts ORDER BY ts)) ORDER BY ts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, expanded(t, tt.want, env), expanded(t, tt.sql, env))
		})
	}
	_, err := ExpandMacros("$__lttb(100, ts, value) FROM kpi_samples", macroEnv())
	require.ErrorContains(t, err, "ClickHouse 0.0.0 does not have (23.10 and later do)")
	_, err = ExpandMacros("$__lttb(0, ts, value) FROM kpi_samples", env)
	require.ErrorContains(t, err, "positive whole number or auto")
}

func TestStatementErrors(t *testing.T) {
	tests := []struct{ sql, msg string }{
		{"$__columns(ts, k) FROM t", "expects three arguments"},
		{"$__columns(ts, k, v)", "starting with FROM"},
		{"$__columns(ts, k, v) FROM t GROUP BY k", "remove the query's GROUP BY"},
		{"$__columns(ts, k, v) FROM t ORDER BY t HAVING 1", "HAVING must come before ORDER BY"},
		{"$__columns FROM t", "expects three arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			_, err := ExpandMacros(tt.sql, macroEnv())
			require.ErrorContains(t, err, tt.msg)
		})
	}
}

// TestAdHocFiltersInSettings: the official form, SETTINGS
// $__adHocFilters('t'), is the additional_table_filters setting where the
// server has it; elsewhere it is dropped when no filter applies and refused
// when one does.
func TestAdHocFiltersInSettings(t *testing.T) {
	filters := []AdHocFilter{{Key: "team", Operator: "=", Value: "a'b"}, {Key: "other.x", Operator: "=", Value: "1"}}
	modern := macroEnv()
	modern.Dialect = dialect.For(dialect.Version{Major: 22, Minor: 7})
	modern.AdHocFilters = filters
	require.Equal(t, `SELECT 1 FROM kpi_samples SETTINGS additional_table_filters={'kpi_samples': 'toString(`+"`team`"+`) = \'a\\\'b\''}`,
		expanded(t, "SELECT 1 FROM kpi_samples SETTINGS $__adHocFilters('kpi_samples')", modern))
	other := modern
	other.AdHocFilters = filters[1:]
	require.Equal(t, "SELECT 1 SETTINGS max_threads = 1, additional_table_filters={}",
		expanded(t, "SELECT 1 SETTINGS max_threads = 1, $__adHocFilters('kpi_samples')", other))
	require.Equal(t, "SELECT 1 FROM t WHERE (toString(`team`) = 'a\\'b') SETTINGS additional_table_filters={'kpi_samples': 'toString(`team`) = \\'a\\\\\\'b\\''}",
		expanded(t, "SELECT 1 FROM t WHERE $__adHocFilters('t') SETTINGS $__adHocFilters('kpi_samples')", modern), "WHERE and SETTINGS in one query")

	old := macroEnv()
	for sql, want := range map[string]string{
		"SELECT 1 FROM t SETTINGS $__adHocFilters('t')":                   "SELECT 1 FROM t ",
		"SELECT 1 FROM t SETTINGS $__adHocFilters('t'), max_threads = 1":  "SELECT 1 FROM t SETTINGS  max_threads = 1",
		"SELECT 1 FROM t SETTINGS max_threads = 1 , $__adHocFilters('t')": "SELECT 1 FROM t SETTINGS max_threads = 1 ",
		"SELECT (SELECT 1 SETTINGS $__adHocFilters('t')) SETTINGS a = 1":  "SELECT (SELECT 1 ) SETTINGS a = 1",
		"SELECT $__adHocFilters('t') AS settings, 1 SETTINGS a = 1":       "SELECT 1=1 AS settings, 1 SETTINGS a = 1",
		"SELECT count() FROM system.settings WHERE $__adHocFilters('t')":  "SELECT count() FROM system.settings WHERE 1=1",
	} {
		require.Equal(t, want, expanded(t, sql, old), sql)
	}
	old.AdHocFilters = filters
	_, err := ExpandMacros("SELECT 1 FROM kpi_samples SETTINGS $__adHocFilters('kpi_samples')", old)
	require.ErrorContains(t, err, "additional_table_filters setting, which ClickHouse 0.0.0 does not have (22.7 and later do); write WHERE $__adHocFilters('kpi_samples') instead")
	old.AdHocFilters = filters[1:]
	require.Equal(t, "SELECT 1 FROM t ", expanded(t, "SELECT 1 FROM t SETTINGS $__adHocFilters('t')", old), "no filter for t")
}

func TestExpansionNotices(t *testing.T) {
	env := macroEnv()
	x, err := ExpandMacros("SELECT 1 WHERE $__timeFilter_ms(ts) AND ts > $__fromTime_ms", env)
	require.NoError(t, err)
	require.Equal(t, []string{
		"$__timeFilter_ms: ClickHouse 0.0.0 has no DateTime64, so the range start 2026-11-23T10:00:00.25Z was rounded up to 2026-11-23T10:00:01Z (whole seconds, inward: a DateTime column, whose values are whole seconds, keeps the same rows).",
		"$__timeFilter_ms: ClickHouse 0.0.0 has no DateTime64, so the range end 2026-11-24T11:00:00.75Z was rounded down to 2026-11-24T11:00:00Z (whole seconds, inward: a DateTime column, whose values are whole seconds, keeps the same rows).",
		"$__fromTime_ms: ClickHouse 0.0.0 has no DateTime64, so the range start 2026-11-23T10:00:00.25Z was rounded up to 2026-11-23T10:00:01Z (whole seconds, inward: a DateTime column, whose values are whole seconds, keeps the same rows).",
	}, x.Notices)

	whole := env
	whole.From, whole.To = env.From.Truncate(1e9), env.To.Truncate(1e9)
	x, err = ExpandMacros("SELECT $__fromTime_ms, $__timeInterval_ms(ts)", whole)
	require.NoError(t, err)
	require.Empty(t, x.Notices, "nothing rounded, nothing said")

	whole.Interval = 1500 * 1e6
	x, err = ExpandMacros("SELECT $__timeInterval_ms(ts)", whole)
	require.NoError(t, err)
	require.Equal(t, []string{"$__timeInterval_ms: ClickHouse 0.0.0 has no DateTime64, so each 1500 ms bucket is labelled with its start rounded down to the whole second."}, x.Notices)

	modern := env
	modern.Dialect = dialect.For(dialect.Version{Major: 20, Minor: 5})
	x, err = ExpandMacros("SELECT $__fromTime_ms", modern)
	require.NoError(t, err)
	require.Empty(t, x.Notices)

	env.AdHocFilters = []AdHocFilter{{Key: "team", Operator: "=", Value: "a"}}
	x, err = ExpandMacros("SELECT 1 -- $__adHocFilters('t')", env)
	require.NoError(t, err)
	require.Equal(t, []string{"The dashboard's 1 ad hoc filter(s) are not applied: this query has no $__adHocFilters('table'). Add WHERE $__adHocFilters('table') where they should apply."}, x.Notices)
}
