package ingest

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kpiflow/kpiflow/pkg/ledger"
)

// revalidate re-checks every row of b against the rules Decode applies, from
// the stored values rather than the JSON. Decode never returns a batch that
// fails it: the decode and fuzz tests hold it to that.
func (b *Batch) revalidate(limits Limits, now time.Time) error {
	lim := limits.orDefault()
	minT, maxT := MinTime(), now.Add(MaxFuture)
	if len(b.rowHash) != b.n {
		return fmt.Errorf("%d row hashes for %d rows", len(b.rowHash), b.n)
	}
	if b.n > lim.MaxRows {
		return fmt.Errorf("%d rows, over max_rows %d", b.n, lim.MaxRows)
	}
	text := func(field string, i int, s string, maxChars int) error {
		n, problem := checkText([]byte(s))
		if problem != "" {
			return fmt.Errorf("row %d: %s: %s", i, field, problem)
		}
		if n > maxChars {
			return fmt.Errorf("row %d: %s: %d characters, over %d", i, field, n, maxChars)
		}
		return nil
	}
	timeOK := func(field string, i int, t time.Time) error {
		if t.Before(minT) || t.After(maxT) || t.Nanosecond() != 0 {
			return fmt.Errorf("row %d: %s: %s out of range or not whole seconds", i, field, t)
		}
		return nil
	}
	for ci, c := range b.sch.cols {
		d := &b.cols[ci]
		var got int
		switch c.kind {
		case kFloat:
			got = len(d.f)
		case kTime:
			got = len(d.t)
		case kNullTime:
			got = len(d.nt)
		case kList, kLabels:
			got = len(d.list)
		default:
			got = len(d.str)
		}
		if got != b.n || (c.kind == kLabels && len(d.vals) != b.n) {
			return fmt.Errorf("column %s has %d values for %d rows", c.name, got, b.n)
		}
		for i := 0; i < b.n; i++ {
			var err error
			switch c.kind {
			case kFloat:
				if math.IsNaN(d.f[i]) || math.IsInf(d.f[i], 0) {
					err = fmt.Errorf("row %d: %s is not finite", i, c.name)
				}
			case kTime:
				err = timeOK(c.name, i, d.t[i])
			case kNullTime:
				if d.nt[i] != nil {
					err = timeOK(c.name, i, *d.nt[i])
				}
			case kList:
				if len(d.list[i]) > lim.MaxListItems {
					err = fmt.Errorf("row %d: %s has %d items", i, c.name, len(d.list[i]))
				}
				for _, s := range d.list[i] {
					if err == nil {
						err = text(c.name, i, s, lim.MaxDimLen)
					}
				}
			case kLabels:
				keys, vals := d.list[i], d.vals[i]
				if len(keys) != len(vals) || len(keys) > lim.MaxLabels {
					err = fmt.Errorf("row %d: %d label keys, %d values", i, len(keys), len(vals))
				} else if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
					err = fmt.Errorf("row %d: label keys not sorted and unique", i)
				}
				for j := range keys {
					if err == nil && keys[j] == "" {
						err = fmt.Errorf("row %d: empty label key", i)
					}
					if err == nil {
						err = text("labels", i, keys[j], lim.MaxDimLen)
					}
					if err == nil {
						err = text("labels", i, vals[j], lim.MaxDimLen)
					}
				}
			default:
				s := d.str[i]
				maxChars := lim.MaxDimLen
				switch c.kind {
				case kText:
					maxChars = lim.MaxTextLen
				case kEventID:
					// A derived event_id is 64 hex digits, whatever the limit.
					maxChars = max(maxChars, 64)
				}
				err = text(c.name, i, s, maxChars)
				switch {
				case err != nil:
				case c.kind == kEnum && !slices.Contains(c.enum, s):
					err = fmt.Errorf("row %d: %s: %q not in enum", i, c.name, s)
				case c.kind == kPersonal && ledger.IsReserved(s):
					err = fmt.Errorf("row %d: %s: reserved value", i, c.name)
				case c.kind == kEventID && s == "":
					err = fmt.Errorf("row %d: empty event_id", i)
				case c.required && s == "":
					err = fmt.Errorf("row %d: %s is required and empty", i, c.name)
				}
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}
