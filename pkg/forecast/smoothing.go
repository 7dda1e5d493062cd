package forecast

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/optimize"
)

// spec is the shape of a smoothing model.
type spec struct {
	model  Model
	trend  bool
	damped bool
	m      int // season length, 0 without a seasonal component
}

func specOf(m Model, season int) spec {
	switch m {
	case ModelHolt:
		return spec{model: m, trend: true}
	case ModelDampedHolt:
		return spec{model: m, trend: true, damped: true}
	case ModelHoltWinters:
		return spec{model: m, trend: true, m: season}
	}
	return spec{model: ModelSES}
}

// nParams is the number of smoothing parameters: α, β, γ, φ as present.
func (s spec) nParams() int {
	n := 1
	if s.trend {
		n++
	}
	if s.damped {
		n++
	}
	if s.m > 1 {
		n++
	}
	return n
}

// nStates is the number of free initial states: the level, the trend, and
// m-1 seasonal terms (the last makes them sum to zero, as in R's ets).
func (s spec) nStates() int {
	n := 1
	if s.trend {
		n++
	}
	if s.m > 1 {
		n += s.m - 1
	}
	return n
}

// params are the smoothing parameters of the error-correction form
// (Hyndman & Athanasopoulos, fpp2 §7.5, additive errors):
//
//	ŷ_t = ℓ + φb + s_{t-m},  e_t = y_t − ŷ_t
//	ℓ ← ℓ + φb + α e_t,  b ← φb + β e_t,  s_t = s_{t-m} + γ e_t
type params struct {
	alpha, beta, gamma, phi float64
}

// Bounds of the parameters: R's ets "usual" region (0 < β < α, 0 < γ < 1 − α)
// with its limits on each, so fits compare with published ones.
const (
	parLo, parHi = 1e-4, 0.9999
	phiLo, phiHi = 0.8, 0.98
)

func (s spec) unpack(x []float64) (params, bool) {
	p := params{alpha: x[0], phi: 1}
	i := 1
	if s.trend {
		p.beta = x[i]
		i++
	}
	if s.m > 1 {
		p.gamma = x[i]
		i++
	}
	if s.damped {
		p.phi = x[i]
	}
	ok := p.alpha >= parLo && p.alpha <= parHi
	if s.trend {
		ok = ok && p.beta >= parLo && p.beta <= p.alpha
	}
	if s.m > 1 {
		ok = ok && p.gamma >= parLo && p.gamma <= 1-p.alpha
	}
	if s.damped {
		ok = ok && p.phi >= phiLo && p.phi <= phiHi
	}
	return p, ok
}

// stateLen is the length of a full state vector: level, trend, m seasonal
// terms (ring[j] holds the term used at times ≡ j mod m).
func (s spec) stateLen() int { return 2 + max(s.m, 1) }

// expand turns free initial states into a full state vector.
func (s spec) expand(c []float64, x []float64) {
	clear(x)
	x[0] = c[0]
	i := 1
	if s.trend {
		x[1] = c[1]
		i = 2
	}
	if s.m > 1 {
		sum := 0.0
		for j := 0; j < s.m-1; j++ {
			x[2+j] = c[i+j]
			sum += c[i+j]
		}
		x[2+s.m-1] = -sum
	}
}

// filter runs the model over y from full initial state x (changed in place
// to the final state; the ring is rotated so x[2+j] is the term for time
// n+j). NaN observations are missing: the state moves on without a
// correction. e, when not nil, receives the one-step errors (NaN where y
// is). It returns the sum of squared errors.
func (s spec) filter(y []float64, p params, x []float64, e []float64) float64 {
	l, b := x[0], x[1]
	m := max(s.m, 1)
	ring := x[2 : 2+m]
	seasonal := s.m > 1
	phi := p.phi
	var sse float64
	j := 0
	for t, yt := range y {
		pb := phi * b
		pred := l + pb
		if seasonal {
			pred += ring[j]
		}
		if yt != yt { // missing
			l += pb
			b = pb
			if e != nil {
				e[t] = math.NaN()
			}
		} else {
			err := yt - pred
			sse += err * err
			l += pb + p.alpha*err
			if s.trend {
				b = pb + p.beta*err
			}
			if seasonal {
				ring[j] += p.gamma * err
			}
			if e != nil {
				e[t] = err
			}
		}
		if !s.trend {
			b = 0
		}
		j++
		if j == m {
			j = 0
		}
	}
	x[0], x[1] = l, b
	// Rotate so ring[0] is the term for the first forecast step.
	if seasonal && j != 0 {
		tmp := append([]float64(nil), ring...)
		for k := range ring {
			ring[k] = tmp[(k+j)%m]
		}
	}
	return sse
}

