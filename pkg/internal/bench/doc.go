// Command bench measures kpiflow's query path as a user feels it: it builds
// gpx_kpiflow, starts it once the way Grafana does (pkg/internal/plugintest),
// loads generated demo data into ClickHouse and times QueryData over gRPC.
// It is run by hand (docs/benchmarks.md has the commands and figures); CI only
// runs it once in -smoke mode (bench_integration_test.go).
//
//	go run ./pkg/internal/bench query              # result path vs clickhouse-go
//	go run ./pkg/internal/bench load               # concurrent dashboards
//	go run ./pkg/internal/bench load -scenario restart
//	go run ./pkg/internal/bench live               # ingest → 100 RunStream subscribers
//	go run ./pkg/internal/bench chunked            # QueryChunkedData vs QueryData, 10M rows
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
// # Live mode (issue 12)
//
// A live taskflow query registers a channel; -subscribers RunStream calls
// read it over gRPC, plus one that never reads (it must slow nobody). Then
// -events task events go through POST ingest/tasks one per call, each
// timed from the call's answer to its packet's arrival at every
// subscriber, and -direct events are inserted straight into ClickHouse
// with clickhouse-go at random moments, timed from the insert's return
// (the watermark poll finds them). It prints p50/p90/p99/max per
// (subscriber, event), missing and duplicated events, the ingest call's
// latency and the plugin's CPU per event with no subscriber and with all
// of them (the same run), and the direct path in poll intervals.
//
// # Chunked mode (issue 12)
//
// -rows rows (10M) generated server-side into a MergeTree table
// (INSERT … SELECT from numbers()) are read by one raw SQL query:
// QueryChunkedData -rounds times, alternating with clickhouse-go's time to
// the first row of the same SQL, then QueryData once. It prints the time
// to the first rows, the whole call, the plugin's CPU and peak RSS (VmHWM
// reset before each call) and the ratios. QueryData at 10M rows peaks at
// about 8 GB: run it alone.
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
