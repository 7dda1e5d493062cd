package query

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/forecast"
	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// backtestHorizonDays sizes the completion backtest's target: about two
// weeks of average throughput, so past outcomes are known within the data.
const backtestHorizonDays = 14

// taskSummary is one task as the delivery modes read it: its first event,
// first in-progress and first done times (0 for none) and its latest state.
type taskSummary struct {
	id, category, team, project, title, state, assignee string
	created, started, finished                          int64
}

// summaryPlan reads one row per task in scope from task_events up to asOf.
func (q *ForecastQuery) summaryPlan(asOf int64, limit int) plan.Plan {
	only := func(cat string) []plan.Filter {
		return []plan.Filter{{Column: "state_category", Op: plan.OpEq, Values: plan.Strings(cat)}}
	}
	aggs := []plan.Aggregation{
		{Func: plan.FuncMin, Column: "ts", Alias: "created"},
		{Func: plan.FuncMin, Column: "ts", Alias: "started", Where: only(schema.CategoryInProgress)},
		{Func: plan.FuncMin, Column: "ts", Alias: "finished", Where: only(schema.CategoryDone)},
		{Func: plan.FuncLast, Column: "state_category", Alias: "cur_category"},
		{Func: plan.FuncLast, Column: "team", Alias: "cur_team"},
		{Func: plan.FuncLast, Column: "project", Alias: "cur_project"},
	}
	if q.Mode == ModeTaskETA {
		aggs = append(aggs,
			plan.Aggregation{Func: plan.FuncLast, Column: "title", Alias: "cur_title"},
			plan.Aggregation{Func: plan.FuncLast, Column: "state", Alias: "cur_state"},
			plan.Aggregation{Func: plan.FuncLast, Column: "assignee", Alias: "cur_assignee"})
	}
	tq := &TaskflowQuery{Teams: q.Teams, Projects: q.Projects}
	return plan.Plan{Source: schema.TableTaskEvents, TimeColumn: "ts", TimeRange: plan.TimeRange{To: asOf},
		Filters: tq.scope(), GroupBy: []plan.GroupKey{{Column: "task_id", Alias: "task_id"}},
		Aggregations: aggs, OrderBy: []plan.Order{{Column: "task_id"}}, Limit: limit}
}

func readSummaries(res *data.Frame, withText bool) ([]taskSummary, error) {
	names := []string{"task_id", "created", "started", "finished", "cur_category", "cur_team", "cur_project"}
	if withText {
		names = append(names, "cur_title", "cur_state", "cur_assignee")
	}
	cols := make([]*data.Field, len(names))
	for i, n := range names {
		f, err := frames.Field(res, n)
		if err != nil {
			return nil, err
		}
		cols[i] = f
	}
	out := make([]taskSummary, res.Rows())
	for i := range out {
		ts := taskSummary{id: frames.StringAt(cols[0], i), created: frames.TimeAt(cols[1], i).Unix(),
			started: frames.TimeAt(cols[2], i).Unix(), finished: frames.TimeAt(cols[3], i).Unix(),
			category: frames.StringAt(cols[4], i), team: frames.StringAt(cols[5], i), project: frames.StringAt(cols[6], i)}
		if withText {
			ts.title, ts.state, ts.assignee = frames.StringAt(cols[7], i), frames.StringAt(cols[8], i), frames.StringAt(cols[9], i)
		}
		out[i] = ts
	}
	return out, nil
}

// deliveryEnv is what the delivery modes compute with.
type deliveryEnv struct {
	asOf, asOfDay int64
	historyDays   int
	opts          forecast.Options
	maxRows       int
}

