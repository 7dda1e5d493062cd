// Command bench measures kpiflow's query path as a user feels it: it builds
// gpx_kpiflow, starts it once the way Grafana does (pkg/internal/plugintest),
// loads generated demo data into ClickHouse and times QueryData over gRPC.
// It is run by hand (docs/benchmarks.md has the commands and figures); CI only
// runs it once in -smoke mode (bench_integration_test.go).
//
//	go run ./pkg/internal/bench query              # result path vs clickhouse-go
//	go run ./pkg/internal/bench load               # concurrent dashboards
//	go run ./pkg/internal/bench load -scenario restart
//	go run ./pkg/internal/bench -h
//
// # Query mode (issue 10)
//
// A fixed set of cases (dashboard queries, raw SQL of 630k and 1M rows,
// SELECT 1, a query that never reaches ClickHouse) on two datasets: the
// demo's 90 days and a denser one (1-minute KPI samples, 9 teams). Each case
// runs once to warm up, then -rounds times alternating with its baseline:
// the exact SQL the plugin executed (from the frame's ExecutedQueryString,
// arguments bound the same way), run through clickhouse-go with the store's
// pool options and the plugin's query settings, every value scanned into a
// typed target. It prints per case the plugin/raw ratio (min and median over
// the rounds), the milliseconds the plugin adds (median), the response's
// bytes on the wire and the plugin's peak RSS during the case (VmHWM, reset
// through /proc/<pid>/clear_refs before each case).
//
// # Load mode (issue 17)
//
// C concurrent clients (-clients 1,4,16,64,256), each sending one QueryData
// request of a 13-query dashboard after another for -duration, print
// requests/s, p50/p95/p99, errors by message, the plugin's peak RSS and CPU,
// and the plugin's log volume. Scenarios: -scenario restart kills the
// private ClickHouse (SIGKILL, by its pid) a third into each run and starts it
// again after -down; -scenario cancel fills the connection pool with slow
// queries, cancels them and watches system.processes until they end.
//
// # Notes
//
// Without -clickhouse the program starts a private server with
// scripts/clickhouse.sh and removes it at the end; restart needs that.
// With -clickhouse and -reuse, loaded databases (kpiflow_bench_demo,
// kpiflow_bench_dense) are kept and reused when their row counts match.
// -pprof PORT starts the plugin with the SDK's profiler on that port
// (go tool pprof http://localhost:PORT/debug/pprof/profile?seconds=20).
package main
