package query

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/forecast"
	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// seasonLength is the season of a bucket width: a day of sub-day buckets, a
// week of daily ones, none otherwise.
func seasonLength(bucket int64) int {
	switch {
	case bucket == day:
		return 7
	case bucket < day && day%bucket == 0:
		return int(day / bucket)
	}
	return 0
}

func (q *ForecastQuery) buildTrend(env Env) (*ForecastBuilt, error) {
	kq := q.kpi()
	kq.Format = FormatTimeSeries
	built, err := kq.Build(env)
	if err != nil {
		return nil, err
	}
	p := built.Plan
	// The model reads the buckets as planned (grid below): no optimizer
	// module may widen them for the panel's points.
	p.MaxPoints = 0
	bucket := p.Bucket
	if bucket <= 0 {
		return nil, fmt.Errorf("kpi_trend: the kpi plan has no buckets")
	}
	from, to := p.TimeRange.From, p.TimeRange.To
	if (to-from)/bucket > 200_000 {
		return nil, fieldErr("interval", "the range holds more than 200,000 buckets of %ds; widen the interval", bucket)
	}
	horizon := defaultTrendHorizon
	if q.Horizon != nil {
		horizon = int(*q.Horizon)
	}
	o := forecast.NewOptions().WithSeasonLength(seasonLength(bucket))
	if q.Model != "" {
		o = o.WithModel(forecast.Model(q.Model))
	}
	b := &ForecastBuilt{Plans: []plan.Plan{p}}
	b.compute = func(results []*data.Frame) (data.Frames, []string, error) {
		series, err := built.shape(results[0])
		if err != nil {
			return nil, nil, err
		}
		notices := append([]string(nil), built.Notices...)
		var outFrames data.Frames
		var models struct {
			series, model                 []string
			alpha, beta, gamma, phi, aicc []*float64
			mase                          []*float64
			season                        []float64
		}
		for _, s := range series {
			if s.Rows() == 0 {
				continue
			}
			vf := s.Fields[1]
			name := seriesName(vf)
			y := grid(s, from, to, bucket)
			fit, err := forecast.FitTrend(y, o)
			if err != nil {
				notices = append(notices, fmt.Sprintf("%s: no forecast: %v.", name, err))
				continue
			}
			fc := fit.Forecast(horizon)
			bt, btErr := forecast.BacktestTrend(y, fit)
			notices = append(notices, trendNotice(name, fit, bt, btErr))
			if q.Format == FormatNumeric {
				fl := data.NewField("yhat", vf.Labels, []float64{fc.Mean[len(fc.Mean)-1]})
				fl.Config = vf.Config
				fr := data.NewFrame(vf.Name, fl)
				fr.Meta = &data.FrameMeta{Type: data.FrameTypeNumericMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
				outFrames = append(outFrames, fr)
				continue
			}
			outFrames = append(outFrames, trendFrame(vf, y, fit, fc, from, bucket))
			models.series = append(models.series, name)
			models.model = append(models.model, string(fit.Model))
			models.season = append(models.season, float64(fit.Season))
			models.aicc = append(models.aicc, finitePtr(fit.AICc))
			models.mase = append(models.mase, finitePtr(bt.MASE))
			models.alpha = append(models.alpha, finitePtr(fit.Alpha))
			models.beta, models.gamma, models.phi = append(models.beta, nil), append(models.gamma, nil), append(models.phi, nil)
			if fit.Model != forecast.ModelSES {
				models.beta[len(models.beta)-1] = finitePtr(fit.Beta)
				models.phi[len(models.phi)-1] = finitePtr(fit.Phi)
			}
			if fit.Model == forecast.ModelHoltWinters {
				models.gamma[len(models.gamma)-1] = finitePtr(fit.Gamma)
			}
		}
		if q.Format != FormatNumeric {
			mf := data.NewFrame("models", data.NewField("series", nil, nonNil(models.series)),
				data.NewField("model", nil, nonNil(models.model)), data.NewField("alpha", nil, nonNil(models.alpha)),
				data.NewField("beta", nil, nonNil(models.beta)), data.NewField("gamma", nil, nonNil(models.gamma)),
				data.NewField("phi", nil, nonNil(models.phi)), data.NewField("season", nil, nonNil(models.season)),
				data.NewField("aicc", nil, nonNil(models.aicc)), data.NewField("mase", nil, nonNil(models.mase)))
			frames.AsTable(mf)
			outFrames = append(outFrames, mf)
		}
		return outFrames, notices, nil
	}
	return b, nil
}

// seriesName is a series as a person reads it: metric{label="value", …}.
func seriesName(f *data.Field) string {
	if len(f.Labels) == 0 {
		return f.Name
	}
	keys := make([]string, 0, len(f.Labels))
	for k := range f.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, f.Labels[k])
	}
	return f.Name + "{" + strings.Join(parts, ", ") + "}"
}

