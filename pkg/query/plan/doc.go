// Package plan is kpiflow's structured query plan: what a builder query asks
// ClickHouse for, without SQL text.
//
//	p := plan.Plan{Source: "kpi_samples", TimeColumn: "ts", TimeRange: plan.TimeRange{From: f, To: t},
//		Bucket: 60, Aggregations: []plan.Aggregation{{Func: plan.FuncAvg, Column: "value", Alias: "value"}}}
//	if err := p.Validate(catalog); err != nil { ... }
//
// A query becomes a Plan (pkg/query), the plan may be rewritten by optimizer
// modules (which see it as JSON), the host checks it with Validate against a
// Catalog, and only then pkg/query writes SQL from it.
//
// # Notes
//
// The package imports no kpiflow package and no SDK, so the optimizer host and
// the WASM modules can share it. Every type is plain data and round-trips
// through encoding/json; values in filters are JSON scalars (strings and
// numbers), never SQL.
package plan