// concentrate finds, for parameters p, the initial states that minimise the
// squared errors, exactly: the errors are affine in the initial states, so
// with e⁰ the errors from zero states and Eᶜ those of y = 0 from each unit
// state, the best states solve (EᵀE) c = −Eᵀe⁰. It returns the SSE and the
// free states c.
func (s spec) concentrate(y []float64, p params, work *workspace) (float64, []float64) {
	k := s.nStates()
	dim := s.stateLen()
	w := work.get(k, dim, len(y))
	// Channel 0: the data from zero states.
	clear(w.x)
	s.filter(y, p, w.x, w.e0)
	free := make([]float64, k)
	for c := 0; c < k; c++ {
		clear(free)
		free[c] = 1
		s.expand(free, w.x)
		s.filter(w.zeros, p, w.x, w.ec[c])
	}
	var q float64
	for t, v := range w.e0 {
		if v == v {
			q += v * v
		} else {
			w.e0[t] = 0
		}
	}
	for a := 0; a < k; a++ {
		ea := w.ec[a]
		var r float64
		for t, v := range ea {
			if v == v {
				r += v * w.e0[t]
			} else {
				ea[t] = 0
			}
		}
		w.r[a] = r
	}
	for a := 0; a < k; a++ {
		for b := 0; b <= a; b++ {
			var g float64
			ea, eb := w.ec[a], w.ec[b]
			for t := range ea {
				g += ea[t] * eb[t]
			}
			w.g[a*k+b], w.g[b*k+a] = g, g
		}
	}
	c, ok := solve(w.g, w.r, k)
	if !ok {
		return q, make([]float64, k)
	}
	sse := q
	for a := 0; a < k; a++ {
		c[a] = -c[a]
		sse += c[a] * w.r[a]
	}
	return math.Max(sse, 0), c
}

// workspace keeps the buffers of concentrate between evaluations.
type workspace struct {
	x, e0, zeros, g, r []float64
	ec                 [][]float64
}

func (w *workspace) get(k, dim, n int) *workspace {
	if len(w.e0) != n || len(w.ec) != k {
		w.x = make([]float64, dim)
		w.e0 = make([]float64, n)
		w.zeros = make([]float64, n)
		w.g = make([]float64, k*k)
		w.r = make([]float64, k)
		w.ec = make([][]float64, k)
		for i := range w.ec {
			w.ec[i] = make([]float64, n)
		}
	}
	return w
}

