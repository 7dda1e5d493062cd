package optimizer

import (
	"fmt"
	"strings"
	"time"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// Notice kinds.
const (
	// NoticeChanged: the module's plan passed the host's checks and replaced
	// the plan.
	NoticeChanged = "changed"
	// NoticeNoted: the plan stayed as it was; the module left notes.
	NoticeNoted = "noted"
	// NoticeSkipped: the module did not run (still loading, switched off,
	// not built, plan too large for the request limit).
	NoticeSkipped = "skipped"
	// NoticeFailed: the module failed, answered an error or returned a plan
	// the host rejected; the query runs on the plan it had.
	NoticeFailed = "failed"
)

// Notice is what one module did to one query, for the frames' notices.
//
//	_, notices := h.Optimize(ctx, p, c)
//	for _, n := range notices { frame.AppendNotices(data.Notice{Text: n.Text()}) }
type Notice struct {
	Module string
	Kind   string
	// Changes lists what changed, such as "source kpi_samples → kpi_rollup_1h".
	Changes []string
	// Notes are the module's own notes.
	Notes []string
	// Reason says why the module was skipped or failed.
	Reason string
	// Took is the time the module cost the query.
	Took time.Duration
}

// Warning reports whether the notice is about a problem.
func (n Notice) Warning() bool { return n.Kind == NoticeFailed }

// Text is the notice as a panel shows it.
func (n Notice) Text() string {
	took := n.Took.Round(time.Microsecond)
	var s string
	switch n.Kind {
	case NoticeChanged:
		s = fmt.Sprintf("Optimizer module %q changed the plan in %s: %s.", n.Module, took, strings.Join(n.Changes, ", "))
	case NoticeNoted:
		s = fmt.Sprintf("Optimizer module %q kept the plan (%s).", n.Module, took)
	case NoticeSkipped:
		s = fmt.Sprintf("Optimizer module %q did not run: %s; the query runs without it.", n.Module, n.Reason)
	default:
		s = "Optimizer module " + n.failure()[len("optimizer module "):] + "; the query runs on the plan it had."
	}
	for _, note := range n.Notes {
		s += " " + note
	}
	return s
}

// describeChanges lists the fields a module may change that did change.
func describeChanges(a, b *plan.Plan, prefix string) []string {
	var out []string
	add := func(field string, from, to any) {
		out = append(out, fmt.Sprintf("%s%s %v → %v", prefix, field, from, to))
	}
	if a.Source != b.Source {
		add("source", a.Source, b.Source)
	}
	if a.TimeColumn != b.TimeColumn {
		add("time_column", a.TimeColumn, b.TimeColumn)
	}
	if a.Bucket != b.Bucket {
		add("bucket_s", a.Bucket, b.Bucket)
	}
	if a.TimeRange != b.TimeRange {
		add("time_range", fmt.Sprintf("[%d, %d)", a.TimeRange.From, a.TimeRange.To),
			fmt.Sprintf("[%d, %d)", b.TimeRange.From, b.TimeRange.To))
	}
	if a.Limit != b.Limit {
		add("limit", a.Limit, b.Limit)
	}
	if n := len(b.Filters) - len(a.Filters); n > 0 {
		out = append(out, fmt.Sprintf("%sfilters: %d added", prefix, n))
	}
	if a.From != nil && b.From != nil {
		out = append(out, describeChanges(a.From, b.From, prefix+"from.")...)
	}
	return out
}

// failure says what went wrong, as an error a pipeline reports.
func (n Notice) failure() string {
	return fmt.Sprintf("optimizer module %q failed after %s: %s", n.Module, n.Took.Round(time.Microsecond), n.Reason)
}
