//go:build integration

package frames_test

import (
	"context"
	"database/sql"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/data/sqlutil"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
)

// benchSQL is the 1M-row result both paths read (docs/benchmarks.md).
const benchSQL = `SELECT number AS id, toDateTime(1700000000 + number) AS ts, toFloat64(number) * 1.5 AS value,
	toString(number % 100) AS team FROM system.numbers LIMIT 1000000`

const benchRows = 1_000_000

func openBoth(b *testing.B) (driver.Conn, *sql.DB) {
	b.Helper()
	opts := &clickhouse.Options{Addr: []string{chtest.Addr(b)}, DialTimeout: 5 * time.Second}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	db := clickhouse.OpenDB(opts)
	b.Cleanup(func() { _ = conn.Close(); _ = db.Close() })
	return conn, db
}

func readOurs(ctx context.Context, b *testing.B, conn driver.Conn) *data.Frame {
	rows, err := conn.Query(ctx, benchSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	f, _, err := frames.ReadAll(ctx, rows, 0)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func readSQLUtil(ctx context.Context, b *testing.B, db *sql.DB) *data.Frame {
	rows, err := db.QueryContext(ctx, benchSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	f, err := sqlutil.FrameFromRows(rows, -1)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// measure runs fn and returns its wall time and bytes allocated (TotalAlloc).
func measure(fn func()) (time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	fn()
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return d, after.TotalAlloc - before.TotalAlloc
}

// BenchmarkIntegrationFrameBuilding reads the same 1M-row result through
// frames.ReadAll (native API, typed scan targets) and through the SDK's
// sqlutil.FrameFromRows (database/sql, row by row), alternating within each
// iteration, and reports both and their ratios.
func BenchmarkIntegrationFrameBuilding(b *testing.B) {
	conn, db := openBoth(b)
	ctx := context.Background()
	if readOurs(ctx, b, conn).Rows() != benchRows || readSQLUtil(ctx, b, db).Rows() != benchRows { // warm up both pools
		b.Fatal("expected 1M rows")
	}
	var oursT, sqlT time.Duration
	var oursB, sqlB uint64
	n := 0
	b.ResetTimer()
	for b.Loop() {
		d, a := measure(func() { readOurs(ctx, b, conn) })
		oursT, oursB = oursT+d, oursB+a
		d, a = measure(func() { readSQLUtil(ctx, b, db) })
		sqlT, sqlB = sqlT+d, sqlB+a
		n++
	}
	b.ReportMetric(float64(n*benchRows)/oursT.Seconds(), "frames_rows/s")
	b.ReportMetric(float64(n*benchRows)/sqlT.Seconds(), "sqlutil_rows/s")
	b.ReportMetric(float64(oursB)/float64(n)/(1<<20), "frames_MiB/op")
	b.ReportMetric(float64(sqlB)/float64(n)/(1<<20), "sqlutil_MiB/op")
	b.ReportMetric(sqlT.Seconds()/oursT.Seconds(), "speedup_x")
	b.ReportMetric(float64(oursB)/float64(sqlB), "bytes_ratio")
}

// frameBytes is the memory a frame's values need: each field's element size
// times its length, plus string contents and the targets of non-nil pointers.
func frameBytes(f *data.Frame) uint64 {
	var total uint64
	for _, fld := range f.Fields {
		n := fld.Len()
		switch fld.Type() {
		case data.FieldTypeString:
			for i := 0; i < n; i++ {
				total += 16 + uint64(len(fld.At(i).(string)))
			}
		case data.FieldTypeTime:
			total += 24 * uint64(n)
		case data.FieldTypeInt8, data.FieldTypeUint8, data.FieldTypeBool:
			total += uint64(n)
		case data.FieldTypeInt16, data.FieldTypeUint16:
			total += 2 * uint64(n)
		case data.FieldTypeInt32, data.FieldTypeUint32, data.FieldTypeFloat32:
			total += 4 * uint64(n)
		default:
			total += 8 * uint64(n)
		}
	}
	return total
}

// peakHeap runs fn while sampling the heap's object bytes every 500µs and
// returns the peak above the heap before fn. GOGC is lowered to 10 for the
// run so the heap tracks live data rather than the collector's headroom.
func peakHeap(fn func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(500 * time.Microsecond)
		defer t.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// BenchmarkIntegrationPeakMemory reports the peak heap growth while reading
// the 1M-row result, over the frame's own size, for both paths: the median
// over the iterations and the worst one (the peak depends on when the
// collector runs, so a busy machine widens the spread).
func BenchmarkIntegrationPeakMemory(b *testing.B) {
	conn, db := openBoth(b)
	ctx := context.Background()
	var size uint64
	var ours, theirs []float64
	readOurs(ctx, b, conn) // warm up both pools, as in the speed benchmark
	readSQLUtil(ctx, b, db)
	for b.Loop() {
		var f *data.Frame
		p := peakHeap(func() { f = readOurs(ctx, b, conn) })
		size = frameBytes(f)
		ours = append(ours, float64(p))
		f = nil
		theirs = append(theirs, float64(peakHeap(func() { f = readSQLUtil(ctx, b, db) })))
		runtime.KeepAlive(f)
	}
	frame := float64(size)
	b.ReportMetric(frame/(1<<20), "frame_MiB")
	b.ReportMetric(median(ours)/frame, "frames_peak/frame")
	b.ReportMetric(slices.Max(ours)/frame, "frames_worst_peak/frame")
	b.ReportMetric(median(theirs)/frame, "sqlutil_peak/frame")
	b.ReportMetric(slices.Max(theirs)/frame, "sqlutil_worst_peak/frame")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
