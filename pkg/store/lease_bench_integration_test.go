//go:build integration

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// BenchmarkLease measures what the stream lease adds to every ingest batch
// (take, check before the link, free: one system.tables read and two
// renames), against the baseline of one round trip every batch makes anyway:
// reading the ledger head. It reports both and their ratio.
//
//	go test -tags integration -run '^$' -bench BenchmarkLease -benchtime 200x ./pkg/store/
func BenchmarkLease(b *testing.B) {
	st, _ := chtest.MigratedStore(b)
	ctx := context.Background()
	var leaseTime, headTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		began := time.Now()
		l, err := st.AcquireLease(ctx, "kpi", store.DefaultLeaseTTL)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Check(ctx); err != nil {
			b.Fatal(err)
		}
		if err := l.Release(ctx); err != nil {
			b.Fatal(err)
		}
		leaseTime += time.Since(began)

		began = time.Now()
		var seq uint64
		var hash string
		if err := st.Conn().QueryRow(ctx, "SELECT max(seq), argMax(hash, seq) FROM ingest_ledger WHERE stream = ?", "kpi").Scan(&seq, &hash); err != nil {
			b.Fatal(err)
		}
		headTime += time.Since(began)
	}
	b.ReportMetric(float64(leaseTime.Microseconds())/float64(b.N), "µs/lease")
	b.ReportMetric(float64(headTime.Microseconds())/float64(b.N), "µs/head_read")
	b.ReportMetric(float64(leaseTime)/float64(headTime), "lease/head_read")
}
