// Package conformance checks kpiflow's SQL on a modern ClickHouse against
// the 18.16 test server: scripts/modern-clickhouse.sh runs its
// TestModernClickHouse (build tag chdb) on ClickHouse 26.7 embedded
// (pkg/internal/chdb).
//
// It derives everything from the code: the DDL from store.Migrations and
// store.BootstrapDDL (DDL), the dataset from pkg/demo through ingest's
// decoder and column lists (Dataset, Batches), and the queries from the
// query package's builders and macro list (Cases, MacroSQL), plus the
// official ClickHouse plugin's modern macro spellings (Official). Answers
// are compared as Tables: equal, or within a Tolerance computed on the
// engine (t-digest quantiles, ties in "last"), or different as Differences
// lists with the reason.
//
//	cases, err := conformance.Cases(dialect.For(v), teams)
//	// each Case: Name, SQL, Args (bound by clickhouse-go: Server.Bind)
package conformance
