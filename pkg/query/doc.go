// Package query turns kpiflow's builder queries (queryType kpi, dora and
// taskflow) into SQL through an explicit pipeline, and result frames into the
// frames Grafana shows. It also holds the raw `sql` queryType's parsing and
// macros (macros.go), and the forecast queryType (forecast*.go), whose reads
// go through the same pipeline and whose results pkg/forecast turns into
// predictions:
//
//	fq, err := query.ParseForecast(rawJSON)
//	pf, err := pl.PrepareForecast(ctx, fq, env)              // one prepared read per plan
//	frames, notices, err := pf.Frames(results)               // one result frame per read
//
//	q, err := query.Parse("kpi", rawJSON)                    // 1. parse: strict, errors name the field
//	env := query.Env{From: f, To: t, Interval: i, MaxRows: n,
//		Catalog: query.ServerCatalog(stats)}                 // the tables the server has (store.TableStats)
//	pl := query.Pipeline{Rewriters: []query.Rewriter{query.RollupRewriter()}}
//	pq, err := pl.Prepare(ctx, q, env)                       // 2. plan, 3. rewrite chain, 4. validate, 5. SQL
//	rows := run(pq.SQL, pq.Args...)                          // the caller runs it (store.Query)
//	frames, err := pq.Shape(resultFrame)                     // long result → Grafana frames
//
// # The pipeline
//
//   - Parse reads the JSON into a Query (KPIQuery, DORAQuery, TaskflowQuery).
//   - Query.Build plans it on the raw tables (package plan): no table choice,
//     no SQL.
//   - Each Rewriter of the chain may move the plan (the data source's chain
//     is the optimizer's WASM modules, whose built-in one picks a rollup;
//     RollupRewriter is the same rule in Go, for callers without an
//     optimizer host). Every rewrite is
//     checked with plan.Validate and plan.CheckRewrite; one that fails is
//     skipped with a notice and the plan it had goes on.
//   - The final plan is validated against env.Catalog and written as one
//     SELECT (SQL) with every value a bound argument.
//
// # Notes
//
// query never imports store: it returns SQL text and arguments, and the
// caller runs them. Identifiers in the SQL come only from a validated plan
// and the catalog, quoted by dialect.Quote; every value from a query is a
// bound `?` argument. Numbers that shape the SQL (bucket widths, quantile
// levels) come from the plan after validation and are formatted, not spliced
// from user text.
package query
