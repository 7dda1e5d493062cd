package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
)

// Case is one query the plugin generates, spelled for one dialect.
type Case struct {
	// Name identifies the query across dialects ("kpi/kpi_rollup_1h/p95").
	Name string
	// SQL and Args are what the plugin hands clickhouse-go.
	SQL  string
	Args []any
	// Tol is the tolerance for approximate aggregates (zero: equal).
	Tol Tolerance
	// Like names the 18.16 case whose answer this one must give ("" for
	// Name): the official plugin's spellings are held to kpiflow's answers.
	Like string
}

// Reference is the name of the 18.16 case c is compared with.
func (c Case) Reference() string {
	if c.Like != "" {
		return c.Like
	}
	return c.Name
}

// builderEnv is the request every builder case is built for: the dataset's
// window, Grafana's defaults for a panel, the data source's default row cap.
func builderEnv(teams map[string]string) query.Env {
	return query.Env{From: Now.Add(-10 * 24 * time.Hour), To: Now, Interval: time.Minute, MaxDataPoints: 1000,
		MaxRows: settings.DefaultMaxRows, TeamParents: teams, Catalog: query.Catalog()}
}

// kpiTables maps each table a kpi query can be answered from to an
// interval that makes ChooseKPISource pick it.
func kpiTables() []struct{ table, interval string } {
	out := []struct{ table, interval string }{{schema.KPIRollup().Source, "30s"}}
	for _, r := range schema.RollupResolutions() {
		out = append(out, struct{ table, interval string }{schema.RollupName(r), fmt.Sprintf("%ds", r)})
	}
	return out
}

