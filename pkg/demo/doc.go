// Package demo generates a realistic, seeded kpiflow dataset: a team tree,
// projects whose tasks move through their states with lognormal cycle times,
// deployments with commit times, incidents caused by some of them, CI
// pipeline runs, and KPI samples with daily and weekly seasonality.
//
//	ds := demo.Generate(demo.Options{Seed: 1, Days: 30, Now: now})
//	for c, err := range ds.Chunks(demo.StreamKPI, 5000) {
//		// c.Body is an NDJSON body for POST .../resources/ingest/kpi
//	}
//
// The kpiflow command's demo subcommand sends it; tests use the typed rows to
// compute expected answers in Go.
//
// # Notes
//
// Generate is pure: the same Options (with a fixed Now) give the same rows.
// Beyond that, every row is a function of the seed and of absolute time, not
// of the window: a day, a task, a deployment or a KPI sample comes out the
// same whichever Now or Days it was generated under (only what lies past Now
// is cut, and an incident still open at Now has no resolved_at). So a demo
// re-run tomorrow overlaps today's run row for row, and the ingest API's
// event_id dedupe keeps the overlap from being counted twice. Event ids of
// event streams (kpi, tasks) name the event; those of entity streams
// (deployments, incidents, pipelines, teams) also cover the fields that can
// change, so a changed entity replaces the older row.
//
// Rows are shared, read-only values: KPISample.Labels maps are shared by all
// samples of one series.
//
// The package does no I/O and imports no kpiflow package.
package demo
