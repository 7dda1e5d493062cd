package forecast

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// The three targets of the forecast issue, each beside a baseline in the
// same run (see docs/benchmarks.md):
//
//	go test -run '^$' -bench . -benchtime 20x ./pkg/forecast/

// loop runs body b.N times and reports, besides wall time, the process's
// CPU milliseconds per operation ("cpu-ms/op").
func loop(b *testing.B, body func()) {
	start := processCPU()
	for b.Loop() {
		body()
	}
	b.ReportMetric(float64(processCPU()-start)/1e6/float64(b.N), "cpu-ms/op")
}

func benchThroughput() History {
	r := rand.New(rand.NewPCG(1, 1))
	done := make([]int, 90)
	for i := range done {
		done[i] = poisson(r, 3)
	}
	return History{Done: done}
}

// BenchmarkCompletion: 10,000 trials over 90 days of history (3 items a day
// on average), 200 items remaining, percentile dates and burn-up.
func BenchmarkCompletion(b *testing.B) {
	h := benchThroughput()
	o := NewOptions()
	loop(b, func() {
		if _, err := Completion(h, 200, o); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkCompletionBaseline draws the same number of days (10,000 trials ×
// about 67 days) from a plain PCG with math/rand/v2's IntN and sums them:
// the floor of any Monte Carlo over these trials.
func BenchmarkCompletionBaseline(b *testing.B) {
	h := benchThroughput()
	loop(b, func() {
		r := rand.New(rand.NewPCG(1, 2))
		total := 0
		for t := 0; t < 10_000; t++ {
			cum := 0
			for cum < 200 {
				cum += h.Done[r.IntN(len(h.Done))]
			}
			total += cum
		}
		if total == 0 {
			b.Fatal("no work")
		}
	})
}

func benchSeries(n int) []float64 {
	r := rand.New(rand.NewPCG(3, 3))
	y := make([]float64, n)
	for i := range y {
		y[i] = 100 + 0.001*float64(i) + 10*math.Sin(2*math.Pi*float64(i%24)/24) + 3*r.NormFloat64()
	}
	return y
}

// BenchmarkTrendSelection fits every candidate model (simple, Holt, damped
// Holt, Holt-Winters with a season of 24) to 50,000 hourly points and picks
// one by AICc.
func BenchmarkTrendSelection(b *testing.B) {
	y := benchSeries(50_000)
	o := NewOptions().WithSeasonLength(24)
	loop(b, func() {
		if _, err := FitTrend(y, o); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkTrendFilterBaseline is one pass of the Holt-Winters recursions
// over the same 50,000 points (one evaluation of the search's objective):
// selection costs about this many passes.
func BenchmarkTrendFilterBaseline(b *testing.B) {
	y := benchSeries(50_000)
	s := specOf(ModelHoltWinters, 24)
	x := make([]float64, s.stateLen())
	loop(b, func() {
		s.expand(s.heuristicStates(y), x)
		s.filter(y, params{alpha: 0.3, beta: 0.01, gamma: 0.1, phi: 1}, x, nil)
	})
}

func benchTasks() (finished, ages []float64) {
	r := rand.New(rand.NewPCG(5, 5))
	finished = make([]float64, 20_000)
	for i := range finished {
		finished[i] = 86400 * 5 * math.Exp(0.8*r.NormFloat64())
	}
	ages = make([]float64, 5000)
	for i := range ages {
		ages[i] = 86400 * 10 * r.Float64()
	}
	return finished, ages
}

// BenchmarkTaskETA forecasts P50 and P85 for 5,000 tasks in progress from
// 20,000 finished ones.
func BenchmarkTaskETA(b *testing.B) {
	finished, ages := benchTasks()
	ps := []float64{50, 85}
	loop(b, func() {
		if _, err := TaskETAs(finished, ages, ps); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkTaskETABaseline sorts the 20,000 cycle times, the part no
// method can skip.
func BenchmarkTaskETABaseline(b *testing.B) {
	finished, _ := benchTasks()
	buf := make([]float64, len(finished))
	loop(b, func() {
		copy(buf, finished)
		sort.Float64s(buf)
	})
}
