package query

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// LiveStream is how a query with live: true streams (pkg/live): the raw rows
// it follows, the plan its channel is named after, the frames a live panel
// is answered with and the frames new rows become.
//
//	pq, err := pipeline.Prepare(ctx, q, env)
//	if ls := pq.Live; ls != nil && q.Base().Live {
//		key := live.Key(ls.Kind, ls.Plan)
//		spec := live.Spec{Table: ls.Table, Scope: ls.Scope, Settle: ls.Settle,
//			Push: func(ctx context.Context, rows *data.Frame) (data.Frames, error) { return ls.Push(ctx, rows, read) }}
//		... run pq.SQL, then frames, err := ls.Answer(result) instead of pq.Shape(result)
//	}
//
// # Notes
//
// kpi streams buckets: new samples are not shown as points of their own but
// make the buckets they fall in be read again (the same plan, narrowed to
// those buckets), so a series keeps its aggregation; a bucket that changes
// comes again with its new value. taskflow streams task events: every view
// of a scope shares one channel whose frame "events" receives each new
// event, and panels replay them onto the view (the task-flow panel does).
type LiveStream struct {
	// Kind says what the channel pushes; with Plan it names the channel.
	Kind string
	// Plan is the query's plan (time range and limit do not count).
	Plan plan.Plan
	// Table and Scope are the raw rows the stream follows.
	Table string
	Scope []plan.Filter
	// Settle says pushes read tables that materialized views fill after
	// Table (rollups), so a push is worth repeating once (live.Spec.Settle).
	Settle bool
	answer func(res *data.Frame) (data.Frames, error)
	push   func(ctx context.Context, rows *data.Frame, read PlanReader) (data.Frames, error)
}

// PlanReader runs a plan and returns its result as one long frame (pkg/live's
// Source.Read).
type PlanReader func(ctx context.Context, p plan.Plan) (*data.Frame, error)

// Answer shapes the query's result for a live panel; the first frame is the
// one to carry the channel.
func (l *LiveStream) Answer(res *data.Frame) (data.Frames, error) {
	if res == nil {
		return nil, fmt.Errorf("shape live result: no frame")
	}
	return l.answer(res)
}

// Push turns new rows of Table (all its columns) into the frames to send on
// the channel, reading through read where the rows are not the answer
// themselves.
func (l *LiveStream) Push(ctx context.Context, rows *data.Frame, read PlanReader) (data.Frames, error) {
	return l.push(ctx, rows, read)
}

// Live stream kinds.
const (
	liveKindKPI        = "kpi/"
	liveKindTaskEvents = "taskflow/events"
)

// MaxLiveBuckets bounds the buckets one kpi push reads again: samples that
// arrive late and far back are left to the next refresh of the panel.
const MaxLiveBuckets = 1000

// kpiLive streams a kpi query: the buckets new samples fall in, read again
// with the final plan (on the rollup it chose) and shaped as the answer is.
func kpiLive(final plan.Plan, format string, shape func(res *data.Frame) (data.Frames, error)) *LiveStream {
	if format == "" {
		format = FormatTimeSeries
	}
	return &LiveStream{
		Kind: liveKindKPI + format, Plan: final, Table: schema.TableKPISamples, Scope: final.Filters,
		Settle: final.Source != schema.TableKPISamples,
		answer: shape,
		push: func(ctx context.Context, rows *data.Frame, read PlanReader) (data.Frames, error) {
			lo, hi, ok := touchedBuckets(rows, "ts", final.Bucket)
			if !ok {
				return nil, nil
			}
			p := final
			p.TimeRange = plan.TimeRange{From: lo, To: hi}
			res, err := read(ctx, p)
			if err != nil {
				return nil, fmt.Errorf("read the buckets new samples fell in again: %w", err)
			}
			return shape(res)
		},
	}
}

