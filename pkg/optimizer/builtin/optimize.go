package main

import (
	"slices"
	"strconv"
	"strings"
)

// rewrite is what the module changes in the plan.
type rewrite struct {
	source, timeColumn string
	bucket             int64
}

// handle answers one request: {"plan", "notes"} when the plan changes,
// {"notes"} when it stays, {"error"} when the request is unreadable.
func handle(req []byte, cache *catalogCache) []byte {
	r, err := parseRequest(req, cache)
	if err != nil {
		out := appendString([]byte(`{"error":`), "builtin: "+err.Error())
		return append(out, '}')
	}
	rw, notes := decide(r)
	out := []byte(`{`)
	if rw != (rewrite{}) {
		out = append(out, `"plan":`...)
		out = r.splice(out, rw)
		out = append(out, ',')
	}
	out = append(out, `"notes":[`...)
	for i, n := range notes {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendString(out, n)
	}
	return append(out, "]}"...)
}

// decide picks the coarsest rollup of the plan's table that answers it
// exactly, and otherwise widens the buckets of the raw scan when there are
// more of them than the panel shows. Anything else stays as it is.
func decide(r *request) (rewrite, []string) {
	if r.nested || r.unknown || r.source == "" || r.timeColumnAt.end == 0 {
		return rewrite{}, nil
	}
	src, ok := findTable(r.tables, r.source)
	if !ok || src.kind != "raw" {
		return rewrite{}, nil
	}
	var rollups []table
	for _, t := range r.tables {
		if t.kind == "rollup" && t.rollupOf == src.name && t.res > 0 && t.timeColumn != "" {
			rollups = append(rollups, t)
		}
	}
	if len(rollups) == 0 {
		return rewrite{}, nil
	}
	slices.SortFunc(rollups, func(a, b table) int { return int(b.res - a.res) })

	reading := "Reading " + src.name + ": "
	if why := needsRaw(r, rollups); why != "" {
		return r.widen(reading + why + ".")
	}
	for _, t := range rollups {
		if !answers(r, t) {
			continue
		}
		note := "Reading " + t.name + ": its " + human(t.res) + " buckets fit the " + human(r.bucket) +
			" interval and the aligned time range, so it answers like " + src.name + " with fewer rows."
		for _, a := range r.aggs {
			if a.fn == "quantile" {
				note += " Percentiles from rollups are t-digest estimates (approximate)."
				break
			}
		}
		return rewrite{source: t.name, timeColumn: t.timeColumn}, []string{note}
	}
	return r.widen(reading + "no rollup fits the " + human(r.bucket) + " interval.")
}

// needsRaw names what only the raw table holds: labels, or a filtered or
// grouped column that no rollup has.
func needsRaw(r *request, rollups []table) string {
	anyHas := func(f ref) bool {
		for _, t := range rollups {
			if hasRef(t, f) {
				return true
			}
		}
		return false
	}
	for _, f := range r.filters {
		switch {
		case f.labelKey != "" && !anyHas(f):
			return "label filters need the raw samples (rollups hold no labels)"
		case f.labelKey == "" && !anyHas(f):
			return "the " + f.column + " filter needs the raw samples (rollups hold no " + f.column + ")"
		}
	}
	for _, g := range r.groups {
		switch {
		case g.labelKey != "" && !anyHas(g):
			return "label groupings need the raw samples (rollups hold no labels)"
		case g.labelKey == "" && !anyHas(g):
			return "the " + g.column + " grouping needs the raw samples (rollups hold no " + g.column + ")"
		}
	}
	return ""
}

func hasRef(t table, f ref) bool {
	if f.labelKey != "" {
		return t.labels
	}
	typ, ok := t.columns[f.column]
	return ok && scalar(typ)
}

func scalar(typ string) bool {
	return !strings.HasPrefix(typ, "Array(") && !strings.HasPrefix(typ, "AggregateFunction(")
}

