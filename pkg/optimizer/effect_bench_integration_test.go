//go:build integration

package optimizer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// effectSamples is how many raw samples BenchmarkOptimizerEffect loads.
const effectSamples = 20_000_000

// BenchmarkOptimizerEffect: a 90-day, 1-hour-interval kpi query (avg of one
// metric per team) over 20M raw samples, run on the plan as built
// (kpi_samples) and on the plan after the built-in module (which moves it
// to kpi_rollup_1h), in the same run: rows read (system.query_log
// read_rows), ms per query, and the ratios. The samples are generated
// server-side (INSERT … SELECT FROM numbers), so the materialized views fill
// the rollups; the load takes a few minutes on 2 cores.
//
//	go test -tags integration -run '^$' -bench OptimizerEffect -benchtime 10x -timeout 30m ./pkg/optimizer
func BenchmarkOptimizerEffect(b *testing.B) {
	ctx := context.Background()
	st, db := chtest.MigratedStore(b)
	conn := st.Conn()
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	start := end.Add(-90 * 24 * time.Hour)
	// 40 series (4 metrics × 5 teams × 2 services), evenly over the 90 days.
	const series = 40
	load := time.Now()
	insert := fmt.Sprintf(`INSERT INTO kpi_samples (ts, metric, value, team, project, service, environment, source,
			label_keys, label_values, event_id, batch_id)
		SELECT toDateTime(%d + intDiv(intDiv(number, %d) * %d, %d)) AS ts,
			arrayElement(['build_seconds', 'latency_ms', 'error_rate', 'queue_depth'], number %% 4 + 1) AS metric,
			toFloat64(number %% 1000) / 10 AS value,
			concat('team-', toString(intDiv(number %% %d, 4) %% 5)) AS team, 'bench' AS project,
			concat('svc-', toString(intDiv(number %% %d, 20))) AS service, 'production' AS environment, 'bench' AS source,
			CAST([] AS Array(String)) AS label_keys, CAST([] AS Array(String)) AS label_values,
			toString(number) AS event_id, 'bench' AS batch_id
		FROM system.numbers LIMIT %d`,
		start.Unix(), series, int64(90*24*3600), effectSamples/series, series, series, effectSamples)
	lctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	if err := conn.Exec(lctx, insert); err != nil {
		b.Fatalf("generate %d samples: %v", effectSamples, err)
	}
	for _, t := range []string{"kpi_rollup_1h", "kpi_rollup_1d"} {
		// Steady state: what background merges reach on their own.
		if err := conn.Exec(lctx, "OPTIMIZE TABLE "+t+" FINAL"); err != nil {
			b.Fatal(err)
		}
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM kpi_samples").Scan(&n); err != nil || n != effectSamples {
		b.Fatalf("loaded %d samples (%v), want %d", n, err, effectSamples)
	}
	b.Logf("loaded %d samples into %s in %s", n, db.Name, time.Since(load).Round(time.Second))

	raw := kpiPlan(b, `{"metrics": ["build_seconds"], "aggregation": "avg", "interval": "1h", "groupBy": ["team"]}`, start, end, 1000)
	h := newHost(b, NewConfig().WithBuiltin(false).WithModules(builtinModule(b)))
	optimized, notices := h.Optimize(ctx, raw, query.Catalog())
	if optimized.Source != "kpi_rollup_1h" {
		b.Fatalf("the module chose %s: %v", optimized.Source, notices)
	}

	run := func(b *testing.B, p plan.Plan, tag string, i int) (rows int, sum float64, id string) {
		sql, args, err := query.SQL(p, query.Catalog())
		if err != nil {
			b.Fatal(err)
		}
		id = fmt.Sprintf("%s-%s-%d-%d", db.Name, tag, i, time.Now().UnixNano())
		res, err := conn.Query(clickhouse.Context(ctx, clickhouse.WithQueryID(id)), sql, args...)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Close()
		for res.Next() {
			var t time.Time
			var m, team string
			var v float64
			if err := res.Scan(&t, &m, &team, &v); err != nil {
				b.Fatal(err)
			}
			rows++
			sum += v
		}
		if err := res.Err(); err != nil {
			b.Fatal(err)
		}
		return rows, sum, id
	}
	// Both plans answer the same (avg over whole hours: exact).
	rr, rs, _ := run(b, raw, "check", 0)
	or, os, _ := run(b, optimized, "check", 1)
	if rr != or || fmt.Sprintf("%.6g", rs) != fmt.Sprintf("%.6g", os) {
		b.Fatalf("answers differ: raw %d rows, sum %v; optimized %d rows, sum %v", rr, rs, or, os)
	}

	readRows := map[string]float64{}
	msPerQuery := map[string]float64{}
	for _, v := range []struct {
		name string
		p    plan.Plan
	}{{"without-module", raw}, {"with-module", optimized}} {
		b.Run(v.name, func(b *testing.B) {
			var ids []string
			b.ResetTimer()
			for i := range b.N {
				_, _, id := run(b, v.p, v.name, i)
				ids = append(ids, id)
			}
			b.StopTimer()
			msPerQuery[v.name] = float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
			readRows[v.name] = float64(queryLogReadRows(b, conn, ids)) / float64(b.N)
			b.ReportMetric(readRows[v.name], "read_rows/query")
			if v.name == "with-module" && readRows[v.name] > 0 {
				b.ReportMetric(readRows["without-module"]/readRows[v.name], "x-fewer-rows")
				b.ReportMetric(msPerQuery["without-module"]/msPerQuery[v.name], "x-faster")
			}
		})
	}
}

// queryLogReadRows sums read_rows of the finished queries; 18.16 writes the
// log a moment after a query ends, so it flushes and polls.
func queryLogReadRows(b *testing.B, conn driver.Conn, ids []string) uint64 {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_ = conn.Exec(ctx, "SYSTEM FLUSH LOGS")
		var found, rows uint64
		if err := conn.QueryRow(ctx, "SELECT count(), sum(read_rows) FROM system.query_log WHERE type = 2 AND has(?, query_id)",
			ids).Scan(&found, &rows); err != nil {
			b.Fatal(err)
		}
		if found == uint64(len(ids)) {
			return rows
		}
		if time.Now().After(deadline) {
			b.Fatalf("system.query_log has %d of %d queries", found, len(ids))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
