package query

import "github.com/kpiflow/kpiflow/pkg/query/plan"

// rollupResolutions are the rollups' bucket widths in seconds, finest first.
func rollupResolutions() []int64 { return []int64{60, 3600, 86400} }

// rollupQuantiles are the levels of the rollups' quantilesTDigest state.
func rollupQuantiles() []float64 { return []float64{0.5, 0.9, 0.95, 0.99} }

// Catalog describes the tables of BACKEND.md's schema that builder queries
// read. It mirrors store.Tables() (an integration test keeps them equal);
// query cannot import store, so the description lives here as plain data.
// Dimension columns are "String" whatever the server spells them
// (LowCardinality(String) on 19.3+).
func Catalog() plan.Catalog {
	str := func(names ...string) []plan.Column {
		out := make([]plan.Column, len(names))
		for i, n := range names {
			out[i] = plan.Column{Name: n, Type: "String"}
		}
		return out
	}
	cols := func(parts ...[]plan.Column) []plan.Column {
		var out []plan.Column
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	col := func(name, typ string) []plan.Column { return []plan.Column{{Name: name, Type: typ}} }
	ingested := col("ingested_at", "DateTime")

	c := plan.Catalog{}
	c.Tables = append(c.Tables, plan.Table{
		Name: "kpi_samples", Kind: plan.KindRaw, Labels: true,
		Columns: cols(col("ts", "DateTime"), str("metric"), col("value", "Float64"),
			str("team", "project", "service", "environment", "source"),
			col("label_keys", "Array(String)"), col("label_values", "Array(String)"),
			str("event_id", "batch_id"), ingested),
	})
	for _, r := range rollupResolutions() {
		c.Tables = append(c.Tables, plan.Table{
			Name: rollupName(r), Kind: plan.KindRollup, ResolutionS: r, Measure: "value",
			Funcs: []string{plan.FuncCount, plan.FuncSum, plan.FuncAvg, plan.FuncMin, plan.FuncMax,
				plan.FuncRate, plan.FuncLast, plan.FuncQuantile},
			Quantiles: rollupQuantiles(),
			Columns: cols(col("bucket", "DateTime"), str("metric", "team", "project", "service", "environment"),
				col("cnt", "AggregateFunction(count)"), col("sum", "AggregateFunction(sum, Float64)"),
				col("min", "AggregateFunction(min, Float64)"), col("max", "AggregateFunction(max, Float64)"),
				col("q", "AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), Float64)"),
				col("last", "AggregateFunction(argMax, Float64, DateTime)")),
		})
	}
	taskCols := cols(col("ts", "DateTime"), str("task_id", "project", "team", "title", "kind", "state"),
		col("state_category", "Enum8('todo' = 1, 'in_progress' = 2, 'done' = 3)"),
		str("assignee"), col("points", "Float64"), str("parent_id"), col("blocked_by", "Array(String)"),
		str("event_id", "batch_id"), ingested)
	c.Tables = append(c.Tables,
		plan.Table{Name: "task_events", Kind: plan.KindRaw, Columns: taskCols},
		plan.Table{Name: "tasks_current", Kind: plan.KindRaw, Final: true, Columns: taskCols},
		plan.Table{Name: "deployments", Kind: plan.KindRaw, Final: true,
			Columns: cols(col("finished_at", "DateTime"), str("deployment_id", "service", "team", "environment"),
				col("result", "Enum8('success' = 1, 'failure' = 2, 'rollback' = 3, 'cancelled' = 4)"),
				str("commit_sha"), col("first_commit_at", "Nullable(DateTime)"), str("pipeline", "event_id", "batch_id"), ingested)},
		plan.Table{Name: "incidents", Kind: plan.KindRaw, Final: true,
			Columns: cols(str("incident_id", "service", "team", "severity"), col("opened_at", "DateTime"),
				col("resolved_at", "Nullable(DateTime)"), str("caused_by_deployment", "event_id", "batch_id"), ingested)},
		plan.Table{Name: "pipeline_runs", Kind: plan.KindRaw, Final: true,
			Columns: cols(str("run_id", "pipeline", "team"),
				col("status", "Enum8('success' = 1, 'failure' = 2, 'cancelled' = 3, 'running' = 4)"),
				col("started_at", "DateTime"), col("finished_at", "Nullable(DateTime)"), str("event_id", "batch_id"), ingested)},
		plan.Table{Name: "teams", Kind: plan.KindRaw, Final: true,
			Columns: cols(str("team", "parent", "display_name", "event_id", "batch_id"), ingested)},
	)
	return c
}

func rollupName(res int64) string {
	switch res {
	case 60:
		return "kpi_rollup_1m"
	case 3600:
		return "kpi_rollup_1h"
	default:
		return "kpi_rollup_1d"
	}
}