// answers applies the rules plan.Validate has for reading a rollup: its
// grid, aggregations of its measure that it holds states for, and every
// filtered and grouped column present.
func answers(r *request, t table) bool {
	res := t.res
	if r.bucket%res != 0 || r.from%res != 0 || r.to%res != 0 || len(r.aggs) == 0 || r.columns > 0 {
		return false
	}
	for _, a := range r.aggs {
		if a.column != t.measure || a.minus || a.where || !slices.Contains(t.funcs, a.fn) {
			return false
		}
		if a.fn == "quantile" {
			for _, q := range a.args {
				if !slices.Contains(t.quantiles, q) {
					return false
				}
			}
		}
	}
	for _, f := range append(slices.Clone(r.filters), r.groups...) {
		if !hasRef(t, f) {
			return false
		}
	}
	return true
}

// widen makes the buckets of a raw scan wide enough for the panel's points:
// a round width where that stays a multiple of the bucket, and within the
// three times the needed width that the host allows.
func (r *request) widen(note string) (rewrite, []string) {
	notes := []string{note}
	n := buckets(r.from, r.to, r.bucket)
	if r.bucket <= 0 || r.maxPoints <= 0 || n <= r.maxPoints {
		return rewrite{}, notes
	}
	need := (r.to - r.from + r.maxPoints - 1) / r.maxPoints
	fits := func(step int64) int64 {
		w := (need + step - 1) / step * step
		for buckets(r.from, r.to, w) > r.maxPoints {
			w += step
		}
		if w > 3*need {
			return 0
		}
		return w
	}
	w := int64(0)
	// Round to the largest of these units that is not above the need, so
	// the width reads well (1h, 3h, 15m) and stays under twice the need.
	for _, unit := range []int64{86400, 43200, 21600, 10800, 3600, 1800, 900, 600, 300, 60, 30, 10, 5} {
		if need >= unit {
			w = fits(lcm(unit, r.bucket))
			break
		}
	}
	if w == 0 {
		w = fits(r.bucket)
	}
	if w == 0 {
		return rewrite{}, notes
	}
	notes = append(notes, "Widened the buckets from "+human(r.bucket)+" to "+human(w)+": "+itoa(n)+
		" buckets would be more than the "+itoa(r.maxPoints)+" points the panel shows.")
	return rewrite{source: r.source, timeColumn: r.timeColumn, bucket: w}, notes
}

// buckets counts the buckets of width b that [from, to) touches, as
// plan.Buckets does (0 for an open range).
func buckets(from, to, b int64) int64 {
	if b <= 0 || from <= 0 || to <= from {
		return 0
	}
	return (to-1)/b - from/b + 1
}

func lcm(a, b int64) int64 {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// splice copies the request's plan with the rewritten values in place, so
// every field the module does not touch passes through byte for byte.
func (r *request) splice(out []byte, rw rewrite) []byte {
	type edit struct {
		at  span
		val []byte
	}
	edits := []edit{
		{r.sourceAt, appendString(nil, rw.source)},
		{r.timeColumnAt, appendString(nil, rw.timeColumn)},
	}
	if rw.bucket != 0 {
		edits = append(edits, edit{r.bucketAt, []byte(itoa(rw.bucket))})
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.at.start - b.at.start })
	b := r.raw
	pos := r.plan.start
	for _, e := range edits {
		out = append(out, b[pos:e.at.start]...)
		out = append(out, e.val...)
		pos = e.at.end
	}
	return append(out, b[pos:r.plan.end]...)
}

func findTable(ts []table, name string) (table, bool) {
	for _, t := range ts {
		if t.name == name {
			return t, true
		}
	}
	return table{}, false
}

// human writes a width in seconds with its largest whole unit: 1d, 3h, 5m, 30s.
func human(s int64) string {
	for _, u := range []struct {
		secs int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}} {
		if s > 0 && s%u.secs == 0 {
			return itoa(s/u.secs) + u.name
		}
	}
	return itoa(s) + "s"
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
