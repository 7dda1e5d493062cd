package forecast

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// poisson draws a Poisson(λ) count (Knuth; fine for small λ).
func poisson(r *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func TestCompletionDegenerate(t *testing.T) {
	o := NewOptions().WithTrials(2000)
	t.Run("constant throughput gives one date for every percentile", func(t *testing.T) {
		c, err := Completion(History{Done: repeat(5, 90)}, 200, o)
		require.NoError(t, err)
		for _, p := range c.Percentiles {
			require.Equal(t, DayPercentile{Percentile: p.Percentile, Day: 40, Within: true}, p)
		}
		require.Zero(t, c.NotDone)
		// The burn-up reaches the scope on day 40 on every line.
		last := c.Burnup[len(c.Burnup)-1]
		require.Equal(t, 40, last.Day)
		require.Equal(t, []int{200, 200, 200, 200}, last.Done)
		first := 5 * c.Burnup[0].Day
		require.Equal(t, []int{first, first, first, first}, c.Burnup[0].Done)
	})
	t.Run("zero throughput: no completion within the horizon, no date", func(t *testing.T) {
		c, err := Completion(History{Done: repeat(0, 90)}, 10, o)
		require.NoError(t, err)
		for _, p := range c.Percentiles {
			require.False(t, p.Within)
			require.Zero(t, p.Day)
		}
		require.Equal(t, 2000, c.NotDone)
	})
	t.Run("throughput too slow for the horizon", func(t *testing.T) {
		done := repeat(0, 90)
		done[3] = 1
		c, err := Completion(History{Done: done}, 1000, o.WithHorizon(365))
		require.NoError(t, err)
		for _, p := range c.Percentiles {
			require.False(t, p.Within, "P%v", p.Percentile)
		}
	})
	t.Run("nothing remaining is done today", func(t *testing.T) {
		c, err := Completion(History{Done: repeat(3, 10)}, 0, o)
		require.NoError(t, err)
		for _, p := range c.Percentiles {
			require.True(t, p.Within)
			require.Zero(t, p.Day)
		}
	})
	t.Run("bad input names what is wrong", func(t *testing.T) {
		_, err := Completion(History{}, 3, o)
		require.ErrorContains(t, err, "no days")
		_, err = Completion(History{Done: []int{1, -1}}, 3, o)
		require.ErrorContains(t, err, "day 1 has -1")
		_, err = Completion(History{Done: []int{1}}, -3, o)
		require.ErrorContains(t, err, "remaining")
		_, err = Completion(History{Done: []int{1, 2}, Added: []int{1}}, 3, o)
		require.ErrorContains(t, err, "1 days of added items for 2 days")
	})
	t.Run("how many with constant throughput", func(t *testing.T) {
		hm, err := HowMany(History{Done: repeat(4, 30)}, 10, o)
		require.NoError(t, err)
		for _, p := range hm.Percentiles {
			require.Equal(t, 40, p.Items)
		}
	})
}

func TestCompletionDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	done := make([]int, 90)
	for i := range done {
		done[i] = poisson(r, 2)
	}
	o := NewOptions().WithTrials(3000).WithSeed(42)
	a, err := Completion(History{Done: done}, 120, o)
	require.NoError(t, err)
	b, err := Completion(History{Done: done}, 120, o)
	require.NoError(t, err)
	require.Equal(t, a, b, "same data and query: same dates")
	c, err := Completion(History{Done: done}, 120, o.WithSeed(43))
	require.NoError(t, err)
	require.NotEqual(t, a.Seed, c.Seed)
	// Percentile days never decrease, and the burn-up lines cross the scope
	// at their percentile's date.
	for i := 1; i < len(a.Percentiles); i++ {
		require.GreaterOrEqual(t, a.Percentiles[i].Day, a.Percentiles[i-1].Day)
	}
	for pi, p := range a.Percentiles {
		for _, bp := range a.Burnup {
			if bp.Day >= p.Day {
				require.Equal(t, 120, bp.Done[pi], "P%v line at day %d", p.Percentile, bp.Day)
			} else {
				require.Less(t, bp.Done[pi], 120, "P%v line at day %d", p.Percentile, bp.Day)
			}
		}
	}
}

// TestCompletionCalibration: on synthetic stationary throughput (Poisson,
// one item every other day on average) each of 1,500 independent backtests
// draws 90 days of history and a future, forecasts the P50 and P85 days for
// 50 items, and checks them against the future. P85 must hold 85 % ± 3 % of
// the time. P50 gets ± 5 %: a date holds when the work ends on that very day
// too, so each percentile date holds a little more often than its
// percentile (by up to the chance of finishing on exactly that day, about
// 2 % near the median here).
func TestCompletionCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("calibration runs 1,500 forecasts")
	}
	const runs, remaining = 1500, 50
	r := rand.New(rand.NewPCG(7, 11))
	o := NewOptions().WithTrials(1000).WithPercentiles(50, 85)
	var held50, held85 int
	for run := 0; run < runs; run++ {
		hist := make([]int, 90)
		for i := range hist {
			hist[i] = poisson(r, 0.5)
		}
		actual, cum := 0, 0
		for actual = 1; ; actual++ {
			cum += poisson(r, 0.5)
			if cum >= remaining {
				break
			}
		}
		c, err := completion(History{Done: hist}, remaining, o.WithSeed(uint64(run)), false)
		require.NoError(t, err)
		if actual <= c.Percentiles[0].Day {
			held50++
		}
		if actual <= c.Percentiles[1].Day {
			held85++
		}
	}
	r50, r85 := float64(held50)/runs, float64(held85)/runs
	t.Logf("over %d backtests: P50 held %.1f %%, P85 held %.1f %%", runs, 100*r50, 100*r85)
	require.InDelta(t, 0.85, r85, 0.03)
	require.InDelta(t, 0.50, r50, 0.05)
}

