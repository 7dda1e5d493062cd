package query

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/forecast"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// TypeForecast is the forecast query type.
const TypeForecast = "forecast"

// Forecast modes (the query JSON's `mode`).
const (
	ModeCompletion = "completion"
	ModeHowMany    = "how_many"
	ModeTaskETA    = "task_eta"
	ModeKPITrend   = "kpi_trend"
)

// ForecastModes lists the modes in the order the editor offers them.
func ForecastModes() []string {
	return []string{ModeCompletion, ModeHowMany, ModeTaskETA, ModeKPITrend}
}

// FormatNumeric answers one number per series (Meta.Type numeric-multi), the
// form alert rules reduce without a Reduce expression.
const FormatNumeric = "numeric"

// Defaults and bounds of forecast queries.
const (
	defaultHistoryDays     = 90
	maxHistoryDays         = 3650
	defaultAlertPercentile = 85
	defaultTrendHorizon    = 24
	maxTrendHorizon        = 10_000
	maxBacklog             = 10_000_000
)

// taskETAPercentiles are task_eta's percentiles when the query gives none.
func taskETAPercentiles() []float64 { return []float64{50, 85} }

// ForecastQuery is queryType "forecast". Which fields apply depends on the
// mode; a field set for a mode that does not read it is an error naming it.
type ForecastQuery struct {
	Common
	Mode string `json:"mode"`
	// Scope of the delivery modes (completion, how_many, task_eta).
	Teams    []string `json:"teams"`
	Projects []string `json:"projects"`
	// GroupBy: team or project for completion and how_many (one forecast
	// each); the kpi query's groupings for kpi_trend.
	GroupBy         []string  `json:"groupBy"`
	HistoryDays     *float64  `json:"historyDays"`
	Trials          *float64  `json:"trials"`
	Percentiles     []float64 `json:"percentiles"`
	Backlog         *float64  `json:"backlog"`
	ScopeGrowth     bool      `json:"scopeGrowth"`
	TargetDate      string    `json:"targetDate"`
	DueDate         string    `json:"dueDate"`
	AlertPercentile *float64  `json:"alertPercentile"`
	// Horizon: days a completion trial may run, or kpi_trend's buckets ahead.
	Horizon *float64 `json:"horizon"`
	Model   string   `json:"model"`
	Format  string   `json:"format"`
	// kpi_trend reads the kpi query's fields.
	Metrics      []string `json:"metrics"`
	Aggregation  string   `json:"aggregation"`
	Filters      []Filter `json:"filters"`
	AdhocFilters []Filter `json:"adhocFilters"`
	Interval     string   `json:"interval"`
}

// Base returns the common fields.
func (q *ForecastQuery) Base() Common { return q.Common }

// ParseForecast reads a forecast query strictly: unknown fields, fields the
// mode does not use and bad values are errors naming the field.
func ParseForecast(raw []byte) (*ForecastQuery, error) {
	q := &ForecastQuery{}
	if err := decodeStrict(raw, q); err != nil {
		return nil, err
	}
	if err := q.validate(); err != nil {
		return nil, err
	}
	return q, nil
}

// wholeNumber checks an optional numeric field is a whole number in range.
func wholeNumber(field string, v *float64, lo, hi float64, what string) error {
	if v == nil {
		return nil
	}
	if !finite(*v) || *v != math.Trunc(*v) || *v < lo || *v > hi {
		return fieldErr(field, "expected a whole number of %s from %v to %v, got %v", what, lo, hi, *v)
	}
	return nil
}

// parseDay reads a date ("2026-12-31") or an RFC 3339 time as its UTC day.
func parseDay(field, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Unix(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Unix() / day * day, nil
	}
	return 0, fieldErr(field, "expected a date such as 2026-12-31 (or an RFC 3339 time), got %q", s)
}