func (q *ForecastQuery) buildDelivery(env Env) (*ForecastBuilt, error) {
	asOf := env.To.Unix()
	if asOf <= 0 {
		return nil, fieldErr("timeRange", "the range must end after 1970")
	}
	de := deliveryEnv{asOf: asOf, asOfDay: asOf / day * day, historyDays: defaultHistoryDays, maxRows: env.MaxRows}
	if q.HistoryDays != nil {
		de.historyDays = int(*q.HistoryDays)
	}
	o := forecast.NewOptions().WithSeed(q.seed(de.asOfDay))
	if q.Trials != nil {
		o = o.WithTrials(int(*q.Trials))
	}
	if q.Horizon != nil {
		o = o.WithHorizon(int(*q.Horizon))
	}
	switch {
	case len(q.Percentiles) > 0:
		o = o.WithPercentiles(q.Percentiles...)
	case q.Mode == ModeTaskETA:
		o = o.WithPercentiles(taskETAPercentiles()...)
	}
	if q.Format == FormatNumeric {
		o = o.WithPercentiles(q.alertPercentile())
	}
	de.opts = o
	limit := 0
	if env.MaxRows > 0 {
		limit = env.MaxRows + 1
	}
	b := &ForecastBuilt{Plans: []plan.Plan{q.summaryPlan(asOf, limit)}}
	b.compute = func(results []*data.Frame) (data.Frames, []string, error) {
		tasks, err := readSummaries(results[0], q.Mode == ModeTaskETA)
		if err != nil {
			return nil, nil, err
		}
		var notices []string
		if env.MaxRows > 0 && len(tasks) > env.MaxRows {
			return nil, nil, fieldErr("teams", "the scope holds more than %d tasks (the data source's Max rows); narrow it with teams or projects", env.MaxRows)
		}
		switch q.Mode {
		case ModeTaskETA:
			return q.taskETAFrames(tasks, de)
		case ModeHowMany:
			return q.howManyFrames(tasks, de, notices)
		}
		return q.completionFrames(tasks, de, notices)
	}
	return b, nil
}

func (q *ForecastQuery) alertPercentile() float64 {
	if q.AlertPercentile != nil {
		return *q.AlertPercentile
	}
	return defaultAlertPercentile
}

