package plan

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// CheckRewrite checks a plan an optimizer module returned against the plan
// it was given, on top of Validate: the module may change where the data is
// read from (source, time column, nested plans' sources), add filters,
// narrow the time range, lower the limit, and widen the buckets of a plan
// that has more of them than its MaxPoints; but not widen the time range,
// drop a filter, raise the limit, or otherwise change what the plan computes
// (group keys, aggregations, plain columns, order, max_points), since the
// host shapes the result from those.
//
//	if err := rewritten.Validate(c); err == nil { err = CheckRewrite(&orig, &rewritten) }
//
// # Notes
//
// A widened bucket_s must be a multiple of the old one, leave at most
// max_points buckets (Buckets) and be at most three times the width that
// max_points needs, so a module cannot coarsen a panel beyond what it shows.
// CheckRewriteIn adds the checks that need the catalog.
func CheckRewrite(orig, rewritten *Plan) error {
	return checkRewrite(orig, rewritten, "")
}

// CheckRewriteIn is Validate against the catalog plus CheckRewrite, plus: a
// plan (and each nested plan) keeps reading the same data, its source table
// or a rollup of it (Table.RollupOf), never another table's.
//
//	if err := plan.CheckRewriteIn(catalog, &before, &after); err != nil { keep before }
func CheckRewriteIn(c Catalog, orig, rewritten *Plan) error {
	if err := rewritten.Validate(c); err != nil {
		return err
	}
	if err := CheckRewrite(orig, rewritten); err != nil {
		return err
	}
	return checkSameData(c, orig, rewritten, "")
}

func checkSameData(c Catalog, o, r *Plan, path string) error {
	if o.From != nil {
		return checkSameData(c, o.From, r.From, path+"from.")
	}
	if o.Source == r.Source {
		return nil
	}
	family := func(name string) string {
		if t, ok := c.Table(name); ok && t.Kind == KindRollup && t.RollupOf != "" {
			return t.RollupOf
		}
		return name
	}
	if family(o.Source) != family(r.Source) {
		return errf(path+"source", "%s does not hold the data of %s", r.Source, o.Source)
	}
	return nil
}

func checkRewrite(o, r *Plan, path string) error {
	at := func(s string) string { return path + s }
	if (o.From == nil) != (r.From == nil) {
		return errf(at("from"), "a module may not add or remove a nested plan")
	}
	if o.From != nil {
		if err := checkRewrite(o.From, r.From, at("from.")); err != nil {
			return err
		}
	}
	if o.TimeRange.From > 0 && r.TimeRange.From < o.TimeRange.From {
		return errf(at("time_range.from"), "widened from %d to %d", o.TimeRange.From, r.TimeRange.From)
	}
	if o.TimeRange.To > 0 && (r.TimeRange.To == 0 || r.TimeRange.To > o.TimeRange.To) {
		return errf(at("time_range.to"), "widened from %d to %d", o.TimeRange.To, r.TimeRange.To)
	}
	if o.Limit > 0 && (r.Limit == 0 || r.Limit > o.Limit) {
		return errf(at("limit"), "raised from %d to %d", o.Limit, r.Limit)
	}
	for i, f := range o.Filters {
		if !containsFilter(r.Filters, f) {
			return errf(at(fmt.Sprintf("filters[%d]", i)), "the host's filter was dropped or changed")
		}
	}
	if r.Bucket != o.Bucket {
		if err := checkWidening(o, r, at("bucket_s")); err != nil {
			return err
		}
	}
	same := []struct {
		name string
		a, b any
	}{
		{"group_by", o.GroupBy, r.GroupBy},
		{"columns", o.Columns, r.Columns},
		{"aggregations", o.Aggregations, r.Aggregations},
		{"order_by", o.OrderBy, r.OrderBy},
		{"max_points", o.MaxPoints, r.MaxPoints},
	}
	for _, s := range same {
		if !jsonEqual(s.a, s.b) {
			return errf(at(s.name), "a module may not change what the plan computes")
		}
	}
	return nil
}

// checkWidening allows a wider bucket only where the panel could not show
// the plan's buckets, and only as far as needed (CheckRewrite's notes).
func checkWidening(o, r *Plan, path string) error {
	if o.Bucket <= 0 || r.Bucket <= o.Bucket || r.Bucket%o.Bucket != 0 {
		return errf(path, "a module may only widen the buckets to a multiple of %d, got %d", o.Bucket, r.Bucket)
	}
	n := Buckets(o.TimeRange, o.Bucket)
	if o.MaxPoints <= 0 || n <= o.MaxPoints {
		return errf(path, "the plan's %d buckets fit max_points (%d): nothing to widen", n, o.MaxPoints)
	}
	if got := Buckets(r.TimeRange, r.Bucket); got > o.MaxPoints {
		return errf(path, "widened to %d s, still %d buckets, more than max_points (%d)", r.Bucket, got, o.MaxPoints)
	}
	span := o.TimeRange.To - o.TimeRange.From
	need := (span + o.MaxPoints - 1) / o.MaxPoints
	if r.Bucket > 3*need {
		return errf(path, "widened to %d s, more than three times the %d s that max_points (%d) needs", r.Bucket, need, o.MaxPoints)
	}
	return nil
}

// containsFilter looks for a deeply equal filter first: a rewrite keeps
// the host's filters as they were, and comparing each one with the others
// through JSON cost more than the rest of the check.
func containsFilter(fs []Filter, f Filter) bool {
	for _, g := range fs {
		if reflect.DeepEqual(f, g) {
			return true
		}
	}
	for _, g := range fs {
		if jsonEqual(f, g) {
			return true
		}
	}
	return false
}

// jsonEqual compares as the module saw and returned them: through JSON, so
// numbers of different Go types that encode alike are equal. Values that
// are already deeply equal (the usual case) skip the encoding.
func jsonEqual(a, b any) bool {
	if reflect.DeepEqual(a, b) || (isEmptySlice(a) && isEmptySlice(b)) {
		return true
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// isEmptySlice is true for nil and empty slices, which JSON with omitempty
// does not tell apart.
func isEmptySlice(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Slice && rv.Len() == 0
}
