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
}

// Dialect is the SQL spelling for one server version.
type Dialect struct {
	Version  Version
	Features Features
}

// For returns the dialect of a server version.
func For(v Version) Dialect {
	return Dialect{Version: v, Features: Features{
		LowCardinality:    v.AtLeast(19, 3),
		TTL:               v.AtLeast(19, 6),
		Codecs:            v.AtLeast(19, 1),
		DateTime64:        v.AtLeast(20, 1),
		ToStartOfInterval: v.AtLeast(19, 2),
		WithFill:          v.AtLeast(19, 14),
		JSONFunctions:     v.AtLeast(19, 1),
		Millis64:          v.AtLeast(20, 5),
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

// BucketMillis is Bucket in Unix milliseconds (a UInt64), for millis-wide
// buckets of a DateTime expression.
func BucketMillis(expr string, millis int64) string {
	return fmt.Sprintf("(intDiv(toUInt64(toUInt32(%s)) * 1000, %d) * %d)", expr, millis, millis)
}

// MillisBound spells the Unix time ms as a bound for a time column: exactly,
// with fromUnixTimestamp64Milli, where the server has it (20.5+); otherwise
// as a DateTime rounded to whole seconds toward the inside of the range (up
// for a lower bound, down for an upper one), which is exact for DateTime
// columns: t >= ms/1000 exactly when t >= ceil(ms/1000).
func (d Dialect) MillisBound(ms int64, lower bool) string {
	if d.Features.Millis64 {
		return fmt.Sprintf("fromUnixTimestamp64Milli(toInt64(%d))", ms)
	}
	sec := ms / 1000
	if lower && ms%1000 > 0 {
		sec++
	} else if !lower && ms%1000 < 0 {
		sec--
	}
	return fmt.Sprintf("toDateTime(%d)", sec)
}

// StringType is the column type for a low-cardinality string dimension.
func (d Dialect) StringType() string {
	if d.Features.LowCardinality {
		return "LowCardinality(String)"
	}
	return "String"
}
