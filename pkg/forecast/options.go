package forecast

import "slices"

// Model names a smoothing model; ModelAuto chooses among the others by AICc.
type Model string

// Smoothing models, as the query's `model` field names them.
const (
	ModelAuto        Model = "auto"
	ModelSES         Model = "ses"
	ModelHolt        Model = "holt"
	ModelDampedHolt  Model = "damped_holt"
	ModelHoltWinters Model = "holt_winters"
)

// Models lists the models FitTrend knows, ModelAuto first.
func Models() []Model {
	return []Model{ModelAuto, ModelSES, ModelHolt, ModelDampedHolt, ModelHoltWinters}
}

// Defaults of Options.
const (
	DefaultTrials  = 10_000
	DefaultHorizon = 3650 // days a completion trial may run
	MaxTrials      = 100_000
)

// DefaultPercentiles are the completion percentiles when none are given.
func DefaultPercentiles() []float64 { return []float64{50, 70, 85, 95} }

// IntervalLevels are the prediction interval levels of trend forecasts, in
// percent.
func IntervalLevels() []float64 { return []float64{80, 95} }

// Options configures the forecasts. The zero value is not ready: start from
// NewOptions. Options is immutable: each With… returns a changed copy, so
// one value can be shared and specialised freely.
//
//	o := forecast.NewOptions().WithTrials(2000).WithPercentiles(50, 85)
//
// # Notes
//
// Out-of-range values are not errors here (the query layer validates user
// input and names the field); With… methods clamp them to what the
// computations accept.
type Options struct {
	trials      int
	percentiles []float64
	horizon     int
	seed        uint64
	model       Model
	season      int
}

// NewOptions returns the defaults: 10,000 trials, percentiles 50, 70, 85,
// 95, a horizon of 3,650 days, model auto, no seasonality.
func NewOptions() Options {
	return Options{trials: DefaultTrials, percentiles: DefaultPercentiles(), horizon: DefaultHorizon, model: ModelAuto}
}

// WithTrials sets the number of Monte Carlo trials (1 to MaxTrials).
func (o Options) WithTrials(n int) Options {
	o.trials = min(max(n, 1), MaxTrials)
	return o
}

// WithPercentiles sets the percentiles reported, each in (0, 100); others
// are dropped. They are kept sorted and unique.
func (o Options) WithPercentiles(ps ...float64) Options {
	var keep []float64
	for _, p := range ps {
		if p > 0 && p < 100 {
			keep = append(keep, p)
		}
	}
	slices.Sort(keep)
	o.percentiles = slices.Compact(keep)
	if len(o.percentiles) == 0 {
		o.percentiles = DefaultPercentiles()
	}
	return o
}

// WithHorizon sets how many days a completion trial may run before it
// counts as "not done within the horizon" (1 to 36,500).
func (o Options) WithHorizon(days int) Options {
	o.horizon = min(max(days, 1), 36_500)
	return o
}

// WithSeed sets the query's part of the random seed; the data's part is
// always mixed in.
func (o Options) WithSeed(seed uint64) Options {
	o.seed = seed
	return o
}

// WithModel forces a smoothing model (ModelAuto chooses by AICc).
func (o Options) WithModel(m Model) Options {
	if slices.Contains(Models(), m) {
		o.model = m
	}
	return o
}

// WithSeasonLength sets the season length in points for Holt-Winters (0 or
// 1 for none).
func (o Options) WithSeasonLength(m int) Options {
	o.season = max(m, 0)
	return o
}

// Trials returns the number of Monte Carlo trials.
func (o Options) Trials() int { return o.trials }

// Percentiles returns a copy of the percentiles reported.
func (o Options) Percentiles() []float64 { return slices.Clone(o.percentiles) }

// Horizon returns the days a completion trial may run.
func (o Options) Horizon() int { return o.horizon }

// Model returns the smoothing model asked for.
func (o Options) Model() Model { return o.model }

// SeasonLength returns the season length in points.
func (o Options) SeasonLength() int { return o.season }
