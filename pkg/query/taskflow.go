package query

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// Taskflow views (the query JSON's `view`).
const (
	ViewCFD        = "cfd"
	ViewWIP        = "wip"
	ViewThroughput = "throughput"
	ViewCycleTime  = "cycle_time"
	ViewAging      = "aging"
	ViewTasks      = "tasks"
)

// Views lists the taskflow views.
func Views() []string {
	return []string{ViewCFD, ViewWIP, ViewThroughput, ViewCycleTime, ViewAging, ViewTasks}
}

// DefaultPercentiles are cycle_time's percentiles when the query gives none.
func DefaultPercentiles() []float64 { return []float64{50, 85, 95} }

const day = int64(86400)

// maxDays bounds the days a cfd or throughput view fills.
const maxDays = 3700

// TaskflowQuery is queryType "taskflow".
type TaskflowQuery struct {
	Common
	View        string    `json:"view"`
	Teams       []string  `json:"teams"`
	Projects    []string  `json:"projects"`
	Percentiles []float64 `json:"percentiles"`
}

// Base returns the common fields.
func (q *TaskflowQuery) Base() Common { return q.Common }

func (q *TaskflowQuery) validate() error {
	switch q.View {
	case ViewCFD, ViewWIP, ViewThroughput, ViewCycleTime, ViewAging, ViewTasks:
	case "":
		return fieldErr("view", "required; expected cfd, wip, throughput, cycle_time, aging or tasks")
	default:
		return fieldErr("view", "unknown view %q; expected cfd, wip, throughput, cycle_time, aging or tasks", q.View)
	}
	if err := checkList("teams", q.Teams, true); err != nil {
		return err
	}
	if err := checkList("projects", q.Projects, true); err != nil {
		return err
	}
	return checkPercentiles("percentiles", q.Percentiles, 20)
}

// checkPercentiles checks a list of at most maxN percentiles, each in
// (0, 100).
func checkPercentiles(field string, ps []float64, maxN int) error {
	if len(ps) > maxN {
		return fieldErr(field, "at most %d entries", maxN)
	}
	for i, p := range ps {
		if err := checkPercentile(fmt.Sprintf("%s[%d]", field, i), p); err != nil {
			return err
		}
	}
	return nil
}

// checkPercentile checks one percentile is in (0, 100).
func checkPercentile(field string, p float64) error {
	if !finite(p) || p <= 0 || p >= 100 {
		return fieldErr(field, "expected a percentile between 0 and 100 (exclusive), got %v", p)
	}
	return nil
}

func (q *TaskflowQuery) scope() []plan.Filter {
	var fs []plan.Filter
	add := func(col string, xs []string) {
		if len(xs) == 0 {
			return
		}
		fs = append(fs, plan.Filter{Column: col, Op: plan.OpIn, Values: plan.Strings(sortedUnique(xs)...)})
	}
	add("team", q.Teams)
	add("project", q.Projects)
	return fs
}

func percentileName(p float64) string { return "p" + formatLevel(p) }

// percentLevel is p/100 without binary noise (99.9 → 0.999, not
// 0.9990000000000001), so the SQL shows the level the user asked for.
func percentLevel(p float64) float64 {
	l, _ := strconv.ParseFloat(strconv.FormatFloat(p/100, 'g', 12, 64), 64)
	return l
}

// dayRange is the UTC days [first, last] a flow view covers.
func dayRange(env Env) (int64, int64, error) {
	from, to := env.From.Unix(), env.To.Unix()
	if from < 0 {
		from = 0
	}
	if to <= from {
		to = from + 1
	}
	first, last := from/day*day, (to-1)/day*day
	if (last-first)/day+1 > maxDays {
		return 0, 0, fieldErr("timeRange", "the range covers more than %d days; narrow it", maxDays)
	}
	return first, last, nil
}