func TestBacktestCompletion(t *testing.T) {
	bt, err := BacktestCompletion(History{Done: repeat(2, 120)}, 90, 10, 85, NewOptions())
	require.NoError(t, err)
	// Constant throughput: every decidable forecast (5 days) held.
	require.Equal(t, 26, bt.Checks)
	require.Equal(t, 26, bt.Held)
	require.InDelta(t, 1.0, bt.Rate(), 0)
	_, err = BacktestCompletion(History{Done: repeat(2, 10)}, 0, 10, 85, NewOptions())
	require.ErrorContains(t, err, "window 0")
}

func TestTaskETAs(t *testing.T) {
	finished := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	etas, err := TaskETAs(finished, []float64{0, 5.5, 9.5, 20}, []float64{50, 85})
	require.NoError(t, err)
	// Age 0: all 10 tasks; j = ⌈0.5·11⌉ = 6 → 6, ⌈0.85·11⌉ = 10 → 10.
	require.Equal(t, []float64{6, 10}, etas[0].CycleTime)
	require.Equal(t, 10, etas[0].Basis)
	// Age 5.5: tasks 6..10 (k = 5); j = 3 → 8, j = ⌈5.1⌉ = 6 > 5 → none.
	require.Equal(t, 8.0, etas[1].CycleTime[0])
	require.True(t, math.IsNaN(etas[1].CycleTime[1]))
	// Age 9.5: one task older; P50 j = 1 → 10.
	require.Equal(t, 10.0, etas[2].CycleTime[0])
	// Older than every finished task: no ETA.
	require.Zero(t, etas[3].Basis)
	require.True(t, math.IsNaN(etas[3].CycleTime[0]))
	_, err = TaskETAs([]float64{1, math.NaN()}, nil, []float64{50})
	require.ErrorContains(t, err, "cycle time 1")
	_, err = TaskETAs([]float64{1}, []float64{-1}, []float64{50})
	require.ErrorContains(t, err, "age 0")
}

// TestTaskETACalibration: cycle times are lognormal (median 5 days); for
// 2,000 checks a history of 400 finished tasks is drawn, then a task of a
// given age (up to the distribution's 70th percentile) whose true cycle
// time is drawn from the distribution beyond that age. Its P85 ETA must
// hold 85 % ± 3 % of the time, P50 50 % ± 4 %.
func TestTaskETACalibration(t *testing.T) {
	const checks = 2000
	r := rand.New(rand.NewPCG(3, 5))
	draw := func() float64 { return 5 * math.Exp(0.8*r.NormFloat64()) }
	var held50, held85, n int
	for i := 0; i < checks; i++ {
		hist := make([]float64, 400)
		for j := range hist {
			hist[j] = draw()
		}
		age := 5 * math.Exp(0.8*0.5244*r.Float64()*2-0.8) // between the 16th and 70th percentile
		truth := draw()
		for truth <= age {
			truth = draw()
		}
		etas, err := TaskETAs(hist, []float64{age}, []float64{50, 85})
		require.NoError(t, err)
		if math.IsNaN(etas[0].CycleTime[1]) {
			continue
		}
		n++
		if truth <= etas[0].CycleTime[0] {
			held50++
		}
		if truth <= etas[0].CycleTime[1] {
			held85++
		}
	}
	r50, r85 := float64(held50)/float64(n), float64(held85)/float64(n)
	t.Logf("over %d checks: P50 held %.1f %%, P85 held %.1f %%", n, 100*r50, 100*r85)
	require.GreaterOrEqual(t, n, 1900)
	require.InDelta(t, 0.85, r85, 0.03)
	require.InDelta(t, 0.50, r50, 0.04)
}

func TestBacktestTaskETA(t *testing.T) {
	// Tasks every day, each taking exactly 3 days; one still open.
	var spans []Span
	for d := 0; d < 40; d++ {
		spans = append(spans, Span{Start: float64(d), End: float64(d + 3)})
	}
	spans = append(spans, Span{Start: 41, End: math.NaN()})
	bt := BacktestTaskETA(spans, []float64{20, 30}, 43, 85)
	require.Equal(t, bt.Checks, bt.Held)
	require.Greater(t, bt.Checks, 0)
}
