package forecast

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
)

// History is daily counts, oldest day first: Done is the items finished each
// day (days without any included, as 0), Added the items that entered the
// scope each day, for scope growth (nil for none; else as long as Done).
type History struct {
	Done  []int
	Added []int
}

func (h History) validate() error {
	if len(h.Done) == 0 {
		return fmt.Errorf("history: no days of throughput")
	}
	if h.Added != nil && len(h.Added) != len(h.Done) {
		return fmt.Errorf("history: %d days of added items for %d days of throughput", len(h.Added), len(h.Done))
	}
	for i, v := range h.Done {
		if v < 0 {
			return fmt.Errorf("history: day %d has %d items done; counts cannot be negative", i, v)
		}
	}
	for i, v := range h.Added {
		if v < 0 {
			return fmt.Errorf("history: day %d has %d items added; counts cannot be negative", i, v)
		}
	}
	return nil
}

func (h History) growth() bool { return h.Added != nil }

// DayPercentile is one percentile of a completion forecast. Day 1 is the
// first forecast day (the as-of day itself), so the work is done by the end
// of day Day; Day 0 means nothing was left to do. Within is false when fewer
// than Percentile % of the trials finished within the horizon: there is then
// no date, and Day is 0.
type DayPercentile struct {
	Percentile float64
	Day        int
	Within     bool
}

// BurnupPoint is the projected progress at the end of forecast day Day:
// Done[i] items (of the scope at that point) are finished with at least
// Percentiles[i] % chance. Scope is the median projected scope (the remaining
// items plus those added, when the history has scope growth).
type BurnupPoint struct {
	Day   int
	Done  []int
	Scope int
}

// CompletionResult is a completion forecast.
type CompletionResult struct {
	Remaining   int
	Percentiles []DayPercentile
	// Burnup holds up to 60 points from the first forecast day to the
	// largest percentile day (or a year when some are not within the horizon).
	Burnup []BurnupPoint
	Trials int
	// NotDone counts trials that did not finish within the horizon.
	NotDone int
	Horizon int
	Seed    uint64
}

// mixSeed combines the query's seed with everything the result depends on,
// so equal inputs give equal results and different data gives fresh draws.
func mixSeed(o Options, mode string, n int, h History) uint64 {
	f := fnv.New64a()
	var b [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		_, _ = f.Write(b[:])
	}
	_, _ = f.Write([]byte(mode))
	put(o.seed)
	put(uint64(o.trials))
	put(uint64(o.horizon))
	put(uint64(n))
	put(uint64(len(h.Done)))
	for _, v := range h.Done {
		put(uint64(v))
	}
	if h.growth() {
		for _, v := range h.Added {
			put(uint64(v))
		}
	}
	return f.Sum64()
}

// splitmix64 spreads trial numbers into independent stream seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// sampler draws day indices for one trial. Each trial has its own PCG
// stream (seed, trial), so a trial replays identically.
type sampler struct {
	src  rand.PCG
	buf  uint64
	half bool
}

func (s *sampler) reset(seed uint64, trial int) {
	s.src.Seed(seed, splitmix64(uint64(trial)))
	s.half = false
}

// index returns a uniform index below n (n < 2^31) from 32 random bits by
// Lemire's multiply-shift; two indices come from one 64-bit draw. The bias,
// below n/2^32, is far under the Monte Carlo error.
func (s *sampler) index(n uint64) int {
	var r uint64
	if s.half {
		r = s.buf >> 32
		s.half = false
	} else {
		s.buf = s.src.Uint64()
		r = s.buf & 0xffffffff
		s.half = true
	}
	return int((r * n) >> 32)
}

// pool is one trial's bootstrap resample of the history.
type pool struct {
	done, added []int
	doneSum     int
}

func (p *pool) fill(s *sampler, h History) {
	n := uint64(len(h.Done))
	sum := 0
	if p.added == nil {
		for j := range p.done {
			v := h.Done[s.index(n)]
			p.done[j] = v
			sum += v
		}
	} else {
		for j := range p.done {
			i := s.index(n)
			p.done[j] = h.Done[i]
			p.added[j] = h.Added[i]
			sum += h.Done[i]
		}
	}
	p.doneSum = sum
}