// touchedBuckets is the range of whole buckets [lo, hi) holding the rows'
// times, at most MaxLiveBuckets of them, the newest.
func touchedBuckets(rows *data.Frame, timeCol string, bucket int64) (lo, hi int64, ok bool) {
	tf, err := frames.Field(rows, timeCol)
	if err != nil || rows.Rows() == 0 || bucket <= 0 {
		return 0, 0, false
	}
	first, last := int64(1<<62), int64(-1)
	for i := 0; i < rows.Rows(); i++ {
		t := frames.TimeAt(tf, i).Unix()
		first, last = min(first, t), max(last, t)
	}
	lo, hi = max(first, 0)/bucket*bucket, (max(last, 0)/bucket+1)*bucket
	lo = max(lo, hi-MaxLiveBuckets*bucket)
	return lo, hi, true
}

// EventsFrameName names the frame taskflow's live channel appends to.
const EventsFrameName = "events"

// eventColumns are the task_events columns an events frame carries: every
// scalar column of a task event except ingest bookkeeping.
func eventColumns() ([]schema.Column, error) {
	t, ok := schema.Lookup(schema.TableTaskEvents)
	if !ok {
		return nil, fmt.Errorf("no %s table in the schema", schema.TableTaskEvents)
	}
	var cols []schema.Column
	for _, c := range t.Columns {
		if c.Name == schema.ColBatchID || c.Name == schema.ColIngestedAt || strings.HasPrefix(c.Type, "Array(") {
			continue
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// EventsFrame is the taskflow live frame of new task events (rows of
// task_events, all columns), sorted by ts; with no rows it is the empty
// frame a live answer starts with.
func EventsFrame(rows *data.Frame) (*data.Frame, error) {
	cols, err := eventColumns()
	if err != nil {
		return nil, err
	}
	out := data.NewFrame(EventsFrameName)
	n := 0
	if rows != nil {
		n = rows.Rows()
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if n > 0 {
		tf, err := frames.Field(rows, "ts")
		if err != nil {
			return nil, err
		}
		slices.SortStableFunc(order, func(a, b int) int { return frames.TimeAt(tf, a).Compare(frames.TimeAt(tf, b)) })
	}
	for _, c := range cols {
		if rows == nil {
			col, err := frames.For(c.Type)
			if err != nil {
				return nil, fmt.Errorf("events frame: column %s: %w", c.Name, err)
			}
			out.Fields = append(out.Fields, data.NewFieldFromFieldType(col.Type(), 0))
			out.Fields[len(out.Fields)-1].Name = c.Name
			continue
		}
		src, err := frames.Field(rows, c.Name)
		if err != nil {
			return nil, err
		}
		f := data.NewFieldFromFieldType(src.Type(), n)
		f.Name = c.Name
		for k, i := range order {
			f.Set(k, src.CopyAt(i))
		}
		out.Fields = append(out.Fields, f)
	}
	return out, nil
}

// taskflowLive streams a taskflow query of any view: the scope's new task
// events, appended to an events frame put first in the answer.
func taskflowLive(scope []plan.Filter, shape func(res *data.Frame) (data.Frames, error)) *LiveStream {
	return &LiveStream{
		Kind: liveKindTaskEvents, Plan: plan.Plan{Source: schema.TableTaskEvents, Filters: scope},
		Table: schema.TableTaskEvents, Scope: scope,
		answer: func(res *data.Frame) (data.Frames, error) {
			out, err := shape(res)
			if err != nil {
				return nil, err
			}
			events, err := EventsFrame(nil)
			if err != nil {
				return nil, err
			}
			events.Meta = &data.FrameMeta{Type: data.FrameTypeTable}
			return append(data.Frames{events}, out...), nil
		},
		push: func(_ context.Context, rows *data.Frame, _ PlanReader) (data.Frames, error) {
			f, err := EventsFrame(rows)
			if err != nil {
				return nil, err
			}
			return data.Frames{f}, nil
		},
	}
}
