package forecast

import (
	"fmt"
	"math"
	"sort"
)

// Backtest is how often past forecasts held: of Checks past forecasts whose
// outcome is known, Held came true.
type Backtest struct {
	Percentile float64
	Checks     int
	Held       int
}

// Rate is Held/Checks, NaN without checks.
func (b Backtest) Rate() float64 {
	if b.Checks == 0 {
		return math.NaN()
	}
	return float64(b.Held) / float64(b.Checks)
}

// backtestTrials bounds the trials of each replayed forecast.
const backtestTrials = 2000

// BacktestCompletion replays completion forecasts over the past: at every
// origin day t of h.Done (from window on) it forecasts, from the window days
// before t, the percentile day by which the next target items are done, and
// checks whether the days from t on actually finished them by then. Origins
// whose outcome the data does not show yet are skipped. Scope growth is not
// replayed (the target is a fixed count).
func BacktestCompletion(h History, window, target int, percentile float64, o Options) (Backtest, error) {
	bt := Backtest{Percentile: percentile}
	if err := h.validate(); err != nil {
		return bt, err
	}
	if window < 1 || target < 1 {
		return bt, fmt.Errorf("backtest: window %d and target %d must be at least 1", window, target)
	}
	o = o.WithTrials(min(o.trials, backtestTrials)).WithPercentiles(percentile)
	for t := window; t < len(h.Done); t++ {
		past := History{Done: h.Done[t-window : t]}
		c, err := completion(past, target, o, false)
		if err != nil {
			return bt, err
		}
		dp := c.Percentiles[0]
		if !dp.Within {
			continue
		}
		actual, cum := 0, 0
		for d := t; d < len(h.Done); d++ {
			cum += h.Done[d]
			if cum >= target {
				actual = d - t + 1
				break
			}
		}
		switch {
		case actual > 0 && actual <= dp.Day:
			bt.Checks++
			bt.Held++
		case t+dp.Day <= len(h.Done):
			bt.Checks++
		}
	}
	return bt, nil
}

// Span is one task's life in seconds: Start is its first in-progress time,
// End its first done time (NaN while it is still open).
type Span struct {
	Start, End float64
}

// BacktestTaskETA replays task ETAs: at each origin time it forecasts, from
// the tasks finished before it, the percentile ETA of every task in progress
// then, and checks whether the task was done by its ETA. ETAs that lie after
// now for tasks still open are skipped.
func BacktestTaskETA(spans []Span, origins []float64, now, percentile float64) Backtest {
	bt := Backtest{Percentile: percentile}
	for _, t0 := range origins {
		var finished, ages []float64
		var open []Span
		for _, s := range spans {
			switch {
			case !math.IsNaN(s.End) && s.End <= t0 && s.End > s.Start:
				finished = append(finished, s.End-s.Start)
			case s.Start <= t0 && (math.IsNaN(s.End) || s.End > t0):
				open = append(open, s)
				ages = append(ages, t0-s.Start)
			}
		}
		etas, err := TaskETAs(finished, ages, []float64{percentile})
		if err != nil {
			continue
		}
		for i, e := range etas {
			q := e.CycleTime[0]
			if math.IsNaN(q) {
				continue
			}
			due := open[i].Start + q
			switch {
			case !math.IsNaN(open[i].End) && open[i].End <= due:
				bt.Checks++
				bt.Held++
			case due <= now:
				bt.Checks++
			}
		}
	}
	return bt
}

// TaskETA is one in-progress task's forecast: CycleTime[i] is the total
// cycle time (not the time left) it stays within with Percentiles[i] %
// chance, NaN when too few finished tasks were older than it. Basis is the
// number of finished tasks that took longer than its age.
type TaskETA struct {
	Age       float64
	CycleTime []float64
	Basis     int
}

// TaskETAs forecasts in-progress tasks from the cycle times of finished
// ones, each conditioned on the task's age: a task 10 days old is forecast
// from the finished tasks that took more than 10 days. The percentile is the
// order statistic that bounds a new draw with that probability: the j-th
// smallest of the k conditioning tasks, j = ⌈p·(k+1)⌉; with j > k there is
// no such bound and the ETA is NaN.
func TaskETAs(finished, ages, percentiles []float64) ([]TaskETA, error) {
	cts := make([]float64, 0, len(finished))
	for i, c := range finished {
		if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
			return nil, fmt.Errorf("cycle time %d: %v; expected a finite, non-negative duration", i, c)
		}
		cts = append(cts, c)
	}
	sort.Float64s(cts)
	out := make([]TaskETA, len(ages))
	for i, a := range ages {
		if math.IsNaN(a) || math.IsInf(a, 0) || a < 0 {
			return nil, fmt.Errorf("age %d: %v; expected a finite, non-negative duration", i, a)
		}
		lo := sort.Search(len(cts), func(j int) bool { return cts[j] > a })
		k := len(cts) - lo
		e := TaskETA{Age: a, Basis: k, CycleTime: make([]float64, len(percentiles))}
		for pi, p := range percentiles {
			j := int(math.Ceil(p/100*float64(k+1) - 1e-9))
			if j < 1 || j > k {
				e.CycleTime[pi] = math.NaN()
				continue
			}
			e.CycleTime[pi] = cts[lo+j-1]
		}
		out[i] = e
	}
	return out, nil
}
