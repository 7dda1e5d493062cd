//go:build cluster

package clustersuite

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// BenchmarkClusterVsOneServer loads the same 90-day dataset (pkg/demo
// defaults: 215,000 KPI samples) through the plugin protocol into one server
// and into the 2x2 cluster, chunk by chunk in turn, then runs two 90-day kpi
// queries on both in turn. It reports ingest rows/s and query milliseconds
// (median) of each, and cluster/one-server ratios. On one machine the four
// servers share its cores: this measures the cluster's overhead, not a
// speed-up. One iteration is the whole run:
//
//	go test -tags cluster -run '^$' -bench ClusterVsOneServer -benchtime 1x ./pkg/internal/clustersuite/
func BenchmarkClusterVsOneServer(b *testing.B) {
	c := chtest.NewCluster(b)
	db := c.NewDatabase(b)
	p := plugintest.Start(b)
	sdb := chtest.NewDatabase(b)
	targets := []target{
		{name: "one server", p: p, ds: p.DataSource(b, sdb.JSONData(), nil)},
		{name: "cluster", p: p, ds: p.DataSource(b, db.JSONData(c.Nodes[0]), nil)},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	d := demo.Generate(demo.Options{Seed: 11, Days: 90, Now: now})
	if b.N > 1 {
		b.Fatal("one iteration is the whole run (a second would only replay the batches): run with -benchtime 1x")
	}
	for _, tg := range targets {
		r := tg.p.CallResource(ctx, b, tg.admin(), http.MethodPost, "admin/migrate", nil, nil)
		if r.Status != http.StatusOK {
			b.Fatalf("%s: migrate: %s", tg.name, r.Body)
		}
	}
	spent := make([]time.Duration, len(targets))
	for ch, err := range d.Chunks(demo.StreamKPI, 10_000) {
		if err != nil {
			b.Fatal(err)
		}
		for i, tg := range targets {
			start := time.Now()
			r := tg.p.CallResource(ctx, b, tg.ds, http.MethodPost, "ingest/kpi",
				map[string]string{"Content-Type": "application/x-ndjson", "Idempotency-Key": fmt.Sprintf("bench-%d", ch.Index)}, ch.Body)
			spent[i] += time.Since(start)
			if r.Status != http.StatusOK {
				b.Fatalf("%s: chunk %d: %d %s", tg.name, ch.Index, r.Status, r.Body)
			}
		}
	}
	rates := make([]float64, len(targets))
	for i := range targets {
		rates[i] = float64(len(d.KPI)) / spent[i].Seconds()
	}
	b.ReportMetric(rates[0], "one_rows/s")
	b.ReportMetric(rates[1], "cluster_rows/s")
	b.ReportMetric(rates[1]/rates[0], "cluster/one_ingest")

	for _, q := range []struct {
		name string
		body map[string]any
	}{
		// 90 days of daily buckets: the 1d rollup answers.
		{"rollup", map[string]any{"metrics": []string{"latency_p95_ms"}, "aggregation": "avg", "groupBy": []string{"service"}, "interval": "1d"}},
		// Grouped by a label: kpi_samples answers, all 90 days of rows.
		{"raw", map[string]any{"metrics": []string{"latency_p95_ms"}, "aggregation": "p95", "groupBy": []string{"label:region"}, "interval": "1d"}},
	} {
		times := make([][]float64, len(targets))
		for range 7 {
			for i, tg := range targets {
				start := time.Now()
				resp := tg.query(ctx, b, "kpi", q.body, now.Add(-90*24*time.Hour), now, time.Hour)
				times[i] = append(times[i], float64(time.Since(start).Microseconds())/1000)
				if resp.Error != nil {
					b.Fatalf("%s: %s query: %v", tg.name, q.name, resp.Error)
				}
			}
		}
		med := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
		b.ReportMetric(med(times[0]), "one_"+q.name+"_ms")
		b.ReportMetric(med(times[1]), "cluster_"+q.name+"_ms")
		b.ReportMetric(med(times[1])/med(times[0]), "cluster/one_"+q.name)
	}
}