// solve solves the symmetric system g·c = r (k×k, row-major) by Gaussian
// elimination with partial pivoting and a tiny ridge for rank deficiency.
func solve(g, r []float64, k int) ([]float64, bool) {
	a := make([]float64, k*(k+1))
	var scale float64
	for i := 0; i < k; i++ {
		scale = math.Max(scale, math.Abs(g[i*k+i]))
	}
	if scale == 0 {
		return nil, false
	}
	for i := 0; i < k; i++ {
		copy(a[i*(k+1):i*(k+1)+k], g[i*k:i*k+k])
		a[i*(k+1)+i] += 1e-12 * scale
		a[i*(k+1)+k] = r[i]
	}
	for col := 0; col < k; col++ {
		piv := col
		for i := col + 1; i < k; i++ {
			if math.Abs(a[i*(k+1)+col]) > math.Abs(a[piv*(k+1)+col]) {
				piv = i
			}
		}
		if a[piv*(k+1)+col] == 0 {
			return nil, false
		}
		if piv != col {
			for j := 0; j <= k; j++ {
				a[col*(k+1)+j], a[piv*(k+1)+j] = a[piv*(k+1)+j], a[col*(k+1)+j]
			}
		}
		for i := col + 1; i < k; i++ {
			f := a[i*(k+1)+col] / a[col*(k+1)+col]
			if f == 0 {
				continue
			}
			for j := col; j <= k; j++ {
				a[i*(k+1)+j] -= f * a[col*(k+1)+j]
			}
		}
	}
	c := make([]float64, k)
	for i := k - 1; i >= 0; i-- {
		v := a[i*(k+1)+k]
		for j := i + 1; j < k; j++ {
			v -= a[i*(k+1)+j] * c[j]
		}
		c[i] = v / a[i*(k+1)+i]
	}
	return c, true
}