// grid lays a series on the bucket grid [from, to): NaN where a bucket has
// no value (the smoothing skips it).
func grid(s *data.Frame, from, to, bucket int64) []float64 {
	n := int((to - from) / bucket)
	y := make([]float64, n)
	for i := range y {
		y[i] = math.NaN()
	}
	for i := 0; i < s.Rows(); i++ {
		t := frames.TimeAt(s.Fields[0], i).Unix()
		if k := (t - from) / bucket; t >= from && int(k) < n {
			if v := frames.FloatAt(s.Fields[1], i); v != nil {
				y[k] = *v
			}
		}
	}
	// Trailing empty buckets (the current one, not yet filled) would be
	// forecast through; the forecast starts after the last value instead.
	for len(y) > 0 && math.IsNaN(y[len(y)-1]) {
		y = y[:len(y)-1]
	}
	return y
}

var modelNames = map[forecast.Model]string{
	forecast.ModelSES:         "simple exponential smoothing",
	forecast.ModelHolt:        "Holt's linear trend",
	forecast.ModelDampedHolt:  "Holt's damped trend",
	forecast.ModelHoltWinters: "additive Holt-Winters",
}

func trendNotice(name string, fit *forecast.TrendFit, bt forecast.TrendBacktest, btErr error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", name, modelNames[fit.Model])
	if fit.Model == forecast.ModelHoltWinters {
		fmt.Fprintf(&b, " (season %d buckets)", fit.Season)
	}
	fmt.Fprintf(&b, ", α=%.4g", fit.Alpha)
	if fit.Model != forecast.ModelSES {
		fmt.Fprintf(&b, " β=%.4g", fit.Beta)
	}
	if fit.Model == forecast.ModelHoltWinters {
		fmt.Fprintf(&b, " γ=%.4g", fit.Gamma)
	}
	if fit.Model == forecast.ModelDampedHolt {
		fmt.Fprintf(&b, " φ=%.4g", fit.Phi)
	}
	fmt.Fprintf(&b, ", fitted to %d points by least squares; AICc %.1f", fit.N, fit.AICc)
	var others []string
	for _, c := range fit.Candidates {
		switch {
		case c.Model == fit.Model:
		case c.Skipped != "":
			others = append(others, fmt.Sprintf("%s skipped: %s", c.Model, c.Skipped))
		default:
			others = append(others, fmt.Sprintf("%s %.1f", c.Model, c.AICc))
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(others, "; "))
	}
	b.WriteString("; 80 % and 95 % prediction intervals")
	switch {
	case btErr != nil:
		fmt.Fprintf(&b, "; backtest not possible: %v", btErr)
	case math.IsNaN(bt.MASE):
		b.WriteString("; backtest: MASE not defined (the training part is constant)")
	default:
		fmt.Fprintf(&b, "; backtest: MASE %.2f of one-step forecasts over the last %d points (below 1 beats the naive forecast)", bt.MASE, bt.Points)
	}
	b.WriteString(".")
	return b.String()
}

// trendFrame is one series with its forecast: the actual values, yhat (the
// one-step fit, then the forecast) and the 80 % and 95 % bounds over the
// forecast buckets, labelled level="80" and level="95".
func trendFrame(vf *data.Field, y []float64, fit *forecast.TrendFit, fc forecast.TrendForecast, from, bucket int64) *data.Frame {
	n, h := len(y), len(fc.Mean)
	times := make([]time.Time, n+h)
	actual := make([]*float64, n+h)
	yhat := make([]*float64, n+h)
	for i := range times {
		times[i] = time.Unix(from+int64(i)*bucket, 0).UTC()
	}
	for i := 0; i < n; i++ {
		actual[i] = finitePtr(y[i])
		yhat[i] = finitePtr(fit.Fitted[i])
	}
	for i := 0; i < h; i++ {
		yhat[n+i] = finitePtr(fc.Mean[i])
	}
	value := data.NewField(vf.Name, vf.Labels, actual)
	value.Config = vf.Config
	fr := data.NewFrame(vf.Name, data.NewField("time", nil, times), value, data.NewField("yhat", vf.Labels, yhat))
	for _, iv := range fc.Intervals {
		lo, hi := make([]*float64, n+h), make([]*float64, n+h)
		if n > 0 {
			// Start the band at the last actual value, so it joins the series.
			lo[n-1], hi[n-1] = finitePtr(y[n-1]), finitePtr(y[n-1])
		}
		for i := 0; i < h; i++ {
			lo[n+i], hi[n+i] = finitePtr(iv.Lower[i]), finitePtr(iv.Upper[i])
		}
		labels := data.Labels{"level": formatLevel(iv.Level)}
		for k, v := range vf.Labels {
			labels[k] = v
		}
		fr.Fields = append(fr.Fields, data.NewField("yhat_lower", labels, lo), data.NewField("yhat_upper", labels.Copy(), hi))
	}
	fr.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}}
	return fr
}

func finitePtr(v float64) *float64 {
	if !finite(v) {
		return nil
	}
	return &v
}
