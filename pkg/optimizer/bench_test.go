package optimizer

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kpiflow/kpiflow/pkg/query"
)

// BenchmarkOverhead is what a query pays for one module: Optimize from plan
// in to plan out (request JSON, the call, the answer's checks), with pooled
// instances beside a fresh instance per call, for the minimal WAT module
// (examples/note) and the built-in Go module. It reports p50 and p99 and
// the ratio fresh/pooled at p50.
//
//	go test ./pkg/optimizer -run XXX -bench Overhead -benchtime 2000x
func BenchmarkOverhead(b *testing.B) {
	ctx := context.Background()
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	// A 90-day hourly kpi query grouped by team: the built-in module moves it
	// to kpi_rollup_1h.
	p := kpiPlan(b, `{"metrics": ["build_seconds"], "aggregation": "avg", "interval": "1h", "groupBy": ["team"]}`,
		end.Add(-90*24*time.Hour), end, 1000)
	c := query.Catalog()
	modules := []struct {
		name string
		mod  Module
	}{
		{"note-wat", Module{Name: "note", Wasm: wat(b, "examples/note/note.wat")}},
		{"builtin-go", builtinModule(b)},
	}
	for _, m := range modules {
		// A generous deadline: a fresh Go instance takes milliseconds to
		// start, and a busy machine must not turn a figure into a skip.
		h := newHost(b, NewConfig().WithBuiltin(false).WithCallTimeout(10*time.Second).WithModules(m.mod))
		var pooledP50 time.Duration
		for _, mode := range []string{"pooled", "fresh"} {
			b.Run(m.name+"/"+mode, func(b *testing.B) {
				// Warm: the pool's instance has seen the catalog once.
				if _, n := h.Optimize(ctx, p, c); len(n) > 0 && n[0].Kind == NoticeFailed {
					b.Fatal(n[0].Text())
				}
				took := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for range b.N {
					if mode == "fresh" {
						b.StopTimer()
						drain(h.modules[0])
						b.StartTimer()
					}
					start := time.Now()
					_, notices := h.Optimize(ctx, p, c)
					took = append(took, time.Since(start))
					if len(notices) > 0 && notices[0].Kind == NoticeFailed {
						b.Fatal(notices[0].Text())
					}
				}
				b.StopTimer()
				slices.Sort(took)
				p50, p99 := took[len(took)/2], took[len(took)*99/100]
				b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
				b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
				if mode == "pooled" {
					pooledP50 = p50
				} else if pooledP50 > 0 {
					b.ReportMetric(float64(p50)/float64(pooledP50), "fresh/pooled-p50")
				}
			})
		}
	}
}

// drain throws away the module's idle instances, so the next call starts
// a fresh one.
func drain(m *module) {
	for {
		select {
		case inst := <-m.idle:
			m.discard(inst)
		default:
			return
		}
	}
}

// BenchmarkCompileBuiltin is what a plugin process waits for before the
// built-in module is ready: compiling it with no disk cache (the first
// start) beside loading it from a warm disk cache (every later start), in
// the same run, with the ratio.
//
//	go test ./pkg/optimizer -run XXX -bench CompileBuiltin -benchtime 3x
func BenchmarkCompileBuiltin(b *testing.B) {
	ctx := context.Background()
	code := builtinWasm(b)
	dir := b.TempDir()
	var cold time.Duration
	for _, mode := range []string{"cold", "disk-cache"} {
		b.Run(mode, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				cacheDir := ""
				if mode == "disk-cache" {
					cacheDir = dir
				}
				eng, err := NewEngine(ctx, cacheDir)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				c, err := eng.compile(ctx, code)
				total += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				eng.release(c)
				if err := eng.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
			mean := total / time.Duration(b.N)
			b.ReportMetric(float64(mean.Milliseconds()), "ms/compile")
			if mode == "cold" {
				cold = mean
				// Fill the cache for the next sub-benchmark.
				eng, err := NewEngine(ctx, dir)
				if err != nil {
					b.Fatal(err)
				}
				c, err := eng.compile(ctx, code)
				if err != nil {
					b.Fatal(err)
				}
				eng.release(c)
				_ = eng.Close(ctx)
			} else if cold > 0 {
				b.ReportMetric(float64(cold)/float64(mean), "cold/cached")
			}
		})
	}
}