// heuristicStates are start values from the first seasons (or points), as
// in Hyndman et al.'s initialisation: used while searching the parameters of
// long series, where exact initial states per evaluation would cost too much.
func (s spec) heuristicStates(y []float64) []float64 {
	obs := make([]float64, 0, len(y))
	for _, v := range y {
		if v == v {
			obs = append(obs, v)
		}
	}
	c := make([]float64, s.nStates())
	switch {
	case s.m > 1 && len(obs) >= 2*s.m:
		m := s.m
		m1, m2 := mean(obs[:m]), mean(obs[m:2*m])
		b := (m2 - m1) / float64(m)
		l := m1 - b*float64(m+1)/2
		c[0], c[1] = l, b
		seas := make([]float64, m)
		for j := 0; j < m; j++ {
			seas[j] = ((obs[j] - (l + b*float64(j+1))) + (obs[j+m] - (l + b*float64(j+m+1)))) / 2
		}
		sm := mean(seas)
		for j := 0; j < m-1; j++ {
			c[2+j] = seas[j] - sm
		}
	case s.trend:
		n := min(len(obs), 10)
		var sx, sy, sxx, sxy float64
		for i := 0; i < n; i++ {
			x := float64(i + 1)
			sx += x
			sy += obs[i]
			sxx += x * x
			sxy += x * obs[i]
		}
		fn := float64(n)
		den := fn*sxx - sx*sx
		b := 0.0
		if den != 0 {
			b = (fn*sxy - sx*sy) / den
		}
		c[0], c[1] = (sy-b*sx)/fn, b
	default:
		if len(obs) > 0 {
			c[0] = obs[0]
		}
	}
	return c
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// exactBudget bounds n·(states+1), the work of one exact initial-state
// solve: up to it every evaluation of the search solves the initial states
// exactly (what published fits do). Longer series start from heuristic
// values, whose influence fades after the first seasons.
const exactBudget = 120_000

// searchWindow is how many of the latest points a long series' parameter
// search reads: the forecast extends recent behaviour, and the search then
// costs the same at 50,000 points as at 4,096. The model found is then run
// over the whole series for its SSE, AICc, state and intervals.
const searchWindow = 4096

// TrendFit is a fitted smoothing model.
type TrendFit struct {
	Model                   Model
	Alpha, Beta, Gamma, Phi float64
	Season                  int
	// N is the number of observed points; K the estimated parameters
	// (smoothing parameters, initial states and the error variance).
	N, K       int
	SSE, AICc  float64
	Sigma2     float64
	Candidates []Candidate
	// Fitted are the one-step forecasts over the series (NaN where the
	// series is missing).
	Fitted []float64
	spec   spec
	state  []float64 // after the last point
	init   []float64 // free initial states
}

// Candidate is one model tried by FitTrend: its AICc and SSE, or why it
// was not fitted.
type Candidate struct {
	Model     Model
	SSE, AICc float64
	Skipped   string
}

// ErrTooShort is returned when a series is too short for any model.
var ErrTooShort = errors.New("too few points")

// minPoints is the smallest number of observed points a model can be fitted
// to: AICc needs n > K + 1.
func (s spec) minPoints() int { return s.nParams() + s.nStates() + 3 }

// FitTrend fits the smoothing model of o (or, with ModelAuto, every model
// the series allows: simple, Holt, damped Holt, and Holt-Winters once it
// holds two full seasons) and returns the one with the lowest AICc. y holds
// equally spaced points, oldest first; NaN marks a missing point. Leading
// missing points are dropped.
func FitTrend(y []float64, o Options) (*TrendFit, error) {
	for len(y) > 0 && math.IsNaN(y[0]) {
		y = y[1:]
	}
	n := 0
	for i, v := range y {
		if math.IsInf(v, 0) {
			return nil, fmt.Errorf("point %d is infinite", i)
		}
		if v == v {
			n++
		}
	}
	models := []Model{o.model}
	if o.model == ModelAuto {
		models = []Model{ModelSES, ModelHolt, ModelDampedHolt, ModelHoltWinters}
	}
	// One regime for every candidate, so their AICc compare like for like.
	kmax := 0
	for _, m := range models {
		kmax = max(kmax, specOf(m, o.season).nStates())
	}
	exact := len(y)*(kmax+1) <= exactBudget
	cands := make([]Candidate, len(models))
	fits := make([]*TrendFit, len(models))
	var wg sync.WaitGroup
	for i, m := range models {
		s := specOf(m, o.season)
		c := Candidate{Model: m, SSE: math.NaN(), AICc: math.NaN()}
		switch {
		case m == ModelHoltWinters && o.season < 2:
			c.Skipped = "no seasonality: the bucket gives no season length"
		case m == ModelHoltWinters && len(y) < 2*o.season:
			c.Skipped = fmt.Sprintf("needs two full seasons (%d points), has %d", 2*o.season, len(y))
		case n < s.minPoints():
			c.Skipped = fmt.Sprintf("needs at least %d points, has %d", s.minPoints(), n)
		}
		cands[i] = c
		if c.Skipped != "" {
			continue
		}
		// Candidates are independent: fit them side by side.
		wg.Go(func() { fits[i] = s.fit(y, n, exact) })
	}
	wg.Wait()
	var best *TrendFit
	for i, f := range fits {
		if f == nil {
			continue
		}
		cands[i].SSE, cands[i].AICc = f.SSE, f.AICc
		if best == nil || f.AICc < best.AICc {
			best = f
		}
	}
	if best == nil {
		reason := ""
		for _, c := range cands {
			reason += fmt.Sprintf("; %s: %s", c.Model, c.Skipped)
		}
		return nil, fmt.Errorf("%w to fit %s%s", ErrTooShort, o.model, reason)
	}
	best.Candidates = cands
	return best, nil
}

// fit estimates one model: Nelder-Mead over the smoothing parameters, with
// the initial states solved exactly for each candidate (exact) or taken
// from heuristic start values over the latest searchWindow points.
func (s spec) fit(y []float64, n int, exact bool) *TrendFit {
	k := s.nStates()
	var work workspace
	search := y
	if !exact && len(y) > searchWindow {
		search = y[len(y)-searchWindow:]
	}
	heur := s.heuristicStates(search)
	x := make([]float64, s.stateLen())
	objective := func(v []float64) float64 {
		p, ok := s.unpack(v)
		if !ok {
			return math.MaxFloat64
		}
		if exact {
			sse, _ := s.concentrate(y, p, &work)
			return sse
		}
		s.expand(heur, x)
		return s.filter(search, p, x, nil)
	}
	var starts [][]float64
	for _, a := range []float64{0.5, 0.2, 0.8} {
		v := []float64{a}
		if s.trend {
			v = append(v, 0.05*a)
		}
		if s.m > 1 {
			v = append(v, 0.1*(1-a))
		}
		if s.damped {
			v = append(v, 0.9)
		}
		starts = append(starts, v)
		if !exact {
			break // one start is all a long series can afford
		}
	}
	bestX, bestF := starts[0], math.Inf(1)
	for _, st := range starts {
		xs, f := nelderMead(objective, st, exact)
		if f < bestF {
			bestX, bestF = xs, f
		}
	}
	p, _ := s.unpack(bestX)
	var init []float64
	if exact {
		_, init = s.concentrate(y, p, &work)
	} else {
		init = s.heuristicStates(y)
	}
	f := &TrendFit{Model: s.model, Alpha: p.alpha, Beta: p.beta, Gamma: p.gamma, Phi: p.phi, Season: s.m,
		N: n, K: s.nParams() + k + 1, spec: s, init: init}
	if !s.trend {
		f.Phi = 0
	}
	if !s.damped && s.trend {
		f.Phi = 1
	}
	f.state = make([]float64, s.stateLen())
	s.expand(init, f.state)
	f.Fitted = make([]float64, len(y))
	f.SSE = s.filter(y, p, f.state, f.Fitted)
	for t, e := range f.Fitted {
		f.Fitted[t] = y[t] - e
	}
	f.AICc = aicc(f.SSE, n, f.K, y)
	if n > f.K-1 {
		f.Sigma2 = f.SSE / float64(n-f.K+1)
	}
	return f
}

// nelderMead minimises fn from x0 with gonum's Nelder-Mead, restarting from
// the best point while a restart still improves (a collapsed simplex is the
// method's known weakness).
func nelderMead(fn func([]float64) float64, x0 []float64, thorough bool) ([]float64, float64) {
	best := append([]float64(nil), x0...)
	bestF := fn(best)
	restarts := 1
	if thorough {
		restarts = 3
	}
	for r := 0; r <= restarts; r++ {
		settings := &optimize.Settings{
			FuncEvaluations: 2000,
			Converger:       &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-10, Iterations: 10 * len(x0)},
		}
		if !thorough {
			settings.FuncEvaluations = 300
			settings.Converger = &optimize.FunctionConverge{Relative: 1e-7, Iterations: 3 * len(x0)}
		}
		res, err := optimize.Minimize(optimize.Problem{Func: fn}, best, settings, &optimize.NelderMead{SimplexSize: 0.05})
		if err != nil && res == nil {
			break
		}
		if res.F < bestF-1e-12*math.Abs(bestF) {
			best, bestF = append([]float64(nil), res.X...), res.F
			continue
		}
		if res.F < bestF {
			best, bestF = append([]float64(nil), res.X...), res.F
		}
		break
	}
	return best, bestF
}

