package query

import (
	"fmt"
	"math"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// The DORA metrics (the query JSON's `metric`).
const (
	DeploymentFrequency = "deployment_frequency"
	LeadTime            = "lead_time"
	ChangeFailureRate   = "change_failure_rate"
	TimeToRestore       = "time_to_restore"
)

// DORAMetrics lists the DORA metrics.
func DORAMetrics() []string {
	return []string{DeploymentFrequency, LeadTime, ChangeFailureRate, TimeToRestore}
}

// DefaultEnvironment is the production environment DORA metrics look at.
const DefaultEnvironment = "production"

// DORAQuery is queryType "dora".
type DORAQuery struct {
	Common
	Metric      string   `json:"metric"`
	GroupBy     []string `json:"groupBy"`
	Environment string   `json:"environment"`
	Format      string   `json:"format"`
}

// Base returns the common fields.
func (q *DORAQuery) Base() Common { return q.Common }

func (q *DORAQuery) validate() error {
	switch q.Metric {
	case DeploymentFrequency, LeadTime, ChangeFailureRate, TimeToRestore:
	case "":
		return fieldErr("metric", "required; expected deployment_frequency, lead_time, change_failure_rate or time_to_restore")
	default:
		return fieldErr("metric", "unknown metric %q; expected deployment_frequency, lead_time, change_failure_rate or time_to_restore", q.Metric)
	}
	if len(q.GroupBy) > 3 {
		return fieldErr("groupBy", "at most 3 entries")
	}
	seen := map[string]bool{}
	for i, g := range q.GroupBy {
		f := fmt.Sprintf("groupBy[%d]", i)
		switch g {
		case "team", "service":
		case "environment":
			if q.Metric == TimeToRestore {
				return fieldErr(f, "incidents carry no environment; time_to_restore groups by team or service")
			}
		default:
			return fieldErr(f, "unknown grouping %q; expected team, service or environment", g)
		}
		if seen[g] {
			return fieldErr(f, "%q appears twice", g)
		}
		seen[g] = true
	}
	if err := checkText("environment", q.Environment); err != nil {
		return err
	}
	switch q.Format {
	case "", FormatTimeSeries, FormatTable, FormatBand:
	default:
		return fieldErr("format", "expected timeseries, table or band, got %q", q.Format)
	}
	return nil
}

// doraUnit is the Grafana unit of a DORA metric's value.
func doraUnit(metric string) string {
	switch metric {
	case LeadTime, TimeToRestore:
		return "s"
	case ChangeFailureRate:
		return "percentunit"
	}
	return "none"
}

// Build plans the metric as DESIGN.md and README-query.md define it.
// Timeseries buckets are whole days (at least one day, Grafana's interval
// rounded up to days) and the range is widened to whole buckets; table and
// band answer one row per group over the exact range.
func (q *DORAQuery) Build(env Env) (*Built, error) {
	envName := q.Environment
	if envName == "" {
		envName = DefaultEnvironment
	}
	var p plan.Plan
	var notices []string
	prodFilter := plan.Filter{Column: "environment", Op: plan.OpEq, Values: plan.Strings(envName)}
	switch q.Metric {
	case DeploymentFrequency:
		p = plan.Plan{Source: schema.TableDeployments, TimeColumn: "finished_at",
			Filters:      []plan.Filter{prodFilter, {Column: "result", Op: plan.OpEq, Values: plan.Strings(schema.ResultSuccess)}},
			Aggregations: []plan.Aggregation{{Func: plan.FuncUniqDays, Column: "finished_at", Alias: "value"}}}
		notices = append(notices, fmt.Sprintf("Deployment frequency: distinct UTC days with at least one successful deployment to %q.", envName))
	case LeadTime:
		p = plan.Plan{Source: schema.TableDeployments, TimeColumn: "finished_at",
			Filters:      []plan.Filter{prodFilter, {Column: "result", Op: plan.OpEq, Values: plan.Strings(schema.ResultSuccess)}},
			Aggregations: []plan.Aggregation{{Func: plan.FuncMedian, Column: "finished_at", Minus: "first_commit_at", Alias: "value"}}}
		notices = append(notices, fmt.Sprintf("Lead time: median of finished_at − first_commit_at (seconds) over successful deployments to %q; values ≤ 0 and missing first commits are ignored.", envName))
	case ChangeFailureRate:
		p = plan.Plan{Source: schema.TableDeployments, TimeColumn: "finished_at",
			Filters: []plan.Filter{prodFilter, {Column: "result", Op: plan.OpIn, Values: plan.Strings(schema.ResultSuccess, schema.ResultFailure, schema.ResultRollback)}},
			Aggregations: []plan.Aggregation{{Func: plan.FuncFraction, Alias: "value", Where: []plan.Filter{{
				Column: "deployment_id", Op: plan.OpInColumnOf, Ref: &plan.ColumnRef{Table: schema.TableIncidents, Column: "caused_by_deployment"}}}}}}
		notices = append(notices, fmt.Sprintf("Change failure rate: deployments to %q named by an incident's caused_by_deployment, over all deployments to %q (success, failure or rollback; cancelled ones are left out).", envName, envName))
	case TimeToRestore:
		p = plan.Plan{Source: schema.TableIncidents, TimeColumn: "resolved_at",
			Aggregations: []plan.Aggregation{{Func: plan.FuncMedian, Column: "resolved_at", Minus: "opened_at", Alias: "value"}}}
		notices = append(notices, "Time to restore: median of resolved_at − opened_at (seconds) over incidents resolved in the range; incidents carry no environment, so the environment does not apply.")
	}
	for _, g := range q.GroupBy {
		p.GroupBy = append(p.GroupBy, plan.GroupKey{Column: g, Alias: g})
	}
	format := q.Format
	if format == "" {
		format = FormatTimeSeries
	}
	from, to := env.From.Unix(), env.To.Unix()
	if from < 0 {
		from = 0
	}
	if to <= from {
		to = from + 1
	}
	if format == FormatTimeSeries {
		day := int64(86400)
		b, widened := bucketSeconds(0, env, day)
		if widened != "" {
			notices = append(notices, widened)
		}
		b = (b + day - 1) / day * day
		p.Bucket = b
		from, to = alignRange(env, b)
		p.OrderBy = append(p.OrderBy, plan.Order{Column: "time"})
	}
	p.TimeRange = plan.TimeRange{From: from, To: to}
	for _, g := range p.GroupBy {
		p.OrderBy = append(p.OrderBy, plan.Order{Column: g.Alias})
	}
	if env.MaxRows > 0 {
		p.Limit = env.MaxRows + 1
	}
	metric := q.Metric
	names := map[string]string{}
	b := &Built{Plan: p, Notices: notices}
	b.shape = func(res *data.Frame) (data.Frames, error) {
		switch format {
		case FormatTimeSeries:
			series, err := frames.LongToMulti(res, names, "value", doraUnit(metric))
			if err == nil && metric == DeploymentFrequency {
				// A day without deployments is a 0, not a gap.
				series = frames.FillSeries(series, p.TimeRange.From, p.TimeRange.To, p.Bucket, 0)
			}
			for _, f := range series {
				if len(f.Fields) == 2 && f.Fields[1].Name == "value" {
					f.Fields[1].Name = metric
				}
			}
			return series, err
		case FormatBand:
			return data.Frames{doraBand(res, metric, float64(to-from))}, nil
		}
		return data.Frames{doraTable(res, metric)}, nil
	}
	return b, nil
}

func doraTable(res *data.Frame, metric string) *data.Frame {
	for _, f := range res.Fields {
		if f.Name == "value" {
			vals := make([]*float64, f.Len())
			for i := range vals {
				vals[i] = frames.FloatAt(f, i)
			}
			nf := withUnit(data.NewField(metric, nil, vals), doraUnit(metric))
			*f = *nf
		}
	}
	frames.AsNumericLong(res)
	return res
}

// doraBand is the table with each group's performance band (elite, high,
// medium, low) as README-query.md lists the thresholds.
func doraBand(res *data.Frame, metric string, rangeSeconds float64) *data.Frame {
	t := doraTable(res, metric)
	var vf *data.Field
	for _, f := range t.Fields {
		if f.Name == metric {
			vf = f
		}
	}
	bands := make([]string, 0)
	if vf != nil {
		for i := 0; i < vf.Len(); i++ {
			bands = append(bands, Band(metric, frames.FloatAt(vf, i), rangeSeconds))
		}
	}
	t.Fields = append(t.Fields, data.NewField("band", nil, bands))
	return t
}

// Band classifies one DORA value. Deployment frequency is judged by
// deployment days per week over the range.
func Band(metric string, v *float64, rangeSeconds float64) string {
	if v == nil || math.IsNaN(*v) {
		return "no data"
	}
	x := *v
	const day, week = 86400.0, 7 * 86400.0
	switch metric {
	case DeploymentFrequency:
		perWeek := x / math.Max(rangeSeconds/week, 1.0/7)
		switch {
		case perWeek >= 5:
			return "elite"
		case perWeek >= 1:
			return "high"
		case perWeek >= 12.0/52:
			return "medium"
		}
		return "low"
	case LeadTime:
		switch {
		case x < day:
			return "elite"
		case x < week:
			return "high"
		case x < 30*day:
			return "medium"
		}
		return "low"
	case ChangeFailureRate:
		switch {
		case x <= 0.05:
			return "elite"
		case x <= 0.10:
			return "high"
		case x <= 0.15:
			return "medium"
		}
		return "low"
	case TimeToRestore:
		switch {
		case x < time.Hour.Seconds():
			return "elite"
		case x < day:
			return "high"
		case x < week:
			return "medium"
		}
		return "low"
	}
	return "no data"
}
