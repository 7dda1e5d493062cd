// Package forecast holds kpiflow's predictions, computed from plain numbers:
// Monte Carlo completion and how-many forecasts over daily throughput, task
// ETAs from cycle times, and the exponential smoothing family for KPI trends.
//
//	o := forecast.NewOptions().WithTrials(10_000).WithSeed(queryHash)
//	c, err := forecast.Completion(forecast.History{Done: perDay}, remaining, o)
//	// c.Percentiles[i].Day: 1 is the first forecast day; Within false means
//	// "no completion within the horizon".
//	fit, err := forecast.FitTrend(series, o.WithSeasonLength(24))
//	fc := fit.Forecast(12)                 // mean and 80 % / 95 % intervals
//
// # Notes
//
// The package knows nothing of ClickHouse, Grafana or kpiflow's other
// packages: the query layer reads history and hands it over as slices, and
// turns day offsets into dates. Every result is a function of its inputs and
// Options alone: the random generator is seeded from the data and from
// Options.WithSeed (the query layer passes a hash of the query), so a refresh
// over the same data gives the same dates.
//
// Monte Carlo trials first resample the history (a bootstrap of the days),
// then draw each simulated day from that resample, so the spread of the
// result includes the uncertainty of how fast the team really is, not only
// the day-to-day noise; on stationary throughput the P85 date then holds
// about 85 % of the time (forecast_test.go checks it).
//
// Smoothing models are the additive-error ETS forms of Hyndman &
// Athanasopoulos, "Forecasting: Principles and Practice": parameters and
// initial states minimise the sum of squared one-step errors (Nelder-Mead
// from gonum over the parameters, exact least squares for the initial states
// given them), and models are compared by AICc.
package forecast