func (q *ForecastQuery) validate() error {
	if !slices.Contains(ForecastModes(), q.Mode) {
		if q.Mode == "" {
			return fieldErr("mode", "required; expected completion, how_many, task_eta or kpi_trend")
		}
		return fieldErr("mode", "unknown mode %q; expected completion, how_many, task_eta or kpi_trend", q.Mode)
	}
	// Which fields each mode reads; the others must be left out.
	uses := map[string][]string{
		ModeCompletion: {"teams", "projects", "groupBy", "historyDays", "trials", "percentiles", "backlog", "scopeGrowth", "dueDate", "alertPercentile", "horizon", "format"},
		ModeHowMany:    {"teams", "projects", "groupBy", "historyDays", "trials", "percentiles", "targetDate", "alertPercentile", "format"},
		ModeTaskETA:    {"teams", "projects", "historyDays", "percentiles", "format"},
		ModeKPITrend:   {"metrics", "aggregation", "groupBy", "filters", "adhocFilters", "interval", "horizon", "model", "format"},
	}[q.Mode]
	set := map[string]bool{
		"teams": len(q.Teams) > 0, "projects": len(q.Projects) > 0, "groupBy": len(q.GroupBy) > 0,
		"historyDays": q.HistoryDays != nil, "trials": q.Trials != nil, "percentiles": len(q.Percentiles) > 0,
		"backlog": q.Backlog != nil, "scopeGrowth": q.ScopeGrowth, "targetDate": q.TargetDate != "",
		"dueDate": q.DueDate != "", "alertPercentile": q.AlertPercentile != nil, "horizon": q.Horizon != nil,
		"model": q.Model != "", "format": q.Format != "", "metrics": len(q.Metrics) > 0,
		"aggregation": q.Aggregation != "", "filters": len(q.Filters) > 0, "adhocFilters": len(q.AdhocFilters) > 0,
		"interval": q.Interval != "",
	}
	for _, f := range []string{"teams", "projects", "groupBy", "historyDays", "trials", "percentiles", "backlog",
		"scopeGrowth", "targetDate", "dueDate", "alertPercentile", "horizon", "model", "format", "metrics",
		"aggregation", "filters", "adhocFilters", "interval"} {
		if set[f] && !slices.Contains(uses, f) {
			return fieldErr(f, "not used by mode %s; it reads %s", q.Mode, strings.Join(uses, ", "))
		}
	}
	if q.Mode == ModeKPITrend {
		return q.validateTrend()
	}
	if err := checkList("teams", q.Teams, true); err != nil {
		return err
	}
	if err := checkList("projects", q.Projects, true); err != nil {
		return err
	}
	if len(q.GroupBy) > 1 {
		return fieldErr("groupBy", "at most one grouping (team or project)")
	}
	for i, g := range q.GroupBy {
		if g != "team" && g != "project" {
			return fieldErr(fmt.Sprintf("groupBy[%d]", i), "unknown grouping %q; expected team or project", g)
		}
	}
	if err := wholeNumber("historyDays", q.HistoryDays, 1, maxHistoryDays, "days"); err != nil {
		return err
	}
	if err := wholeNumber("trials", q.Trials, 1, forecast.MaxTrials, "trials"); err != nil {
		return err
	}
	if err := wholeNumber("backlog", q.Backlog, 0, maxBacklog, "items"); err != nil {
		return err
	}
	if q.Backlog != nil && len(q.GroupBy) > 0 {
		return fieldErr("backlog", "cannot be combined with groupBy: give each group's backlog in its own query, or leave backlog out to count each group's open items")
	}
	if err := wholeNumber("horizon", q.Horizon, 1, 36_500, "days"); err != nil {
		return err
	}
	if err := checkPercentiles("percentiles", q.Percentiles, 10); err != nil {
		return err
	}
	if q.AlertPercentile != nil {
		if err := checkPercentile("alertPercentile", *q.AlertPercentile); err != nil {
			return err
		}
	}
	if q.Mode == ModeHowMany {
		if q.TargetDate == "" {
			return fieldErr("targetDate", "required for how_many: the date to count done items by, such as 2026-12-31")
		}
		if _, err := parseDay("targetDate", q.TargetDate); err != nil {
			return err
		}
	}
	if q.DueDate != "" {
		if _, err := parseDay("dueDate", q.DueDate); err != nil {
			return err
		}
	}
	switch q.Format {
	case "", FormatTimeSeries, FormatTable:
	case FormatNumeric:
		if q.Mode == ModeTaskETA {
			return fieldErr("format", "task_eta answers a table of tasks; numeric is for completion, how_many and kpi_trend")
		}
	default:
		return fieldErr("format", "expected timeseries, table or numeric, got %q", q.Format)
	}
	return nil
}