// group splits tasks by the query's grouping ("" when it has none).
func (q *ForecastQuery) group(tasks []taskSummary) ([]string, map[string][]taskSummary) {
	by := map[string][]taskSummary{}
	for _, t := range tasks {
		k := ""
		if len(q.GroupBy) > 0 {
			k = t.team
			if q.GroupBy[0] == "project" {
				k = t.project
			}
		}
		by[k] = append(by[k], t)
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 && len(q.GroupBy) == 0 {
		keys = []string{""}
	}
	return keys, by
}

func (q *ForecastQuery) labels(key string) data.Labels {
	if len(q.GroupBy) == 0 {
		return nil
	}
	return data.Labels{q.GroupBy[0]: key}
}

// daily is a group's history as the Monte Carlo reads it.
type daily struct {
	start     int64 // first day (UTC)
	history   forecast.History
	doneSoFar int // done within the history window
	remaining int
	// backtest is the longer series the backtest replays (up to twice the
	// history), ending on the same day.
	backtest []int
}

// dailyHistory counts, per UTC day of the history window (clipped to the
// group's first task event: days before the work existed are no
// zero-throughput days), the items first done and the items that appeared.
func dailyHistory(tasks []taskSummary, de deliveryEnv, growth bool) (daily, bool) {
	first := int64(math.MaxInt64)
	for _, t := range tasks {
		if t.created > 0 {
			first = min(first, t.created/day*day)
		}
	}
	start := max(de.asOfDay-int64(de.historyDays)*day, first)
	btStart := max(de.asOfDay-2*int64(de.historyDays)*day, first)
	if start >= de.asOfDay {
		return daily{}, false
	}
	n := int((de.asOfDay - start) / day)
	nb := int((de.asOfDay - btStart) / day)
	d := daily{start: start, history: forecast.History{Done: make([]int, n)}, backtest: make([]int, nb)}
	if growth {
		d.history.Added = make([]int, n)
	}
	for _, t := range tasks {
		if t.finished > 0 && t.finished < de.asOfDay {
			if t.finished >= start {
				d.history.Done[(t.finished-start)/day]++
				d.doneSoFar++
			}
			if t.finished >= btStart {
				d.backtest[(t.finished-btStart)/day]++
			}
		}
		if growth && t.created >= start && t.created < de.asOfDay {
			d.history.Added[(t.created-start)/day]++
		}
		if t.category != schema.CategoryDone {
			d.remaining++
		}
	}
	return d, true
}

func dayTime(unix int64) time.Time { return time.Unix(unix, 0).UTC() }

func (q *ForecastQuery) completionFrames(tasks []taskSummary, de deliveryEnv, notices []string) (data.Frames, []string, error) {
	keys, by := q.group(tasks)
	o := de.opts
	ps := o.Percentiles()
	var series data.Frames
	var table struct {
		group  []string
		pct    []float64
		date   []*time.Time
		days   []*float64
		within []bool
	}
	numeric := q.Format == FormatNumeric
	var due int64
	if q.DueDate != "" {
		due, _ = parseDay("dueDate", q.DueDate)
	}
	for _, key := range keys {
		label := groupNote(q, key)
		d, ok := dailyHistory(by[key], de, q.ScopeGrowth)
		if !ok {
			notices = append(notices, fmt.Sprintf("%sno task history before %s: nothing to forecast from.", label, dayTime(de.asOfDay).Format(time.DateOnly)))
			continue
		}
		remaining := d.remaining
		if q.Backlog != nil {
			remaining = int(*q.Backlog)
		}
		res, err := forecast.Completion(d.history, remaining, o)
		if err != nil {
			return nil, nil, fmt.Errorf("forecast %s: %w", label, err)
		}
		notices = append(notices, completionNotice(label, d, remaining, res, q.ScopeGrowth))
		if bt, ok := completionBacktest(d, de, remaining, q.alertPercentile(), o); ok {
			notices = append(notices, label+bt)
		}
		if numeric {
			series = append(series, completionNumeric(q, key, res, de, due))
			continue
		}
		if q.Format != FormatTable {
			series = append(series, burnupFrame(q, key, d, res, de, ps))
		}
		for _, p := range res.Percentiles {
			table.group = append(table.group, key)
			table.pct = append(table.pct, p.Percentile)
			table.within = append(table.within, p.Within)
			if p.Within {
				t := dayTime(de.asOfDay + int64(max(p.Day-1, 0))*day)
				days := float64(max(p.Day-1, 0))
				table.date, table.days = append(table.date, &t), append(table.days, &days)
			} else {
				table.date, table.days = append(table.date, nil), append(table.days, nil)
			}
		}
	}
	if !numeric {
		var fields []*data.Field
		if len(q.GroupBy) > 0 {
			fields = append(fields, data.NewField(q.GroupBy[0], nil, nonNil(table.group)))
		}
		daysField := data.NewField("days", nil, nonNil(table.days))
		daysField.Config = &data.FieldConfig{Unit: "d", Description: "days from the as-of day; the work is done by the end of that day"}
		fields = append(fields, data.NewField("percentile", nil, nonNil(table.pct)),
			data.NewField("date", nil, nonNil(table.date)), daysField, data.NewField("within_horizon", nil, nonNil(table.within)))
		dates := data.NewFrame("dates", fields...)
		frames.AsTable(dates)
		series = append(series, dates)
	}
	return series, notices, nil
}

func groupNote(q *ForecastQuery, key string) string {
	if len(q.GroupBy) == 0 {
		return ""
	}
	return fmt.Sprintf("%s %s: ", q.GroupBy[0], key)
}

func completionNotice(label string, d daily, remaining int, res forecast.CompletionResult, growth bool) string {
	s := fmt.Sprintf("%sMonte Carlo completion forecast for %d remaining items: %d trials over %d days of throughput (%d items done, %s to %s, zero days included), each trial resampling those days first",
		label, remaining, res.Trials, len(d.history.Done), d.doneSoFar, dayTime(d.start).Format(time.DateOnly),
		dayTime(d.start+int64(len(d.history.Done)-1)*day).Format(time.DateOnly))
	if growth {
		s += "; scope growth sampled from the same days"
	}
	s += fmt.Sprintf("; seed %016x.", res.Seed)
	var missing []string
	for _, p := range res.Percentiles {
		if !p.Within {
			missing = append(missing, "P"+formatLevel(p.Percentile))
		}
	}
	if len(missing) > 0 {
		s += fmt.Sprintf(" No completion within the horizon (%d days) for %v: %d of %d trials did not finish.", res.Horizon, missing, res.NotDone, res.Trials)
	}
	return s
}

// completionBacktest replays the P(alert) forecast over the backtest series.
func completionBacktest(d daily, de deliveryEnv, remaining int, p float64, o forecast.Options) (string, bool) {
	window := len(d.history.Done)
	if len(d.backtest) < window+backtestHorizonDays {
		return fmt.Sprintf("backtest: needs %d days of history (%d for the window and %d to check against), has %d.",
			window+backtestHorizonDays, window, backtestHorizonDays, len(d.backtest)), true
	}
	total := 0
	for _, v := range d.history.Done {
		total += v
	}
	target := min(max(remaining, 1), max(1, int(math.Round(float64(total)/float64(window)*backtestHorizonDays))))
	bt, err := forecast.BacktestCompletion(forecast.History{Done: d.backtest}, window, target, p, o)
	if err != nil || bt.Checks == 0 {
		return "", false
	}
	return fmt.Sprintf("backtest: over the last %d days, the P%s date for the next %d items held in %d of %d past forecasts (%.0f %%).",
		len(d.backtest)-window, formatLevel(p), target, bt.Held, bt.Checks, 100*bt.Rate()), true
}

// burnupFrame is one group's burn-up: the cumulative done count per day of
// the history, then per forecast day the count done with each percentile's
// chance, and the scope.
func burnupFrame(q *ForecastQuery, key string, d daily, res forecast.CompletionResult, de deliveryEnv, ps []float64) *data.Frame {
	n := len(d.history.Done)
	rows := n + len(res.Burnup)
	times := make([]time.Time, 0, rows)
	done := make([]*float64, 0, rows)
	scope := make([]*float64, 0, rows)
	lines := make([][]*float64, len(ps))
	f := func(v float64) *float64 { return &v }
	cum := 0.0
	for i, v := range d.history.Done {
		cum += float64(v)
		times = append(times, dayTime(d.start+int64(i)*day))
		done = append(done, f(cum))
		if i == n-1 {
			// The projections start from the last actual point.
			scope = append(scope, f(cum+float64(res.Remaining)))
			for j := range lines {
				lines[j] = append(lines[j], f(cum))
			}
		} else {
			scope = append(scope, nil)
			for j := range lines {
				lines[j] = append(lines[j], nil)
			}
		}
	}
	for _, bp := range res.Burnup {
		times = append(times, dayTime(de.asOfDay+int64(bp.Day-1)*day))
		done = append(done, nil)
		scope = append(scope, f(cum+float64(bp.Scope)))
		for j := range lines {
			lines[j] = append(lines[j], f(cum+float64(bp.Done[j])))
		}
	}
	labels := q.labels(key)
	fr := data.NewFrame("burnup", data.NewField("time", nil, times), data.NewField("done", labels, done),
		data.NewField("scope", labels, scope))
	for j, p := range ps {
		fl := data.NewField(percentileName(p), labels, lines[j])
		fl.Config = &data.FieldConfig{Description: fmt.Sprintf("items done with at least %s %% chance", formatLevel(p))}
		fr.Fields = append(fr.Fields, fl)
	}
	fr.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}}
	return fr
}

