package frames

import "time"

// newDateTime is the column of Date, Date32, DateTime and DateTime64: their
// ScanRow writes a *time.Time (in the column's or the server's time zone;
// frames carry instants, so the zone does not change what a panel shows).
func newDateTime() Column { return newPlain[time.Time]() }

var _ nullableColumn = (*plain[time.Time])(nil)
