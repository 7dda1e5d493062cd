// Package query turns kpiflow's builder queries (queryType kpi, dora and
// taskflow) into structured plans, plans into SQL with bound arguments, and
// result frames into the frames Grafana shows. It also holds the raw `sql`
// queryType's parsing and macros (macros.go).
//
//	q, err := query.Parse("kpi", rawJSON)         // strict: unknown fields and bad values name the field
//	b, err := q.Build(query.Env{From: f, To: t, Interval: i, MaxRows: n})
//	err = b.Plan.Validate(query.Catalog())        // an optimizer's output passes here too,
//	err = plan.CheckRewrite(&before, &after)      // with the rewrite rules
//	sql, args, err := query.SQL(b.Plan, query.Catalog())
//	frames, err := b.Shape(resultFrame)           // long result → Grafana frames
//
// # Notes
//
// query never imports store: it returns SQL text and arguments, and the
// plugin runs them. Identifiers in the SQL come only from a validated plan
// and the catalog; every value from a query is a bound `?` argument. Numbers
// that shape the SQL (bucket widths, quantile levels) come from the plan after
// validation and are formatted, not spliced from user text.
package query