// completionNumeric is the alert form: days from the as-of day to the
// percentile date, or, with dueDate, days past the due date (negative:
// early). No completion within the horizon counts as the horizon.
func completionNumeric(q *ForecastQuery, key string, res forecast.CompletionResult, de deliveryEnv, due int64) *data.Frame {
	p := res.Percentiles[0]
	days := res.Horizon
	if p.Within {
		days = max(p.Day-1, 0)
	}
	name := "days_to_p" + formatLevel(p.Percentile)
	v := float64(days)
	if q.DueDate != "" {
		name = "days_late_p" + formatLevel(p.Percentile)
		v = float64(de.asOfDay+int64(days)*day-due) / float64(day)
	}
	fl := data.NewField(name, q.labels(key), []float64{v})
	fl.Config = &data.FieldConfig{Unit: "d"}
	fr := data.NewFrame(name, fl)
	fr.Meta = &data.FrameMeta{Type: data.FrameTypeNumericMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
	return fr
}

func (q *ForecastQuery) howManyFrames(tasks []taskSummary, de deliveryEnv, notices []string) (data.Frames, []string, error) {
	target, _ := parseDay("targetDate", q.TargetDate)
	if target < de.asOfDay {
		return nil, nil, fieldErr("targetDate", "%s is before the as-of day %s", q.TargetDate, dayTime(de.asOfDay).Format(time.DateOnly))
	}
	days := int((target-de.asOfDay)/day) + 1
	keys, by := q.group(tasks)
	var series data.Frames
	var group []string
	var pct, items []float64
	for _, key := range keys {
		label := groupNote(q, key)
		d, ok := dailyHistory(by[key], de, false)
		if !ok {
			notices = append(notices, fmt.Sprintf("%sno task history before %s: nothing to forecast from.", label, dayTime(de.asOfDay).Format(time.DateOnly)))
			continue
		}
		res, err := forecast.HowMany(d.history, days, de.opts)
		if err != nil {
			return nil, nil, fmt.Errorf("forecast %s: %w", label, err)
		}
		notices = append(notices, fmt.Sprintf("%sMonte Carlo how-many forecast for the %d days %s to %s: %d trials over %d days of throughput (zero days included), each trial resampling those days first; seed %016x. P%% = at least this many items with P %% chance.",
			label, days, dayTime(de.asOfDay).Format(time.DateOnly), q.TargetDate, res.Trials, len(d.history.Done), res.Seed))
		if q.Format == FormatNumeric {
			p := res.Percentiles[0]
			fl := data.NewField("items_p"+formatLevel(p.Percentile), q.labels(key), []float64{float64(p.Items)})
			fr := data.NewFrame(fl.Name, fl)
			fr.Meta = &data.FrameMeta{Type: data.FrameTypeNumericMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
			series = append(series, fr)
			continue
		}
		for _, p := range res.Percentiles {
			group = append(group, key)
			pct = append(pct, p.Percentile)
			items = append(items, float64(p.Items))
		}
	}
	if q.Format != FormatNumeric {
		var fields []*data.Field
		if len(q.GroupBy) > 0 {
			fields = append(fields, data.NewField(q.GroupBy[0], nil, nonNil(group)))
		}
		td := dayTime(target)
		dates := make([]time.Time, len(pct))
		for i := range dates {
			dates[i] = td
		}
		fields = append(fields, data.NewField("percentile", nil, nonNil(pct)), data.NewField("items", nil, nonNil(items)),
			data.NewField("date", nil, dates))
		fr := data.NewFrame("how_many", fields...)
		frames.AsTable(fr)
		series = append(series, fr)
	}
	return series, notices, nil
}

func (q *ForecastQuery) taskETAFrames(tasks []taskSummary, de deliveryEnv) (data.Frames, []string, error) {
	histStart := de.asOfDay - int64(de.historyDays)*day
	var finished []float64
	var spans []forecast.Span
	var open []taskSummary
	var ages []float64
	for _, t := range tasks {
		if t.started <= 0 {
			continue
		}
		end := math.NaN()
		if t.finished > t.started {
			end = float64(t.finished)
			if t.finished >= histStart {
				finished = append(finished, float64(t.finished-t.started))
			}
		}
		spans = append(spans, forecast.Span{Start: float64(t.started), End: end})
		if t.category == schema.CategoryInProgress {
			open = append(open, t)
		}
	}
	sort.SliceStable(open, func(i, j int) bool { return open[i].started < open[j].started })
	for _, t := range open {
		ages = append(ages, float64(de.asOf-t.started))
	}
	ps := de.opts.Percentiles()
	etas, err := forecast.TaskETAs(finished, ages, ps)
	if err != nil {
		return nil, nil, err
	}
	n := len(open)
	cols := struct {
		id, title, team, project, state, assignee []string
		started                                   []time.Time
		age, basis                                []float64
	}{}
	eta := make([][]*time.Time, len(ps))
	noBasis := 0
	for i, t := range open {
		cols.id, cols.title, cols.team = append(cols.id, t.id), append(cols.title, t.title), append(cols.team, t.team)
		cols.project, cols.state, cols.assignee = append(cols.project, t.project), append(cols.state, t.state), append(cols.assignee, t.assignee)
		cols.started = append(cols.started, dayTime(t.started))
		cols.age = append(cols.age, ages[i])
		cols.basis = append(cols.basis, float64(etas[i].Basis))
		for j := range ps {
			c := etas[i].CycleTime[j]
			if math.IsNaN(c) {
				eta[j] = append(eta[j], nil)
				if j == len(ps)-1 {
					noBasis++
				}
				continue
			}
			v := dayTime(t.started + int64(c))
			eta[j] = append(eta[j], &v)
		}
	}
	ageField := data.NewField("age", nil, nonNil(cols.age))
	ageField.Config = &data.FieldConfig{Unit: "s"}
	fields := []*data.Field{data.NewField("task_id", nil, nonNil(cols.id)), data.NewField("title", nil, nonNil(cols.title)),
		data.NewField("team", nil, nonNil(cols.team)), data.NewField("project", nil, nonNil(cols.project)),
		data.NewField("state", nil, nonNil(cols.state)), data.NewField("assignee", nil, nonNil(cols.assignee)),
		data.NewField("started", nil, nonNil(cols.started)), ageField}
	for j, p := range ps {
		fl := data.NewField("eta_"+percentileName(p), nil, nonNil(eta[j]))
		fl.Config = &data.FieldConfig{Description: fmt.Sprintf("done by this time with %s %% chance", formatLevel(p))}
		fields = append(fields, fl)
	}
	fields = append(fields, data.NewField("basis", nil, nonNil(cols.basis)))
	fr := data.NewFrame("task_eta", fields...)
	frames.AsTable(fr)
	notices := []string{fmt.Sprintf("Task ETAs for %d tasks in progress from the cycle times (first in_progress to first done) of %d tasks finished in the last %d days, each conditioned on the task's age: a task is forecast from the finished tasks that took longer than its age (basis). The P%% ETA is the order statistic that bounds a new task with P %% chance.",
		n, len(finished), de.historyDays)}
	if noBasis > 0 {
		notices = append(notices, fmt.Sprintf("%d tasks are older than all but a few finished tasks, too few to bound a P%s ETA (left empty).", noBasis, formatLevel(ps[len(ps)-1])))
	}
	var origins []float64
	for t := de.asOfDay - int64(de.historyDays)*day; t < de.asOfDay; t += 7 * day {
		origins = append(origins, float64(t))
	}
	p := ps[len(ps)-1]
	if bt := forecast.BacktestTaskETA(spans, origins, float64(de.asOf), p); bt.Checks > 0 {
		notices = append(notices, fmt.Sprintf("backtest: weekly over the last %d days, the P%s ETAs of the tasks then in progress held for %d of %d tasks (%.0f %%).",
			de.historyDays, formatLevel(p), bt.Held, bt.Checks, 100*bt.Rate()))
	}
	return data.Frames{fr}, notices, nil
}

// nonNil gives a field a non-nil slice, so an empty result is still typed.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