// aicc is the corrected Akaike criterion of a Gaussian model with k
// estimated parameters: n·ln(SSE/n) + n(1 + ln 2π) + 2k + 2k(k+1)/(n−k−1).
// An exact fit (SSE at rounding level) scores −Inf, so the simplest exact
// model wins.
func aicc(sse float64, n, k int, y []float64) float64 {
	if n-k-1 <= 0 {
		return math.Inf(1)
	}
	var scale float64
	for _, v := range y {
		if v == v {
			scale = math.Max(scale, math.Abs(v))
		}
	}
	if sse <= float64(n)*math.Pow(1e-9*math.Max(scale, 1), 2) {
		return math.Inf(-1)
	}
	fn, fk := float64(n), float64(k)
	return fn*math.Log(sse/fn) + fn*(1+math.Log(2*math.Pi)) + 2*fk + 2*fk*(fk+1)/(fn-fk-1)
}

// Interval is a prediction interval of a trend forecast.
type Interval struct {
	Level        float64
	Lower, Upper []float64
}

// TrendForecast is the forecast of a fitted model for the next points.
type TrendForecast struct {
	Mean      []float64
	Intervals []Interval
}

// z-scores of the interval levels (two-sided normal quantiles).
func zScore(level float64) float64 {
	switch level {
	case 80:
		return 1.2815515655446004
	case 95:
		return 1.959963984540054
	}
	return math.Sqrt2 * math.Erfinv(level/100)
}