// Build plans the view. Days are UTC days.
func (q *TaskflowQuery) Build(env Env) (*Built, error) {
	limit := 0
	if env.MaxRows > 0 {
		limit = env.MaxRows + 1
	}
	to := env.To.Unix()
	if to <= 0 {
		to = 1
	}
	b := &Built{}
	switch q.View {
	case ViewCFD:
		first, last, err := dayRange(env)
		if err != nil {
			return nil, err
		}
		// Each task's state category at the end of each day it changed; the
		// days between are filled in Go (the state holds until the next change).
		b.Plan = plan.Plan{Source: schema.TableTaskEvents, TimeColumn: "ts", TimeRange: plan.TimeRange{To: last + day},
			Bucket: day, Filters: q.scope(),
			GroupBy:      []plan.GroupKey{{Column: "task_id", Alias: "task_id"}},
			Aggregations: []plan.Aggregation{{Func: plan.FuncLast, Column: "state_category", Alias: "category"}},
			OrderBy:      []plan.Order{{Column: "task_id"}, {Column: "time"}}, Limit: limit}
		b.Notices = []string{"Cumulative flow: tasks per state category at the end of each UTC day, replayed from task_events."}
		b.shape = func(res *data.Frame) (data.Frames, error) { return cfdFrame(res, first, last) }
		b.whole = "The cumulative flow replays every task's history over each day of the range, which needs the whole result, so it answers in one chunk."
	case ViewWIP:
		b.Plan = plan.Plan{Source: schema.TableTasksCurrent,
			Filters:      append(q.scope(), plan.Filter{Column: "state_category", Op: plan.OpIn, Values: plan.Strings(schema.CategoryTodo, schema.CategoryInProgress)}),
			GroupBy:      []plan.GroupKey{{Column: "state_category", Alias: "state_category"}, {Column: "state", Alias: "state"}},
			Aggregations: []plan.Aggregation{{Func: plan.FuncCount, Alias: "tasks"}},
			OrderBy:      []plan.Order{{Column: "state_category"}, {Column: "state"}}, Limit: limit}
		b.Notices = []string{"Work in progress: current tasks in todo and in_progress per state (tasks_current FINAL)."}
		b.rowwise = true
		b.shape = func(res *data.Frame) (data.Frames, error) {
			unitless(res)
			frames.AsNumericLong(res)
			return data.Frames{res}, nil
		}
	case ViewThroughput:
		first, last, err := dayRange(env)
		if err != nil {
			return nil, err
		}
		inner := plan.Plan{Source: schema.TableTaskEvents, TimeColumn: "ts", TimeRange: plan.TimeRange{To: last + day},
			Filters:      append(q.scope(), plan.Filter{Column: "state_category", Op: plan.OpEq, Values: plan.Strings(schema.CategoryDone)}),
			GroupBy:      []plan.GroupKey{{Column: "task_id", Alias: "task_id"}},
			Aggregations: []plan.Aggregation{{Func: plan.FuncMin, Column: "ts", Alias: "done_at"}}}
		b.Plan = plan.Plan{From: &inner, TimeColumn: "done_at", TimeRange: plan.TimeRange{From: first, To: last + day},
			Bucket: day, Aggregations: []plan.Aggregation{{Func: plan.FuncCount, Alias: "throughput"}},
			OrderBy: []plan.Order{{Column: "time"}}, Limit: limit}
		b.Notices = []string{"Throughput: tasks first reaching a done state per UTC day (days without any count as 0)."}
		b.shape = func(res *data.Frame) (data.Frames, error) { return throughputFrame(res, first, last) }
		b.whole = "Throughput fills in the days without completions, which needs the whole result, so it answers in one chunk."
	case ViewCycleTime:
		ps := q.Percentiles
		if len(ps) == 0 {
			ps = DefaultPercentiles()
		}
		inner := plan.Plan{Source: schema.TableTaskEvents, TimeColumn: "ts", TimeRange: plan.TimeRange{To: to},
			Filters: q.scope(), GroupBy: []plan.GroupKey{{Column: "task_id", Alias: "task_id"}},
			Aggregations: []plan.Aggregation{
				{Func: plan.FuncMin, Column: "ts", Alias: "started", Where: []plan.Filter{{Column: "state_category", Op: plan.OpEq, Values: plan.Strings(schema.CategoryInProgress)}}},
				{Func: plan.FuncMin, Column: "ts", Alias: "finished", Where: []plan.Filter{{Column: "state_category", Op: plan.OpEq, Values: plan.Strings(schema.CategoryDone)}}},
			}}
		outer := plan.Plan{From: &inner, TimeColumn: "finished", TimeRange: plan.TimeRange{From: max(env.From.Unix(), 1), To: to},
			Filters:      []plan.Filter{{Column: "started", Op: plan.OpGt, Values: []plan.Value{plan.Number(0)}}},
			Aggregations: []plan.Aggregation{{Func: plan.FuncCount, Column: "finished", Minus: "started", Alias: "tasks"}}}
		for _, p := range ps {
			outer.Aggregations = append(outer.Aggregations, plan.Aggregation{Func: plan.FuncQuantile, Column: "finished", Minus: "started",
				Args: []float64{percentLevel(p)}, Alias: fmt.Sprintf("q%d", len(outer.Aggregations))})
		}
		b.Plan = outer
		b.Notices = []string{"Cycle time: per task, first in_progress event to first done event, for tasks done in the range; percentiles interpolate between the nearest values (ClickHouse quantile)."}
		b.shape = func(res *data.Frame) (data.Frames, error) { return cycleTimeFrame(res, ps) }
		b.whole = "Cycle time is one row of percentiles over all tasks, so it answers in one chunk."
	case ViewAging:
		inner := plan.Plan{Source: schema.TableTaskEvents, TimeColumn: "ts", TimeRange: plan.TimeRange{To: to},
			Filters: q.scope(), GroupBy: []plan.GroupKey{{Column: "task_id", Alias: "task_id"}},
			Aggregations: []plan.Aggregation{
				{Func: plan.FuncLast, Column: "state_category", Alias: "cur_category"},
				{Func: plan.FuncLast, Column: "state", Alias: "cur_state"},
				{Func: plan.FuncLast, Column: "title", Alias: "cur_title"},
				{Func: plan.FuncLast, Column: "team", Alias: "cur_team"},
				{Func: plan.FuncLast, Column: "project", Alias: "cur_project"},
				{Func: plan.FuncLast, Column: "assignee", Alias: "cur_assignee"},
				{Func: plan.FuncMin, Column: "ts", Alias: "started", Where: []plan.Filter{{Column: "state_category", Op: plan.OpEq, Values: plan.Strings(schema.CategoryInProgress)}}},
			}}
		b.Plan = plan.Plan{From: &inner,
			Filters: []plan.Filter{{Column: "cur_category", Op: plan.OpEq, Values: plan.Strings(schema.CategoryInProgress)}},
			Columns: []string{"task_id", "cur_title", "cur_team", "cur_project", "cur_state", "cur_assignee", "started"},
			OrderBy: []plan.Order{{Column: "started"}, {Column: "task_id"}}, Limit: limit}
		b.Notices = []string{"Aging: tasks in progress at the end of the range, with the time since their first in_progress event."}
		b.shape = func(res *data.Frame) (data.Frames, error) { return agingFrame(res, to) }
		b.rowwise = true
	case ViewTasks:
		b.Plan = plan.Plan{Source: schema.TableTasksCurrent, Filters: q.scope(),
			Columns: []string{"task_id", "title", "kind", "team", "project", "state", "state_category", "assignee", "points", "parent_id", "ts"},
			OrderBy: []plan.Order{{Column: "ts", Desc: true}, {Column: "task_id"}}, Limit: limit}
		b.Notices = []string{"Tasks: the latest state of every task in scope (tasks_current FINAL), most recently changed first."}
		b.rowwise = true
		b.shape = func(res *data.Frame) (data.Frames, error) {
			unitless(res)
			frames.AsTable(res)
			return data.Frames{res}, nil
		}
	}
	scope := q.scope()
	b.live = func(plan.Plan) *LiveStream { return taskflowLive(scope, b.shape) }
	return b, nil
}

