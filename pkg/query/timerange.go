package query

import (
	"fmt"
	"time"

	"github.com/kpiflow/kpiflow/pkg/dialect"
)

// ClampTimeRange fits a query's time range into what ClickHouse's DateTime
// holds (1970-01-01 00:00:00 to 2106-02-07 06:28:15 UTC, see
// dialect.MaxDateTime): an end outside it is moved to its edge, with a
// notice naming the field. A range with no second inside it is a
// *FieldError naming the field; so is from after to. A range left unset
// (both ends zero) is returned as it is.
//
//	from, to, notices, err := query.ClampTimeRange(q.TimeRange.From, q.TimeRange.To)
//
// # Notes
//
// Outside that span the server's DateTime arithmetic wraps around without
// an error: 2026-11-01 to 9999-12-31 read as a one-day range, year 1 to
// 9999 matched nothing, and an end in 2200 failed deep in the planner.
func ClampTimeRange(from, to time.Time) (time.Time, time.Time, []string, error) {
	if from.IsZero() && to.IsZero() {
		return from, to, nil, nil
	}
	lo, hi := time.Unix(0, 0).UTC(), time.Unix(dialect.MaxDateTime, 0).UTC()
	const layout = "2006-01-02 15:04:05 UTC"
	// Written only for a message: a range within the span (every
	// dashboard's) costs no formatting.
	span := func() string {
		return fmt.Sprintf("ClickHouse's DateTime holds %s to %s", lo.Format(layout), hi.Format(layout))
	}
	switch {
	case from.After(to):
		return from, to, nil, fieldErr("timeRange.from", "%s is after timeRange.to %s", from.UTC().Format(layout), to.UTC().Format(layout))
	case from.After(hi):
		return from, to, nil, fieldErr("timeRange.from", "%s is after every time ClickHouse can store (%s): no row can be in this range", from.UTC().Format(layout), span())
	case to.Before(lo):
		return from, to, nil, fieldErr("timeRange.to", "%s is before every time ClickHouse can store (%s): no row can be in this range", to.UTC().Format(layout), span())
	}
	var notices []string
	if from.Before(lo) {
		notices = append(notices, fmt.Sprintf("timeRange.from %s is before what %s: the range starts at %s", from.UTC().Format(layout), span(), lo.Format(layout)))
		from = lo
	}
	if to.After(hi) {
		notices = append(notices, fmt.Sprintf("timeRange.to %s is after what %s: the range ends at %s", to.UTC().Format(layout), span(), hi.Format(layout)))
		to = hi
	}
	return from, to, notices, nil
}

// UnwrapSDKTime undoes the plugin SDK's overflow of a query's time range:
// Grafana sends Unix milliseconds and the SDK turns them into
// time.Unix(0, ms*1e6), which wraps around past 2262 and before 1677 (year
// 9999 arrives as 1816). The milliseconds are recovered from the wrapped
// nanoseconds, which hold them modulo 2^58 ms (about nine million years):
// ns = ms * 2^6 * 15625 (mod 2^64). A time that did not wrap comes back as
// it is, as does one that cannot have come from the SDK (the zero time, or
// nanoseconds not a multiple of 64).
//
//	from := query.UnwrapSDKTime(q.TimeRange.From)
func UnwrapSDKTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	ns := uint64(t.UnixNano())
	if ns%64 != 0 {
		return t
	}
	// inverse15625 is 15625's inverse modulo 2^58.
	const inverse15625, mod = 76480200929599801, 1 << 58
	ms := int64((ns >> 6) * inverse15625 % mod)
	if ms >= mod/2 {
		ms -= mod
	}
	return time.UnixMilli(ms).In(t.Location())
}