// Cases lists every query shape of the builder query types and of raw SQL's
// macros, spelled for dialect d. teams is the dataset's team tree (team to
// parent), which teamLevel groupings read.
func Cases(d dialect.Dialect, teams map[string]string) ([]Case, error) {
	var out []Case
	add := func(name, typ string, body map[string]any, interval time.Duration, wantSource string) error {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		q, err := query.Parse(typ, raw)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		env := builderEnv(teams)
		if interval > 0 {
			env.Interval = interval
		}
		// The plugin's pipeline: builder, rewrite chain (the rollup choice), SQL.
		pq, err := query.Pipeline{Rewriters: []query.Rewriter{query.RollupRewriter()}}.Prepare(context.Background(), q, env)
		if err != nil {
			return fmt.Errorf("%s: prepare: %w", name, err)
		}
		if wantSource != "" && pq.Plan.Source != wantSource {
			return fmt.Errorf("%s: expected the plan to read %s, it reads %s (update the case list)", name, wantSource, pq.Plan.Source)
		}
		tol, err := tolerance(pq.Plan, env.Catalog)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, Case{Name: name, SQL: pq.SQL, Args: pq.Args, Tol: tol})
		return nil
	}
	metrics := []string{"error_rate", "latency_p95_ms", "build_duration_s"}
	kpi := func(extra map[string]any) map[string]any {
		body := map[string]any{"metrics": metrics, "aggregation": "avg", "groupBy": []string{"team"}}
		for k, v := range extra {
			body[k] = v
		}
		return body
	}
	// Every aggregation on every table choice.
	for _, tc := range kpiTables() {
		for _, agg := range query.KPIAggregationNames() {
			if err := add("kpi/"+tc.table+"/"+agg, query.TypeKPI, kpi(map[string]any{"aggregation": agg, "interval": tc.interval}), 0, tc.table); err != nil {
				return nil, err
			}
		}
	}
	// Groupings and filters, on the table they make the query read.
	variants := []struct {
		name, source string
		extra        map[string]any
	}{
		{"group/dimensions", "kpi_rollup_1h", map[string]any{"groupBy": []string{"project", "service", "environment"}, "interval": "1h"}},
		{"group/team_level", "kpi_rollup_1h", map[string]any{"groupBy": []string{"teamLevel:1", "team"}, "interval": "1h"}},
		{"group/label", "kpi_samples", map[string]any{"groupBy": []string{"label:region"}, "interval": "1h"}},
		{"group/none_default_interval", "kpi_samples", map[string]any{"groupBy": []string{}}},
		{"filter/eq_ne", "kpi_rollup_1h", map[string]any{"interval": "1h", "filters": []map[string]any{
			{"key": "environment", "operator": "=", "value": "production"}, {"key": "service", "operator": "!=", "value": "gateway"}}}},
		{"filter/regex", "kpi_rollup_1h", map[string]any{"interval": "1h", "filters": []map[string]any{
			{"key": "service", "operator": "=~", "value": "^check"}, {"key": "project", "operator": "!~", "value": "^INF"}}}},
		{"filter/in", "kpi_rollup_1h", map[string]any{"interval": "1h", "filters": []map[string]any{
			{"key": "team", "operator": "in", "value": []string{"checkout", "infra"}}, {"key": "project", "operator": "not in", "value": []string{"X"}}}}},
		{"filter/label_source", "kpi_samples", map[string]any{"interval": "1h", "filters": []map[string]any{
			{"key": "label:region", "operator": "=", "value": "eu-west-1"}, {"key": "source", "operator": "=", "value": "prometheus"}}}},
		{"filter/adhoc", "kpi_rollup_1h", map[string]any{"interval": "1h", "adhocFilters": []map[string]any{
			{"key": "team", "operator": "=|", "values": []string{"checkout"}}}}},
		{"format/table", "kpi_rollup_1h", map[string]any{"interval": "1h", "format": "table", "aggregation": "p90"}},
	}
	for _, v := range variants {
		if err := add("kpi/"+v.name, query.TypeKPI, kpi(v.extra), 0, v.source); err != nil {
			return nil, err
		}
	}
	// DORA: every metric as a series and as a table, and every grouping.
	for _, m := range query.DORAMetrics() {
		for _, format := range []string{query.FormatTimeSeries, query.FormatTable} {
			if err := add("dora/"+m+"/"+format, query.TypeDORA, map[string]any{"metric": m, "format": format}, 24*time.Hour, ""); err != nil {
				return nil, err
			}
		}
		groups := []string{"team", "service", "environment"}
		if m == query.TimeToRestore {
			groups = groups[:2]
		}
		if err := add("dora/"+m+"/grouped", query.TypeDORA, map[string]any{"metric": m, "format": query.FormatTable, "groupBy": groups}, 0, ""); err != nil {
			return nil, err
		}
	}
	if err := add("dora/deployment_frequency/staging", query.TypeDORA, map[string]any{"metric": query.DeploymentFrequency, "environment": "staging", "format": query.FormatTable}, 0, ""); err != nil {
		return nil, err
	}
	// Taskflow: every view, unscoped and scoped.
	for _, v := range query.Views() {
		if err := add("taskflow/"+v, query.TypeTaskflow, map[string]any{"view": v}, 0, ""); err != nil {
			return nil, err
		}
		if err := add("taskflow/"+v+"/scoped", query.TypeTaskflow, map[string]any{"view": v, "teams": []string{"checkout"}, "projects": []string{"CHK"}}, 0, ""); err != nil {
			return nil, err
		}
	}
	if err := add("taskflow/cycle_time/percentiles", query.TypeTaskflow, map[string]any{"view": query.ViewCycleTime, "percentiles": []float64{10, 50, 99.9}}, 0, ""); err != nil {
		return nil, err
	}
	macros, err := macroCases(d)
	if err != nil {
		return nil, err
	}
	return append(out, macros...), nil
}

// macroEnv is the raw SQL request: a range with milliseconds (so the _ms
// macros' rounding matters) inside the dataset's window, a 5-minute interval.
func macroEnv(d dialect.Dialect) query.MacroEnv {
	return query.MacroEnv{
		From: Now.Add(-3*24*time.Hour + 1234*time.Millisecond), To: Now.Add(-24*time.Hour - 567*time.Millisecond),
		Interval: 5 * time.Minute, AdHocFilters: adHocFilters(), Table: "kpi_samples", Column: "value", Dialect: d,
	}
}