// cfdFrame replays each task's daily last state category over the days
// [first, last]: a task counts from the day of its first event, in the
// category of its latest event up to that day's end.
func cfdFrame(res *data.Frame, first, last int64) (data.Frames, error) {
	tf, err := frames.Field(res, "time")
	if err != nil {
		return nil, err
	}
	idf, err := frames.Field(res, "task_id")
	if err != nil {
		return nil, err
	}
	cf, err := frames.Field(res, "category")
	if err != nil {
		return nil, err
	}
	times, ids, cats := frames.Times(tf), frames.Strings(idf), frames.Strings(cf)
	// Rows by task, then by day (the query orders them so already; ties,
	// which its GROUP BY rules out, keep their order).
	rows := make([]int, len(ids))
	for i := range rows {
		rows[i] = i
	}
	byTaskDay := func(a, b int) int {
		if c := strings.Compare(ids[a], ids[b]); c != 0 {
			return c
		}
		return cmp.Compare(times[a].Unix(), times[b].Unix())
	}
	if !slices.IsSortedFunc(rows, byTaskDay) {
		slices.SortStableFunc(rows, byTaskDay)
	}
	n := int((last-first)/day) + 1
	categories := schema.StateCategories()
	catIndex := make(map[string]int, len(categories))
	for i, c := range categories {
		catIndex[c] = i
	}
	// Each change adds its task to its category for the days from its own
	// up to the task's next change (a range of days, as +1 and -1 in diff),
	// instead of stepping every task through every day.
	diff := make([][]float64, len(categories))
	for i := range diff {
		diff[i] = make([]float64, n+1)
	}
	// dayIndex is the first day of the range whose start is not before t.
	dayIndex := func(t int64) int {
		if t <= first {
			return 0
		}
		return int(min((t-first+day-1)/day, int64(n)))
	}
	for k, r := range rows {
		ci, ok := catIndex[cats[r]]
		if !ok {
			continue
		}
		start, end := dayIndex(times[r].Unix()), n
		if next := k + 1; next < len(rows) && ids[rows[next]] == ids[r] {
			end = dayIndex(times[rows[next]].Unix())
		}
		if start < end {
			diff[ci][start]++
			diff[ci][end]--
		}
	}
	days := make([]time.Time, n)
	for d := range days {
		days[d] = time.Unix(first+int64(d)*day, 0).UTC()
	}
	f := data.NewFrame("cfd", data.NewField("time", nil, days))
	for i, c := range categories {
		counts, held := make([]float64, n), 0.0
		for d := range counts {
			held += diff[i][d]
			counts[d] = held
		}
		f.Fields = append(f.Fields, withUnit(data.NewField(c, nil, counts), "none"))
	}
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}}
	return data.Frames{f}, nil
}