// Forecast returns the next h points with 80 % and 95 % prediction
// intervals: Var(h) = σ²(1 + Σ_{j<h} c_j²), c_j = α + β(φ + … + φ^j) + γ·[m
// divides j] (fpp2 §7.7, Table 7.8, class 1).
func (f *TrendFit) Forecast(h int) TrendForecast {
	h = max(h, 0)
	s := f.spec
	m := max(s.m, 1)
	fc := TrendForecast{Mean: make([]float64, h)}
	l, b := f.state[0], f.state[1]
	phiSum := 0.0
	phiPow := 1.0
	for i := 0; i < h; i++ {
		if s.trend {
			phiPow *= f.Phi
			phiSum += phiPow
		}
		v := l + phiSum*b
		if s.m > 1 {
			v += f.state[2+i%m]
		}
		fc.Mean[i] = v
	}
	variance := make([]float64, h)
	acc := 0.0
	phiSum, phiPow = 0, 1
	for i := 0; i < h; i++ {
		variance[i] = f.Sigma2 * (1 + acc)
		j := i + 1
		if s.trend {
			phiPow *= f.Phi
			phiSum += phiPow
		}
		c := f.Alpha
		if s.trend {
			c += f.Beta * phiSum
		}
		if s.m > 1 && j%s.m == 0 {
			c += f.Gamma
		}
		acc += c * c
	}
	for _, lv := range IntervalLevels() {
		z := zScore(lv)
		iv := Interval{Level: lv, Lower: make([]float64, h), Upper: make([]float64, h)}
		for i := range fc.Mean {
			d := z * math.Sqrt(variance[i])
			iv.Lower[i], iv.Upper[i] = fc.Mean[i]-d, fc.Mean[i]+d
		}
		fc.Intervals = append(fc.Intervals, iv)
	}
	return fc
}

// TrendBacktest is the accuracy of one-step forecasts on the last points.
type TrendBacktest struct {
	// MASE is the mean absolute one-step error over the held-out points,
	// scaled by the mean absolute (seasonal) naive error of the training
	// part: below 1 beats "same as last (season's) value". NaN when the
	// training part is constant.
	MASE float64
	// Points is the number of held-out points scored.
	Points int
}

// BacktestTrend refits the model kind chosen by fit on the first 80 % of y
// and scores its one-step forecasts over the last 20 % (the state follows
// the actual values; the parameters stay those of the training part).
func BacktestTrend(y []float64, fit *TrendFit) (TrendBacktest, error) {
	for len(y) > 0 && math.IsNaN(y[0]) {
		y = y[1:]
	}
	hold := max(1, len(y)/5)
	train := y[:len(y)-hold]
	o := NewOptions().WithModel(fit.Model).WithSeasonLength(fit.Season)
	tf, err := FitTrend(train, o)
	if err != nil {
		return TrendBacktest{MASE: math.NaN()}, fmt.Errorf("backtest on the first %d points: %w", len(train), err)
	}
	s := tf.spec
	x := make([]float64, s.stateLen())
	s.expand(tf.init, x)
	e := make([]float64, len(y))
	s.filter(y, params{alpha: tf.Alpha, beta: tf.Beta, gamma: tf.Gamma, phi: phiOf(tf)}, x, e)
	var mae float64
	var pts int
	for _, v := range e[len(train):] {
		if v == v {
			mae += math.Abs(v)
			pts++
		}
	}
	lag := max(fit.Season, 1)
	if fit.Model != ModelHoltWinters {
		lag = 1
	}
	var scale float64
	var sn int
	for t := lag; t < len(train); t++ {
		if a, b := train[t], train[t-lag]; a == a && b == b {
			scale += math.Abs(a - b)
			sn++
		}
	}
	bt := TrendBacktest{MASE: math.NaN(), Points: pts}
	if pts > 0 && sn > 0 && scale > 0 {
		bt.MASE = (mae / float64(pts)) / (scale / float64(sn))
	}
	return bt, nil
}

func phiOf(f *TrendFit) float64 {
	if f.spec.trend {
		return f.Phi
	}
	return 1
}
