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
		{"group/none_default_interval", "kpi_rollup_1m", map[string]any{"groupBy": []string{}}},
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
		Interval: 5 * time.Minute, AdHocFilters: adHocFilters(), Dialect: d,
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

// MacroSQL holds, for each raw SQL macro, queries that use it. Every macro
// query.MacroNames lists must have at least one: Cases fails otherwise, so a
// new macro cannot go unchecked.
func MacroSQL() map[string][]string {
	window := fmt.Sprintf("ts >= toDateTime(%d) AND ts < toDateTime(%d)", Now.Add(-3*24*time.Hour).Unix(), Now.Add(-24*time.Hour).Unix())
	return map[string][]string{
		"$__timeFilter":    {"SELECT count() AS n, sum(value) AS s FROM kpi_samples WHERE $__timeFilter(ts)"},
		"$__timeFilter_ms": {"SELECT count() AS n, sum(value) AS s FROM kpi_samples WHERE $__timeFilter_ms(ts)"},
		"$__dateFilter": {
			"SELECT count() AS n FROM kpi_samples WHERE $__dateFilter(ts)",
			"SELECT toDate(ts) AS day, count() AS n FROM kpi_samples WHERE $__dateFilter(toDate(ts)) GROUP BY day ORDER BY day",
		},
		"$__timeInterval": {"SELECT $__timeInterval(ts) AS time, metric, count() AS n, sum(value) AS s FROM kpi_samples " +
			"WHERE $__timeFilter(ts) GROUP BY time, metric ORDER BY time, metric"},
		"$__timeInterval_ms": {"SELECT $__timeInterval_ms(ts) AS time, count() AS n FROM kpi_samples " +
			"WHERE $__timeFilter(ts) GROUP BY time ORDER BY time"},
		"$__interval_s":  {"SELECT intDiv(toUInt32(ts), $__interval_s) AS b, count() AS n FROM kpi_samples WHERE " + window + " GROUP BY b ORDER BY b"},
		"$__interval_ms": {"SELECT intDiv(toUInt64(toUInt32(ts)) * 1000, $__interval_ms) AS b, count() AS n FROM kpi_samples WHERE " + window + " GROUP BY b ORDER BY b"},
		"$__fromTime":    {"SELECT count() AS n FROM kpi_samples WHERE ts >= $__fromTime AND ts < $__toTime"},
		"$__toTime":      {"SELECT max(ts) AS last FROM kpi_samples WHERE ts <= $__toTime"},
		"$__fromTime_ms": {"SELECT count() AS n FROM kpi_samples WHERE ts >= $__fromTime_ms AND ts <= $__toTime_ms"},
		"$__toTime_ms":   {"SELECT min(ts) AS first FROM kpi_samples WHERE ts > $__toTime_ms"},
		"$__from":        {"SELECT count() AS n FROM kpi_samples WHERE toUInt64(toUInt32(ts)) * 1000 >= $__from AND toUInt64(toUInt32(ts)) * 1000 < $__to"},
		"$__to":          {"SELECT $__to - $__from AS span_ms"},
		"$__conditionalAll": {
			"SELECT team, count() AS n FROM kpi_samples WHERE $__conditionalAll(team IN ('checkout'), 'checkout') GROUP BY team ORDER BY team",
			"SELECT team, count() AS n FROM kpi_samples WHERE $__conditionalAll(team IN ($team), $__all) GROUP BY team ORDER BY team",
		},
		"$__adHocFilters": {"SELECT team, project, count() AS n, sum(value) AS s FROM kpi_samples WHERE $__adHocFilters('kpi_samples') " +
			"GROUP BY team, project ORDER BY team, project"},
	}
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
		for i, raw := range list {
			sql, err := query.ExpandMacros(raw, env)
			if err != nil {
				return nil, fmt.Errorf("macro %s query %d: %w", name, i+1, err)
			}
			out = append(out, Case{Name: fmt.Sprintf("sql/%s/%d", strings.TrimPrefix(name, "$__"), i+1), SQL: sql})
		}
	}
	// The ad hoc filters the official plugin can spell too (see Official).
	sub := env
	sub.AdHocFilters = officialAdHocFilters(env.AdHocFilters)
	sql, err := query.ExpandMacros(sqls["$__adHocFilters"][0], sub)
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