func (q *ForecastQuery) validateTrend() error {
	if len(q.Metrics) > 1 {
		return fieldErr("metrics", "kpi_trend forecasts one metric; give one (split the series with groupBy)")
	}
	if err := q.kpi().validate(); err != nil {
		return err
	}
	if err := wholeNumber("horizon", q.Horizon, 1, maxTrendHorizon, "buckets"); err != nil {
		return err
	}
	if q.Model != "" && !slices.Contains(forecast.Models(), forecast.Model(q.Model)) {
		return fieldErr("model", "unknown model %q; expected auto, ses, holt, damped_holt or holt_winters", q.Model)
	}
	switch q.Format {
	case "", FormatTimeSeries, FormatNumeric:
	default:
		return fieldErr("format", "expected timeseries or numeric for kpi_trend, got %q", q.Format)
	}
	return nil
}

// kpi is the kpi query a kpi_trend forecast reads.
func (q *ForecastQuery) kpi() *KPIQuery {
	return &KPIQuery{Common: q.Common, Metrics: q.Metrics, Aggregation: q.Aggregation, GroupBy: q.GroupBy,
		Filters: q.Filters, AdhocFilters: q.AdhocFilters, Interval: q.Interval}
}

// NeedsTeamTree reports whether Build reads Env.TeamParents.
func (q *ForecastQuery) NeedsTeamTree() bool {
	return q.Mode == ModeKPITrend && q.kpi().NeedsTeamTree()
}

// ForecastBuilt is a planned forecast: the reads to run, in order, and how
// their results become frames.
type ForecastBuilt struct {
	Plans []plan.Plan
	// compute turns the reads' results (one long frame per plan, in order)
	// into frames and notices.
	compute func(results []*data.Frame) (data.Frames, []string, error)
}

// Frames computes the forecast from the reads' results and returns its
// frames and the notices naming the method, parameters and backtest.
func (b *ForecastBuilt) Frames(results []*data.Frame) (data.Frames, []string, error) {
	if len(results) != len(b.Plans) {
		return nil, nil, fmt.Errorf("forecast: %d results for %d reads", len(results), len(b.Plans))
	}
	return b.compute(results)
}

// Build plans the forecast as of env.To (the plugin caps it at the present):
// the delivery modes read every task's summary up to then, kpi_trend the kpi
// series over the range.
func (q *ForecastQuery) Build(env Env) (*ForecastBuilt, error) {
	if q.Mode == ModeKPITrend {
		return q.buildTrend(env)
	}
	return q.buildDelivery(env)
}

// seed is the query's part of the Monte Carlo seed: a hash of what the
// query asks (the data's part is mixed in by pkg/forecast).
func (q *ForecastQuery) seed(asOfDay int64) uint64 {
	h := uint64(14695981039346656037)
	mix := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	mix(q.Mode)
	for _, xs := range [][]string{sortedUnique(q.Teams), sortedUnique(q.Projects), q.GroupBy} {
		mix(strings.Join(xs, "\x00"))
	}
	mix(fmt.Sprint(asOfDay, q.ScopeGrowth, q.TargetDate))
	return h
}