// adHocFilters use every operator Grafana sends.
func adHocFilters() []query.AdHocFilter {
	return []query.AdHocFilter{
		{Key: "environment", Operator: "=", Value: "production"},
		{Key: "kpi_samples.service", Operator: "!=", Value: "gateway"},
		{Key: "team", Operator: "=~", Value: "^(checkout|infra)$"},
		{Key: "metric", Operator: "!~", Value: "^build"},
		{Key: "value", Operator: ">", Value: "0.25"},
		{Key: "value", Operator: "<=", Value: "100000"},
		{Key: "value", Operator: ">=", Value: "0"},
		{Key: "value", Operator: "<", Value: "1e9"},
		{Key: "project", Operator: "=|", Values: []string{"CHK", "INF"}},
		{Key: "source", Operator: "!=|", Values: []string{"ci"}},
		{Key: "other_table.team", Operator: "=", Value: "nobody"},
	}
}

// MacroQuery is one raw SQL query of the macro corpus: kpiflow's query and
// what the official ClickHouse data source (grafana/clickhouse-datasource
// 4.x) sends ClickHouse for it, as its documentation and tests spell its
// macros.
type MacroQuery struct {
	// SQL is the query with the macro.
	SQL string
	// Official is the official plugin's expansion of SQL, "" where it has
	// none (Grafana's globals, kpiflow's extensions, forms it refuses).
	// {from} {to} {from_ms} {to_ms} {from_date} {to_date} {interval_s}
	// {interval_ms} stand for the request's values; a macro left in it
	// spells the same in both plugins and is expanded by kpiflow.
	Official string
	// Modern: Official needs a newer server than 18.16 (toStartOfInterval,
	// DateTime64, window functions, lttb, additional_table_filters) or
	// answers differently there (a DateTime column against a Date), so only
	// the modern run compares it.
	Modern bool
	// Needs says which servers take SQL; on the others, Older asks the same
	// question without the newer feature (nil Needs: every server).
	Needs func(dialect.Features) bool
	Older string
}