// throughputFrame fills the days without completions with 0 (ClickHouse
// 18.16 has no WITH FILL).
func throughputFrame(res *data.Frame, first, last int64) (data.Frames, error) {
	tf, err := frames.Field(res, "time")
	if err != nil {
		return nil, err
	}
	cf, err := frames.Field(res, "throughput")
	if err != nil {
		return nil, err
	}
	n := int((last-first)/day) + 1
	counts := make([]float64, n)
	for i := 0; i < res.Rows(); i++ {
		d := (frames.TimeAt(tf, i).Unix() - first) / day
		if d >= 0 && int(d) < n {
			if v := frames.FloatAt(cf, i); v != nil {
				counts[d] = *v
			}
		}
	}
	times := make([]time.Time, n)
	for d := range times {
		times[d] = time.Unix(first+int64(d)*day, 0).UTC()
	}
	f := data.NewFrame("throughput", data.NewField("time", nil, times), withUnit(data.NewField("throughput", nil, counts), "none"))
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}}
	return data.Frames{f}, nil
}

func cycleTimeFrame(res *data.Frame, ps []float64) (data.Frames, error) {
	names := make([]string, len(ps))
	vals := make([]*float64, len(ps))
	var tasks float64
	if res.Rows() > 0 {
		if tf, err := frames.Field(res, "tasks"); err == nil {
			if v := frames.FloatAt(tf, 0); v != nil {
				tasks = *v
			}
		}
	}
	for i, p := range ps {
		names[i] = percentileName(p)
		qf, err := frames.Field(res, fmt.Sprintf("q%d", i+1))
		if err != nil {
			return nil, err
		}
		if res.Rows() > 0 && tasks > 0 {
			vals[i] = frames.FloatAt(qf, 0)
		}
	}
	counts := make([]float64, len(ps))
	for i := range counts {
		counts[i] = tasks
	}
	vf := withUnit(data.NewField("cycle_time", nil, vals), "s")
	f := data.NewFrame("cycle_time", data.NewField("percentile", nil, names), vf, withUnit(data.NewField("tasks", nil, counts), "none"))
	frames.AsNumericLong(f)
	return data.Frames{f}, nil
}

func agingFrame(res *data.Frame, asOf int64) (data.Frames, error) {
	rename := map[string]string{"cur_title": "title", "cur_team": "team", "cur_project": "project",
		"cur_state": "state", "cur_assignee": "assignee"}
	sf, err := frames.Field(res, "started")
	if err != nil {
		return nil, err
	}
	ages := make([]float64, res.Rows())
	for i := range ages {
		ages[i] = float64(asOf - frames.TimeAt(sf, i).Unix())
	}
	for _, f := range res.Fields {
		if n, ok := rename[f.Name]; ok {
			f.Name = n
		}
	}
	af := withUnit(data.NewField("age", nil, ages), "s")
	res.Fields = append(res.Fields, af)
	frames.AsTable(res)
	return data.Frames{res}, nil
}

// withUnit sets a field's unit, so values format as Grafana users expect
// (17.5 hours, not 63119.5). No display name: panels select fields by name
// (reduceOptions.fields), and a display name would rename them.
func withUnit(f *data.Field, unit string) *data.Field {
	f.Config = &data.FieldConfig{Unit: unit}
	return f
}

// unitless gives the number fields of a result without a unit the unit
// "none" (counts and points), so a panel's unit for durations is not
// applied to them.
func unitless(f *data.Frame) {
	for _, fl := range f.Fields {
		if fl.Type().Numeric() && (fl.Config == nil || fl.Config.Unit == "") {
			withUnit(fl, "none")
		}
	}
}
