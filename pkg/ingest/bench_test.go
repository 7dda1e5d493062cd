package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/ingest"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
)

// benchBody is an NDJSON request of rows KPI samples ending at end, one
// per second, over 20 metrics, 5 teams and two labels, as a CI exporter sends.
func benchBody(end time.Time, rows int) []byte {
	var b bytes.Buffer
	b.Grow(rows * 250)
	for i := 0; i < rows; i++ {
		ts := end.Add(-time.Duration(i) * time.Second).UTC().Format(time.RFC3339)
		fmt.Fprintf(&b, `{"ts":%q,"metric":"kpi_%d","value":%d.25,"team":"team-%d","project":"p%d","service":"svc-%d","environment":"production","source":"bench","labels":{"region":"eu-%d","runner":"r%d"}}`+"\n",
			ts, i%20, i, i%5, i%3, i%7, i%2, i%4)
	}
	return b.Bytes()
}

// BenchmarkIngest measures samples per second through the ingest handler
// (decode, validate, duplicate check, insert, ledger) beside a direct
// clickhouse-go columnar batch insert of the same rows into the same table
// (with its three rollup views), in the same run. Each iteration sends one
// request both ways, with fresh timestamps so nothing is a duplicate.
//
//	eval "$(scripts/clickhouse.sh start)"
//	go test -run '^$' -bench BenchmarkIngest -benchtime 10x ./pkg/ingest/
func BenchmarkIngest(b *testing.B) {
	for _, rows := range []int{10_000, 50_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) { benchmarkIngest(b, rows) })
	}
}

func benchmarkIngest(b *testing.B, benchRows int) {
	if os.Getenv("CLICKHOUSE_ADDR") == "" {
		b.Skip("CLICKHOUSE_ADDR is not set: start ClickHouse with scripts/clickhouse.sh and export it to run this benchmark")
	}
	st, _ := chtest.MigratedStore(b)
	ctx := context.Background()
	w := ingest.NewWriter(st, nil)
	h := ingest.Handler{Writer: w, Actor: func(*http.Request) string { return "bench" }}
	mux := http.NewServeMux()
	mux.Handle("POST /ingest/{stream}", h)

	// Time windows never overlap: iteration i of each path gets its own.
	window := time.Duration(benchRows) * time.Second
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var handlerTime, directTime, handlerCPU, directCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		hBody := benchBody(base.Add(-time.Duration(2*i)*window), benchRows)
		dBody := benchBody(base.Add(-time.Duration(2*i+1)*window), benchRows)
		direct, err := ingest.Decode(bytes.NewReader(dBody), "kpi", ingest.ContentTypeNDJSON, ingest.DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		cols, values := ingest.InsertColumns(direct, "direct")
		b.StartTimer()

		c0, t0 := processCPU(b), time.Now()
		err = st.InsertBatch(ctx, "kpi_samples", cols, func(batch driver.Batch) error {
			for c, v := range values {
				if err := batch.Column(c).Append(v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		c1, t1 := processCPU(b), time.Now()
		req := httptest.NewRequest("POST", "/ingest/kpi", bytes.NewReader(hBody))
		req.Header.Set("Content-Type", ingest.ContentTypeNDJSON)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		c2, t2 := processCPU(b), time.Now()
		if rec.Code != http.StatusOK {
			b.Fatalf("ingest answered %d: %s", rec.Code, rec.Body)
		}
		var res ingest.Result
		if err := json.NewDecoder(rec.Body).Decode(&res); err != nil || res.Accepted != benchRows {
			b.Fatalf("ingest accepted %d of %d (%v): %s", res.Accepted, benchRows, err, rec.Body)
		}
		directTime += t1.Sub(t0)
		handlerTime += t2.Sub(t1)
		directCPU += c1 - c0
		handlerCPU += c2 - c1
	}
	b.StopTimer()
	samples := float64(b.N * benchRows)
	handlerRate := samples / handlerTime.Seconds()
	directRate := samples / directTime.Seconds()
	b.ReportMetric(handlerRate, "handler-samples/s")
	b.ReportMetric(directRate, "direct-samples/s")
	b.ReportMetric(handlerRate/directRate, "handler/direct")
	// The CPU this process spent per request on each path (the server's is
	// the same insert for both): steadier than wall time on a loaded machine.
	b.ReportMetric(float64(handlerCPU.Microseconds())/1000/float64(b.N), "handler-cpu-ms/req")
	b.ReportMetric(float64(directCPU.Microseconds())/1000/float64(b.N), "direct-cpu-ms/req")
	b.ReportMetric(0, "ns/op")
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecode is the CPU side of ingest alone: decode, validate, derive
// event_ids and row hashes for one 10,000-sample NDJSON request.
func BenchmarkDecode(b *testing.B) {
	body := benchBody(time.Now().Add(-time.Hour), 10_000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ingest.Decode(bytes.NewReader(body), "kpi", ingest.ContentTypeNDJSON, ingest.DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10_000)/b.Elapsed().Seconds(), "samples/s")
}