// MacroSQL holds, for each raw SQL macro, queries that use it, after the
// examples of the official plugin's documentation. Every macro
// query.MacroNames lists must have at least one: Cases fails otherwise, so
// a new macro cannot go unchecked.
func MacroSQL() map[string][]MacroQuery {
	window := fmt.Sprintf("ts >= toDateTime(%d) AND ts < toDateTime(%d)", Now.Add(-3*24*time.Hour).Unix(), Now.Add(-24*time.Hour).Unix())
	ms := func(v string) string { return "fromUnixTimestamp64Milli(" + v + ")" }
	bucket := "toStartOfInterval(toDateTime(ts), INTERVAL {interval_s} second)"
	// One series with one sample per timestamp, for lttb.
	series := "metric = 'requests_per_s' AND service = 'checkout-api'"
	// The official plugin's rate and counter macros: a window over each
	// series' buckets. (Aliases other than the columns' names: an alias
	// named like a column stands for it everywhere in ClickHouse.)
	windowed := func(value, agg string) string {
		dt := "(t - lagInFrame(t, 1, t) OVER w)"
		return "SELECT " + bucket + " AS t, toString(service) AS svc, " + strings.NewReplacer("{dt}", dt, "{agg}", agg).Replace(value) +
			" AS v FROM kpi_samples WHERE $__timeFilter(ts) AND (metric = 'requests_per_s') GROUP BY t, svc " +
			"WINDOW w AS (PARTITION BY svc ORDER BY t ASC ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) ORDER BY t, svc"
	}
	counter := "({agg} - lagInFrame({agg}, 1, {agg}) OVER w)"
	return map[string][]MacroQuery{
		"$__timeFilter": {{
			SQL:      "SELECT count() AS n, sum(value) AS s FROM kpi_samples WHERE $__timeFilter(ts)",
			Official: "SELECT count() AS n, sum(value) AS s FROM kpi_samples WHERE ts >= toDateTime({from}) AND ts <= toDateTime({to})",
		}},
		"$__timeFilter_ms": {{
			SQL:      "SELECT count() AS n, sum(value) AS s FROM kpi_samples WHERE $__timeFilter_ms(ts)",
			Official: "SELECT count() AS n, sum(value) AS s FROM kpi_samples WHERE ts >= " + ms("{from_ms}") + " AND ts <= " + ms("{to_ms}"), Modern: true,
		}},
		"$__timeFrom": {{
			SQL:      "SELECT min(ts) AS first FROM kpi_samples WHERE $__timeFrom(ts)",
			Official: "SELECT min(ts) AS first FROM kpi_samples WHERE ts >= toDateTime({from})",
		}},
		"$__timeTo": {{
			SQL:      "SELECT max(ts) AS last FROM kpi_samples WHERE $__timeTo(ts)",
			Official: "SELECT max(ts) AS last FROM kpi_samples WHERE ts <= toDateTime({to})",
		}},
		"$__dateFilter": {
			// On 18.16 the official spelling compares the DateTime column
			// with a Date as numbers (see query's dateFilter).
			{SQL: "SELECT count() AS n FROM kpi_samples WHERE $__dateFilter(ts)",
				Official: "SELECT count() AS n FROM kpi_samples WHERE ts >= toDate('{from_date}') AND ts <= toDate('{to_date}')", Modern: true},
			{SQL: "SELECT toDate(ts) AS day, count() AS n FROM kpi_samples WHERE $__dateFilter(toDate(ts)) GROUP BY day ORDER BY day",
				Official: "SELECT toDate(ts) AS day, count() AS n FROM kpi_samples WHERE toDate(ts) >= toDate('{from_date}') AND toDate(ts) <= toDate('{to_date}') GROUP BY day ORDER BY day"},
		},
		"$__dateTimeFilter": {{
			SQL: "SELECT toDate(ts) AS day, count() AS n FROM kpi_samples WHERE $__dateTimeFilter(toDate(ts), ts) GROUP BY day ORDER BY day",
			Official: "SELECT toDate(ts) AS day, count() AS n FROM kpi_samples WHERE (toDate(ts) >= toDate('{from_date}') AND toDate(ts) <= toDate('{to_date}')) " +
				"AND (ts >= toDateTime({from}) AND ts <= toDateTime({to})) GROUP BY day ORDER BY day",
		}},
		"$__dt": {{
			SQL:      "SELECT count() AS n FROM kpi_samples WHERE $__dt(toDate(ts), ts)",
			Official: "SELECT count() AS n FROM kpi_samples WHERE (toDate(ts) >= toDate('{from_date}') AND toDate(ts) <= toDate('{to_date}')) AND (ts >= toDateTime({from}) AND ts <= toDateTime({to}))",
		}},
		"$__timeInterval": {
			{SQL: "SELECT $__timeInterval(ts) AS time, metric, count() AS n, sum(value) AS s FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY time, metric ORDER BY time, metric",
				Official: "SELECT " + bucket + " AS time, metric, count() AS n, sum(value) AS s FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY time, metric ORDER BY time, metric", Modern: true},
			// A Date column: every day in its own bucket, not all in 1970.
			{SQL: "SELECT $__timeInterval(toDate(ts)) AS time, count() AS n FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY time ORDER BY time",
				Official: "SELECT toStartOfInterval(toDateTime(toDate(ts)), INTERVAL {interval_s} second) AS time, count() AS n FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY time ORDER BY time", Modern: true},
		},
		"$__timeInterval_ms": {{
			SQL: "SELECT $__timeInterval_ms(ts) AS time, count() AS n FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY time ORDER BY time",
			Official: "SELECT toStartOfInterval(toDateTime64(ts, 3), INTERVAL {interval_ms} millisecond) AS time, count() AS n FROM kpi_samples " +
				"WHERE $__timeFilter(ts) GROUP BY time ORDER BY time", Modern: true,
		}},
		"$__timeGroup": {{
			SQL:      "SELECT $__timeGroup(ts, 1h) AS time, count() AS n FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY time ORDER BY time",
			Official: "SELECT toStartOfInterval(toDateTime(ts), INTERVAL 3600 second) AS time, count() AS n FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY time ORDER BY time", Modern: true,
		}},
		// The official plugin reads $__timeGroup's period before
		// $__interval is expanded, so it has no such query.
		"$__interval": {{SQL: "SELECT $__timeGroup(ts, $__interval) AS time, count() AS n FROM kpi_samples WHERE $__timeFilter(ts) GROUP BY time ORDER BY time"}},
		"$__interval_s": {{SQL: "SELECT intDiv(toUInt32(ts), $__interval_s) AS b, count() AS n FROM kpi_samples WHERE " + window + " GROUP BY b ORDER BY b",
			Official: "SELECT intDiv(toUInt32(ts), {interval_s}) AS b, count() AS n FROM kpi_samples WHERE " + window + " GROUP BY b ORDER BY b"}},
		"$__interval_ms": {{SQL: "SELECT intDiv(toUInt64(toUInt32(ts)) * 1000, $__interval_ms) AS b, count() AS n FROM kpi_samples WHERE " + window + " GROUP BY b ORDER BY b",
			Official: "SELECT intDiv(toUInt64(toUInt32(ts)) * 1000, {interval_ms}) AS b, count() AS n FROM kpi_samples WHERE " + window + " GROUP BY b ORDER BY b"}},
		"$__fromTime": {{SQL: "SELECT count() AS n FROM kpi_samples WHERE ts >= $__fromTime AND ts < $__toTime",
			Official: "SELECT count() AS n FROM kpi_samples WHERE ts >= toDateTime({from}) AND ts < toDateTime({to})"}},
		"$__toTime": {{SQL: "SELECT max(ts) AS last FROM kpi_samples WHERE ts <= $__toTime",
			Official: "SELECT max(ts) AS last FROM kpi_samples WHERE ts <= toDateTime({to})"}},
		"$__fromTime_ms": {{SQL: "SELECT count() AS n FROM kpi_samples WHERE ts >= $__fromTime_ms AND ts <= $__toTime_ms",
			Official: "SELECT count() AS n FROM kpi_samples WHERE ts >= " + ms("{from_ms}") + " AND ts <= " + ms("{to_ms}"), Modern: true}},
		"$__toTime_ms": {{SQL: "SELECT min(ts) AS first FROM kpi_samples WHERE ts > $__toTime_ms",
			Official: "SELECT min(ts) AS first FROM kpi_samples WHERE ts > " + ms("{to_ms}"), Modern: true}},
		// Grafana's globals, which alert rules send unexpanded.
		"$__from": {{SQL: "SELECT count() AS n FROM kpi_samples WHERE toUInt64(toUInt32(ts)) * 1000 >= $__from AND toUInt64(toUInt32(ts)) * 1000 < $__to"}},
		"$__to":   {{SQL: "SELECT $__to - $__from AS span_ms"}},
		"$__table": {{SQL: "SELECT count() AS n, sum(value) AS s FROM $__table WHERE $__timeFilter(ts)",
			Official: "SELECT count() AS n, sum(value) AS s FROM kpi_samples WHERE $__timeFilter(ts)"}},
		"$__column": {{SQL: "SELECT sum($__column) AS s FROM kpi_samples WHERE $__timeFilter(ts)",
			Official: "SELECT sum(value) AS s FROM kpi_samples WHERE $__timeFilter(ts)"}},
		"$__conditionalAll": {
			{SQL: "SELECT team, count() AS n FROM kpi_samples WHERE $__conditionalAll(team IN ('checkout'), 'checkout') GROUP BY team ORDER BY team",
				Official: "SELECT team, count() AS n FROM kpi_samples WHERE team IN ('checkout') GROUP BY team ORDER BY team"},
			{SQL: "SELECT team, count() AS n FROM kpi_samples WHERE $__conditionalAll(team IN ($team), $__all) GROUP BY team ORDER BY team",
				Official: "SELECT team, count() AS n FROM kpi_samples WHERE 1=1 GROUP BY team ORDER BY team"},
		},
		"$__adHocFilters": {
			{SQL: "SELECT team, project, count() AS n, sum(value) AS s FROM kpi_samples WHERE $__adHocFilters('kpi_samples') GROUP BY team, project ORDER BY team, project"},
			// The official form, in SETTINGS: the WHERE form where the
			// server has no additional_table_filters (it refuses filters).
			{SQL: "SELECT team, project, count() AS n, sum(value) AS s FROM kpi_samples GROUP BY team, project ORDER BY team, project SETTINGS $__adHocFilters('kpi_samples')",
				Needs: func(f dialect.Features) bool { return f.AdditionalTableFilters },
				Older: "SELECT team, project, count() AS n, sum(value) AS s FROM kpi_samples WHERE $__adHocFilters('kpi_samples') GROUP BY team, project ORDER BY team, project"},
		},
		"$__columns": {{
			SQL: "$__columns(ts, service, count() AS c) FROM kpi_samples WHERE service != ''",
			Official: "SELECT " + bucket + " AS t, toString(service) AS metric, count() AS c FROM kpi_samples WHERE $__timeFilter(ts) AND (service != '') " +
				"GROUP BY t, metric ORDER BY t, metric", Modern: true,
		}},
		"$__rateColumns": {{
			SQL:      "$__rateColumns(ts, service AS svc, sum(value) AS v) FROM kpi_samples WHERE metric = 'requests_per_s'",
			Official: windowed("if({dt} = 0, nan, sum(value) / {dt})", ""), Modern: true,
		}},
		"$__perSecondColumns": {{
			SQL:      "$__perSecondColumns(ts, service AS svc, value AS v) FROM kpi_samples WHERE metric = 'requests_per_s'",
			Official: windowed("if({dt} = 0 OR "+counter+" < 0, nan, "+counter+" / {dt})", "max(value)"), Modern: true,
		}},
		"$__increaseColumns": {{
			SQL:      "$__increaseColumns(ts, service AS svc, value AS v) FROM kpi_samples WHERE metric = 'requests_per_s'",
			Official: windowed("if({dt} = 0 OR "+counter+" < 0, nan, toFloat64({agg} - lagInFrame({agg}, 1, {agg}) OVER w))", "max(value)"), Modern: true,
		}},
		// As many buckets as points: lttb keeps every point, which 18.16
		// can list without lttb.
		"$__lttb": {{
			SQL:      "$__lttb(1000, ts, value) FROM kpi_samples WHERE " + series,
			Official: "SELECT point.1 AS ts, point.2 AS value FROM (SELECT arrayJoin(lttb(1000)(ts, value)) AS point FROM kpi_samples WHERE $__timeFilter(ts) AND (" + series + ")) ORDER BY ts",
			Modern:   true,
			Needs:    func(f dialect.Features) bool { return f.LTTB },
			Older:    "SELECT ts, toFloat64(value) AS value FROM kpi_samples WHERE $__timeFilter(ts) AND (" + series + ") ORDER BY ts",
		}},
	}
}