func newPool(h History) *pool {
	p := &pool{done: make([]int, len(h.Done))}
	if h.growth() {
		p.added = make([]int, len(h.Done))
	}
	return p
}

// maxBurnupPoints bounds the burn-up series.
const maxBurnupPoints = 60

// Completion forecasts when the remaining items (plus, with scope growth,
// the items added meanwhile) will be done: each trial resamples the history,
// then draws one day of it per forecast day until the cumulative done count
// reaches the scope or the horizon ends.
func Completion(h History, remaining int, o Options) (CompletionResult, error) {
	return completion(h, remaining, o, true)
}

// completion is Completion; the burn-up is left out when withBurnup is false
// (backtests only need the dates).
func completion(h History, remaining int, o Options, withBurnup bool) (CompletionResult, error) {
	if err := h.validate(); err != nil {
		return CompletionResult{}, err
	}
	if remaining < 0 {
		return CompletionResult{}, fmt.Errorf("remaining: %d items; expected 0 or more", remaining)
	}
	res := CompletionResult{Remaining: remaining, Trials: o.trials, Horizon: o.horizon, Seed: mixSeed(o, "completion", remaining, h)}
	if remaining == 0 {
		for _, p := range o.percentiles {
			res.Percentiles = append(res.Percentiles, DayPercentile{Percentile: p, Day: 0, Within: true})
		}
		return res, nil
	}
	var totalDone, totalAdded int
	for i, v := range h.Done {
		totalDone += v
		if h.growth() {
			totalAdded += h.Added[i]
		}
	}
	if totalDone == 0 {
		// Nothing was ever finished: no trial can finish either.
		res.NotDone = o.trials
		for _, p := range o.percentiles {
			res.Percentiles = append(res.Percentiles, DayPercentile{Percentile: p})
		}
		return res, nil
	}

	// Burn-up sampling: every stride days over an estimate of the span.
	days := float64(len(h.Done))
	net := (float64(totalDone) - float64(totalAdded)) / days
	span := 365
	if net > 0 {
		span = int(math.Min(float64(o.horizon), math.Ceil(2.5*float64(remaining)/net)+7))
	}
	span = min(span, o.horizon)
	stride := max(1, (span+maxBurnupPoints-1)/maxBurnupPoints)
	points := min(maxBurnupPoints, (span+stride-1)/stride)
	if !withBurnup {
		points = 0
	}
	doneAt := make([]int32, o.trials*points)
	var scopeAt []int32
	if h.growth() {
		scopeAt = make([]int32, o.trials*points)
	}

	finish := make([]int, o.trials)
	growth := h.growth()
	var s sampler
	pl := newPool(h)
	n := uint64(len(h.Done))
	for t := 0; t < o.trials; t++ {
		s.reset(res.Seed, t)
		pl.fill(&s, h)
		// Point-major layout: the burn-up reads one point of every trial.
		put := func(k, done, scope int) {
			doneAt[k*o.trials+t] = int32(min(done, math.MaxInt32))
			if scopeAt != nil {
				scopeAt[k*o.trials+t] = int32(min(scope, math.MaxInt32))
			}
		}
		cum, scope, k := 0, remaining, 0
		if pl.doneSum == 0 {
			// This resample holds no finished item: the trial never ends.
			for ; k < points; k++ {
				put(k, 0, scope)
			}
			continue
		}
		for day := 1; day <= o.horizon; day++ {
			j := s.index(n)
			cum += pl.done[j]
			if growth {
				scope += pl.added[j]
			}
			done := cum >= scope
			if done {
				cum = scope
			}
			if k < points && day == (k+1)*stride {
				put(k, cum, scope)
				k++
			}
			if done {
				finish[t] = day
				break
			}
		}
		// A finished trial stays finished: the rest of its points are its scope.
		for ; k < points; k++ {
			put(k, cum, scope)
		}
	}

	finished := make([]int, 0, o.trials)
	for _, d := range finish {
		if d > 0 {
			finished = append(finished, d)
		}
	}
	res.NotDone = o.trials - len(finished)
	slices.Sort(finished)
	lastDay := 0
	allWithin := true
	for _, p := range o.percentiles {
		rank := ceilRank(p, o.trials)
		dp := DayPercentile{Percentile: p}
		if rank <= len(finished) {
			dp.Day, dp.Within = finished[rank-1], true
			lastDay = max(lastDay, dp.Day)
		} else {
			allWithin = false
		}
		res.Percentiles = append(res.Percentiles, dp)
	}
	show := points
	if allWithin {
		show = min(points, (lastDay+stride-1)/stride)
	}
	if withBurnup {
		res.Burnup = burnup(doneAt, scopeAt, o.trials, show, stride, remaining, o.percentiles)
	}
	return res, nil
}

