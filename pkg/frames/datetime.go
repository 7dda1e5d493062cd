package frames

import (
	"encoding/binary"
	"time"

	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// newDateTime is the column of DateTime, read in bulk from its encoding
// (seconds as UInt32), in the location the driver gives its values.
func newDateTime() *typed[time.Time] { return newTyped[time.Time](dateTimeDecoder{}) }

// newTime is the column of Date, Date32 and DateTime64: their ScanRow writes
// a *time.Time (in the column's or the server's time zone; frames carry
// instants, so the zone does not change what a panel shows).
func newTime() *typed[time.Time] { return newTyped[time.Time](nil) }

type dateTimeDecoder struct{}

func (dateTimeDecoder) decode(dst []time.Time, col chcol.Interface, from, to int, enc *encoder) bool {
	b := enc.encode(col, false)
	if len(b) != 4*col.Rows() || from >= to {
		return from >= to
	}
	// The driver's values are in the column's time zone, or the server's.
	first, ok := col.Row(from, false).(time.Time)
	if !ok {
		return false
	}
	loc := first.Location()
	for i := from; i < to; i++ {
		dst[i-from] = time.Unix(int64(binary.LittleEndian.Uint32(b[4*i:])), 0).In(loc)
	}
	return true
}
