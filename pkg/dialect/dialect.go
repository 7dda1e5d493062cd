package dialect

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Version is a ClickHouse server version.
type Version struct {
	Major, Minor, Patch int
}

// ParseVersion reads "18.16.1" or "24.3.2.23" (extra parts are ignored).
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("parse ClickHouse version %q: expected major.minor[.patch]", s)
	}
	nums := make([]int, 3)
	for i := 0; i < 3 && i < len(parts); i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("parse ClickHouse version %q: part %d is not a number", s, i+1)
		}
		nums[i] = n
	}
	return Version{nums[0], nums[1], nums[2]}, nil
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// Features says which optional SQL features a server has.
type Features struct {
	LowCardinality    bool // LowCardinality(String) columns (19.3+)
	TTL               bool // table and column TTL (19.6+)
	Codecs            bool // column compression codecs (19.1+)
	DateTime64        bool // DateTime64 (20.1+)
	ToStartOfInterval bool // toStartOfInterval (19.2+ for all units used here)
	WithFill          bool // ORDER BY ... WITH FILL (19.14+)
	JSONFunctions     bool // JSONExtract* (19.1+)
	// Millis64 is fromUnixTimestamp64Milli and the other 64-bit Unix
	// timestamp conversions (20.5+).
	Millis64 bool
	// AdditionalTableFilters is the additional_table_filters setting, which
	// filters every read of a table (22.7+).
	AdditionalTableFilters bool
	// LTTB is the largestTriangleThreeBuckets (lttb) aggregate (23.10+).
	LTTB bool
}

// Dialect is the SQL spelling for one server version.
type Dialect struct {
	Version  Version
	Features Features
}

// For returns the dialect of a server version.
func For(v Version) Dialect {
	return Dialect{Version: v, Features: Features{
		LowCardinality:         v.AtLeast(19, 3),
		TTL:                    v.AtLeast(19, 6),
		Codecs:                 v.AtLeast(19, 1),
		DateTime64:             v.AtLeast(20, 1),
		ToStartOfInterval:      v.AtLeast(19, 2),
		WithFill:               v.AtLeast(19, 14),
		JSONFunctions:          v.AtLeast(19, 1),
		Millis64:               v.AtLeast(20, 5),
		AdditionalTableFilters: v.AtLeast(22, 7),
		LTTB:                   v.AtLeast(23, 10),
	}}
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidIdent reports whether s is a plain identifier: letters, digits and
// underscores, not starting with a digit. Names from outside (settings,
// ad hoc filter keys) are checked with it before they are used.
func ValidIdent(s string) bool { return identRe.MatchString(s) }

// Quote returns s as a back-quoted identifier, escaping backslashes and
// back quotes, so that no name can end the quoting early whatever it holds.
// It is the one quoting rule for every identifier kpiflow writes.
func Quote(s string) string {
	if !strings.ContainsAny(s, "\\`") {
		return "`" + s + "`"
	}
	return "`" + identEscaper.Replace(s) + "`"
}

// identEscaper escapes what would end a back-quoted identifier early. Built
// once: building a Replacer per call was a fifth of planning a query.
var identEscaper = strings.NewReplacer("\\", "\\\\", "`", "\\`")

// MaxDateTime is the last second ClickHouse's DateTime holds on every
// version: Unix seconds are a UInt32, so DateTime spans 1970-01-01 00:00:00
// to 2106-02-07 06:28:15 UTC. kpiflow stores every time as DateTime (see the
// README's design notes), and times outside that span wrap around in the
// server's arithmetic rather than fail.
const MaxDateTime = int64(math.MaxUint32)

// Bucket returns an expression for the start of the seconds-wide bucket that
// holds the DateTime expression expr, as a DateTime:
// toDateTime(intDiv(toUInt32(expr), N) * N). This arithmetic form works on
// every version, so it is used everywhere (there is no toStartOfInterval on
// 18.16) and results never depend on the server. seconds < 1 means no
// bucketing: expr itself.
func Bucket(expr string, seconds int64) string {
	if seconds < 1 {
		return expr
	}
	return fmt.Sprintf("toDateTime(intDiv(toUInt32(%s), %d) * %d)", expr, seconds, seconds)
}

// BucketMillis is the start of the millis-wide bucket holding expr (a
// Date, DateTime or DateTime64) as a time: a DateTime64(3) where the server
// has the 64-bit conversions (20.5+), the same instant as the official
// ClickHouse data source's toStartOfInterval(toDateTime64(expr, 3), INTERVAL
// millis millisecond); elsewhere a DateTime, whose whole seconds hold the
// bucket start rounded down (exact when millis is whole seconds, see
// ExactMillis).
func (d Dialect) BucketMillis(expr string, millis int64) string {
	millis = max(millis, 1)
	if d.Features.Millis64 {
		return fmt.Sprintf("fromUnixTimestamp64Milli(toInt64(intDiv(toUnixTimestamp64Milli(toDateTime64(%s, 3)), %d) * %d))", expr, millis, millis)
	}
	if millis%1000 == 0 {
		return Bucket("toDateTime("+expr+")", millis/1000)
	}
	return fmt.Sprintf("toDateTime(intDiv(intDiv(toUInt64(toUInt32(toDateTime(%s))) * 1000, %d) * %d, 1000))", expr, millis, millis)
}

// ExactMillis reports whether the time ms keeps its milliseconds in this
// dialect's MillisBound and BucketMillis: always where the server has the
// 64-bit conversions, only for whole seconds elsewhere.
func (d Dialect) ExactMillis(ms int64) bool { return d.Features.Millis64 || ms%1000 == 0 }

// MillisBound spells the Unix time ms as a bound for a time column: exactly,
// with fromUnixTimestamp64Milli, where the server has it (20.5+); otherwise
// as a DateTime rounded to whole seconds toward the inside of the range (up
// for a lower bound, down for an upper one), which is exact for DateTime
// columns: t >= ms/1000 exactly when t >= ceil(ms/1000).
func (d Dialect) MillisBound(ms int64, lower bool) string {
	if d.Features.Millis64 {
		return fmt.Sprintf("fromUnixTimestamp64Milli(toInt64(%d))", ms)
	}
	return fmt.Sprintf("toDateTime(%d)", RoundMillis(ms, lower))
}

// RoundMillis is the Unix time ms in whole seconds, rounded toward the
// inside of a range: up for a lower bound, down for an upper one.
func RoundMillis(ms int64, lower bool) int64 {
	sec := ms / 1000
	if lower && ms%1000 > 0 {
		sec++
	} else if !lower && ms%1000 < 0 {
		sec--
	}
	return sec
}

// StringType is the column type for a low-cardinality string dimension.
func (d Dialect) StringType() string {
	if d.Features.LowCardinality {
		return "LowCardinality(String)"
	}
	return "String"
}