// ceilRank is the 1-based rank of percentile p among n sorted values: the
// smallest rank r with r/n ≥ p/100.
func ceilRank(p float64, n int) int {
	r := int(math.Ceil(p / 100 * float64(n)))
	// p/100*n can land a hair above an integer (0.85*100 = 85.00000000000001).
	if float64(r-1) >= p/100*float64(n)-1e-9 {
		r--
	}
	return min(max(r, 1), n)
}

// atLeast returns, for values sorted ascending, the largest v such that at
// least p % of them are ≥ v.
func atLeast(sorted []int, p float64) int {
	return sorted[len(sorted)-ceilRank(p, len(sorted))]
}

func burnup(doneAt, scopeAt []int32, trials, show, stride, remaining int, ps []float64) []BurnupPoint {
	out := make([]BurnupPoint, 0, show)
	var counts []int
	for k := 0; k < show; k++ {
		bp := BurnupPoint{Day: (k + 1) * stride, Scope: remaining}
		col := doneAt[k*trials : (k+1)*trials]
		counts = countValues(col, counts)
		for _, p := range ps {
			bp.Done = append(bp.Done, atLeastCounted(counts, trials, p))
		}
		if scopeAt != nil {
			counts = countValues(scopeAt[k*trials:(k+1)*trials], counts)
			bp.Scope = atLeastCounted(counts, trials, 50)
		}
		out = append(out, bp)
	}
	return out
}

// countValues histograms non-negative values (a counting sort: the values
// of one burn-up point span at most the scope, far fewer than the trials'
// sort would cost).
func countValues(vals []int32, counts []int) []int {
	hi := int32(0)
	for _, v := range vals {
		hi = max(hi, v)
	}
	if cap(counts) < int(hi)+1 {
		counts = make([]int, int(hi)+1)
	}
	counts = counts[:hi+1]
	clear(counts)
	for _, v := range vals {
		counts[v]++
	}
	return counts
}

// atLeastCounted is atLeast over a histogram of n values.
func atLeastCounted(counts []int, n int, p float64) int {
	need := ceilRank(p, n)
	seen := 0
	for v := len(counts) - 1; v >= 0; v-- {
		seen += counts[v]
		if seen >= need {
			return v
		}
	}
	return 0
}

// CountPercentile is one percentile of a how-many forecast: at least Items
// are done with Percentile % chance.
type CountPercentile struct {
	Percentile float64
	Items      int
}

// HowManyResult is a how-many forecast.
type HowManyResult struct {
	Days        int
	Percentiles []CountPercentile
	Trials      int
	Seed        uint64
}

// HowMany forecasts how many items are done within the next days (day 1 is
// the as-of day), by the same trials as Completion.
func HowMany(h History, days int, o Options) (HowManyResult, error) {
	if err := h.validate(); err != nil {
		return HowManyResult{}, err
	}
	if days < 0 || days > 36_500 {
		return HowManyResult{}, fmt.Errorf("days: %d; expected 0 to 36500", days)
	}
	res := HowManyResult{Days: days, Trials: o.trials, Seed: mixSeed(o, "how_many", days, h)}
	totals := make([]int, o.trials)
	var s sampler
	pl := newPool(h)
	n := uint64(len(h.Done))
	for t := range totals {
		s.reset(res.Seed, t)
		pl.fill(&s, h)
		if pl.doneSum == 0 {
			continue
		}
		sum := 0
		for d := 0; d < days; d++ {
			sum += pl.done[s.index(n)]
		}
		totals[t] = sum
	}
	slices.Sort(totals)
	for _, p := range o.percentiles {
		res.Percentiles = append(res.Percentiles, CountPercentile{Percentile: p, Items: atLeast(totals, p)})
	}
	return res, nil
}
