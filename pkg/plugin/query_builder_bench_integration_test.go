//go:build integration

package plugin_test

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// BenchmarkKPIRollupChoice runs one kpi query (avg per service and hour over
// 30 days) as planned (the RollupRewriter picks kpi_rollup_1h) and, as the
// baseline in the same run, the same plan on kpi_samples, and reports the
// raw/rollup time ratio. Both answers are checked equal first.
//
//	go test -tags integration -run '^$' -bench BenchmarkKPIRollupChoice -benchtime 20x ./pkg/plugin/
func BenchmarkKPIRollupChoice(b *testing.B) {
	st, _ := chtest.MigratedStore(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	ds := demo.Generate(demo.Options{Seed: 3, Days: 30, Teams: 4, Now: now, KPIInterval: time.Minute})
	kpi, _ := schema.Lookup(schema.TableKPISamples)
	cols := kpi.InsertColumns()
	const chunk = 100_000
	for lo := 0; lo < len(ds.KPI); lo += chunk {
		hi := min(lo+chunk, len(ds.KPI))
		if err := st.InsertBatch(ctx, "kpi_samples", cols, func(bt driver.Batch) error {
			for _, r := range ds.KPI[lo:hi] {
				if err := bt.Append(r.TS, r.Metric, quarter(r.Value), r.Team, r.Project, r.Service, r.Environment, r.Source,
					[]string{}, []string{}, r.EventID, "bench"); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	q, err := query.Parse("kpi", []byte(`{"metrics":["latency_p95_ms","requests_per_s"],"aggregation":"avg","groupBy":["service"],"interval":"1h"}`))
	if err != nil {
		b.Fatal(err)
	}
	built, err := query.Pipeline{Rewriters: []query.Rewriter{query.RollupRewriter()}}.Prepare(ctx, q,
		query.Env{From: now.Add(-30 * 24 * time.Hour), To: now, Interval: time.Hour, Catalog: query.Catalog()})
	if err != nil {
		b.Fatal(err)
	}
	rollup := built.Plan
	raw := rollup
	raw.Source, raw.TimeColumn = "kpi_samples", "ts"
	if rollup.Source != "kpi_rollup_1h" {
		b.Fatalf("expected the 1h rollup, planned %s", rollup.Source)
	}
	run := func(p planT) (int, float64) {
		sql, args, err := query.SQL(p, query.Catalog())
		if err != nil {
			b.Fatal(err)
		}
		rows, err := st.Conn().Query(ctx, sql, args...)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		n, sum := 0, 0.0
		for rows.Next() {
			var t time.Time
			var m, s string
			var v float64
			if err := rows.Scan(&t, &m, &s, &v); err != nil {
				b.Fatal(err)
			}
			n++
			sum += v
		}
		return n, sum
	}
	nr, sr := run(rollup)
	nw, sw := run(raw)
	if nr != nw || sr != sw || nr == 0 {
		b.Fatalf("rollup and raw disagree: %d rows sum %v vs %d rows sum %v", nr, sr, nw, sw)
	}
	var rawTime, rollupTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		run(raw)
		t1 := time.Now()
		run(rollup)
		rawTime += t1.Sub(t0)
		rollupTime += time.Since(t1)
	}
	b.ReportMetric(float64(rollupTime.Microseconds())/float64(b.N)/1000, "rollup-ms/op")
	b.ReportMetric(float64(rawTime.Microseconds())/float64(b.N)/1000, "raw-ms/op")
	b.ReportMetric(float64(rawTime)/float64(rollupTime), "raw/rollup")
	b.ReportMetric(float64(len(ds.KPI)), "samples")
	b.ReportMetric(float64(nr), "rows")
}

type planT = plan.Plan