// expand is a corpus query as kpiflow sends it to a server of dialect d.
func (m MacroQuery) expand(env query.MacroEnv) (string, error) {
	sql := m.SQL
	if m.Needs != nil && !m.Needs(env.Dialect.Features) {
		sql = m.Older
	}
	x, err := query.ExpandMacros(sql, env)
	return x.SQL, err
}

func macroCases(d dialect.Dialect) ([]Case, error) {
	sqls := MacroSQL()
	env := macroEnv(d)
	var out []Case
	for _, name := range query.MacroNames() {
		list, ok := sqls[name]
		if !ok {
			return nil, fmt.Errorf("raw SQL macro %s has no query in conformance.MacroSQL: add one, so modern servers check it", name)
		}
		for i, m := range list {
			sql, err := m.expand(env)
			if err != nil {
				return nil, fmt.Errorf("macro %s query %d: %w", name, i+1, err)
			}
			out = append(out, Case{Name: macroCaseName(name, i), SQL: sql})
		}
	}
	// The ad hoc filters the official plugin can spell too (see Official).
	sub := env
	sub.AdHocFilters = officialAdHocFilters(env.AdHocFilters)
	sql, err := sqls["$__adHocFilters"][0].expand(sub)
	if err != nil {
		return nil, err
	}
	out = append(out, Case{Name: "sql/adHocFilters/official_subset", SQL: sql})
	for name := range sqls {
		if !slices.Contains(query.MacroNames(), name) {
			return nil, fmt.Errorf("conformance.MacroSQL has queries for %s, which query.MacroNames does not list", name)
		}
	}
	return out, nil
}

func macroCaseName(macro string, i int) string {
	return fmt.Sprintf("sql/%s/%d", strings.TrimPrefix(macro, "$__"), i+1)
}
