package main

import (
	"encoding/json"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// queryCase is one query of query mode.
type queryCase struct {
	name    string
	dataset string
	// span is the time range, ending at the dataset's end.
	span time.Duration
	// interval is the request's Interval (Grafana's suggestion); 0 derives
	// it from span and maxDataPoints as Grafana does.
	interval time.Duration
	// maxPoints, when set, replaces maxDataPoints: a panel that asks for
	// every bucket (a table, a CSV export), so the builder's raw-scan
	// widening leaves a 1m interval over 30 days as it is.
	maxPoints int64
	query     map[string]any
	// wantRows, when set, is checked against the rows the plugin returned,
	// so a case cannot silently measure something smaller.
	wantRows int
}

const day = 24 * time.Hour

// maxDataPoints is a wide dashboard panel's point budget.
const maxDataPoints = 1000

// rawSQLColumns are kpi_samples' columns as a raw SQL panel lists them.
const rawSQLColumns = "SELECT ts, metric, value, team, project, service, environment, source FROM kpi_samples WHERE $__timeFilter(ts)"

// queryCases are query mode's cases, smallest results first, so a large
// case's memory does not inflate a small one's peak RSS. The table:
// SELECT 1 and a query that never reaches ClickHouse (the fixed floor); DORA
// and task flow (3–954 rows); kpi avg by service over 30 days at 1h (the 1h
// rollup) and 1m (kpi_samples: migration 4 dropped the 1m rollup); raw SQL of all the demo's samples (~630k rows) and of 1M rows
// of the dense dataset.
func queryCases(smoke bool) []queryCase {
	kpiSvc := func(interval string) map[string]any {
		return map[string]any{"queryType": "kpi", "metrics": []string{"latency_p95_ms"}, "aggregation": "avg",
			"groupBy": []string{"service"}, "interval": interval, "format": "timeseries"}
	}
	dora := func(metric, format string, groupBy ...string) map[string]any {
		return map[string]any{"queryType": "dora", "metric": metric, "groupBy": append([]string{}, groupBy...),
			"environment": "production", "format": format}
	}
	flow := func(view string) map[string]any { return map[string]any{"queryType": "taskflow", "view": view} }
	sql := func(rawSQL string) map[string]any {
		return map[string]any{"queryType": "sql", "rawSql": rawSQL, "format": "table"}
	}
	span30, span90 := 30*day, 90*day
	const everyMinute30d = 30*24*60 + 1 // an unaligned end touches one more
	want := func(n int) int {
		if smoke {
			return 0
		}
		return n
	}
	return []queryCase{
		{name: "floor (hidden kpi, no SQL)", dataset: "demo", span: span30,
			query: map[string]any{"queryType": "kpi", "metrics": []string{"latency_p95_ms"}, "aggregation": "avg", "hide": true}},
		{name: "sql SELECT 1", dataset: "demo", span: span30, query: sql("SELECT 1"), wantRows: 1},
		{name: "dora deployment_frequency table", dataset: "demo", span: span90, query: dora("deployment_frequency", "table")},
		{name: "dora lead_time by team, timeseries", dataset: "demo", span: span90, query: dora("lead_time", "timeseries", "team")},
		{name: "dora change_failure_rate band", dataset: "demo", span: span90, query: dora("change_failure_rate", "band", "team")},
		{name: "taskflow wip", dataset: "demo", span: span90, query: flow("wip")},
		{name: "taskflow throughput", dataset: "demo", span: span90, query: flow("throughput")},
		{name: "taskflow cfd", dataset: "demo", span: span90, query: flow("cfd")},
		{name: "taskflow aging", dataset: "demo", span: span90, query: flow("aging")},
		{name: "kpi avg by service 30d 1h", dataset: "demo", span: span30, interval: time.Hour, query: kpiSvc("1h"), wantRows: want(5_760)},
		{name: "kpi avg by service 30d 1m", dataset: "demo", span: span30, interval: time.Minute, maxPoints: everyMinute30d, query: kpiSvc("1m"), wantRows: want(69_120)},
		{name: "kpi avg by service 30d 1m, dense", dataset: "dense", span: span30, interval: time.Minute, maxPoints: everyMinute30d, query: kpiSvc("1m")},
		{name: "sql all demo samples (~630k rows)", dataset: "demo", span: span90, query: sql(rawSQLColumns), wantRows: want(629_932)},
		{name: "sql 1M rows, dense", dataset: "dense", span: span90, query: sql(rawSQLColumns + " LIMIT 1000000"), wantRows: want(1_000_000)},
	}
}

// dashboardQueries is load mode's request: the 13 queries of a dashboard
// over the last 7 days (kpi at the auto interval by service, team and
// teamLevel:1, plus the bundled KPI dashboard's build-duration p90 and
// coverage table; DORA timeseries, table and band; task flow cfd, wip,
// throughput and aging; one raw SQL).
func dashboardQueries() []map[string]any {
	kpi := func(metric, agg, format string, groupBy ...string) map[string]any {
		return map[string]any{"queryType": "kpi", "metrics": []string{metric}, "aggregation": agg, "groupBy": groupBy, "format": format}
	}
	return []map[string]any{
		kpi("latency_p95_ms", "avg", "timeseries", "service"),
		kpi("error_rate", "avg", "timeseries", "team"),
		kpi("requests_per_s", "sum", "timeseries", "teamLevel:1"),
		kpi("build_duration_s", "p90", "timeseries", "team"),
		kpi("coverage_pct", "last", "table", "project"),
		{"queryType": "dora", "metric": "deployment_frequency", "groupBy": []string{"team"}, "environment": "production", "format": "timeseries"},
		{"queryType": "dora", "metric": "lead_time", "groupBy": []string{}, "environment": "production", "format": "table"},
		{"queryType": "dora", "metric": "change_failure_rate", "groupBy": []string{"team"}, "environment": "production", "format": "band"},
		{"queryType": "taskflow", "view": "cfd"},
		{"queryType": "taskflow", "view": "wip"},
		{"queryType": "taskflow", "view": "throughput"},
		{"queryType": "taskflow", "view": "aging"},
		{"queryType": "sql", "format": "table", "rawSql": "SELECT metric, count() AS samples, min(ts) AS first, max(ts) AS last\nFROM kpi_samples\nWHERE $__timeFilter(ts)\nGROUP BY metric\nORDER BY metric"},
	}
}

// request makes the case's query as Grafana would send it.
func (c queryCase) request(end time.Time) backend.DataQuery {
	q := dataQuery("A", c.query, end, c.span, c.interval)
	if c.maxPoints > 0 {
		q.MaxDataPoints = c.maxPoints
	}
	return q
}

// dataQuery makes one query of a request as Grafana does: the time range
// ending at end, Interval from the span and maxDataPoints unless given.
func dataQuery(refID string, q map[string]any, end time.Time, span, interval time.Duration) backend.DataQuery {
	if interval <= 0 {
		interval = max(span/maxDataPoints, time.Second).Round(time.Second)
	}
	withRef := map[string]any{"refId": refID}
	for k, v := range q {
		withRef[k] = v
	}
	raw, _ := json.Marshal(withRef) // maps of strings, numbers and string lists always encode
	queryType, _ := q["queryType"].(string)
	return backend.DataQuery{
		RefID: refID, QueryType: queryType, JSON: raw, Interval: interval, MaxDataPoints: maxDataPoints,
		TimeRange: backend.TimeRange{From: end.Add(-span), To: end},
	}
}
