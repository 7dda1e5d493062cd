package plan

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// CheckRewrite checks a plan an optimizer module returned against the plan
// it was given, on top of Validate: the module may change where the data is
// read from (source, time column, nested plans' sources) and add filters or
// narrow the range, but not widen the time range, drop a filter, raise the
// limit, or change what the plan computes (bucket, group keys,
// aggregations, plain columns, order), since the host shapes the result from
// those.
//
//	if err := rewritten.Validate(c); err == nil { err = CheckRewrite(&orig, &rewritten) }
func CheckRewrite(orig, rewritten *Plan) error {
	return checkRewrite(orig, rewritten, "")
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
	same := []struct {
		name string
		a, b any
	}{
		{"bucket_s", o.Bucket, r.Bucket},
		{"group_by", o.GroupBy, r.GroupBy},
		{"columns", o.Columns, r.Columns},
		{"aggregations", o.Aggregations, r.Aggregations},
		{"order_by", o.OrderBy, r.OrderBy},
	}
	for _, s := range same {
		if !jsonEqual(s.a, s.b) {
			return errf(at(s.name), "a module may not change what the plan computes")
		}
	}
	return nil
}

func containsFilter(fs []Filter, f Filter) bool {
	for _, g := range fs {
		if jsonEqual(f, g) {
			return true
		}
	}
	return false
}

// jsonEqual compares as the module saw and returned them: through JSON, so
// numbers of different Go types that encode alike are equal.
func jsonEqual(a, b any) bool {
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
