package dialect

import (
	"fmt"
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
	}}
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidIdent reports whether s is a plain identifier kpiflow will emit.
func ValidIdent(s string) bool { return identRe.MatchString(s) }

// Quote returns s as a back-quoted identifier. It panics on an identifier
// that was not validated first, since that is a kpiflow bug, not user input.
func Quote(s string) string {
	if !ValidIdent(s) {
		panic(fmt.Sprintf("dialect: unvalidated identifier %q", s))
	}
	return "`" + s + "`"
}

// Bucket returns an expression for the start of the seconds-wide bucket that
// holds the DateTime column col, as a DateTime. The arithmetic form works on
// every version, so it is used everywhere: results never depend on the server.
func (Dialect) Bucket(col string, seconds int) string {
	if seconds <= 1 {
		return col
	}
	return fmt.Sprintf("toDateTime(intDiv(toUInt32(%s), %d) * %d)", col, seconds, seconds)
}

// StringType is the column type for a low-cardinality string dimension.
func (d Dialect) StringType() string {
	if d.Features.LowCardinality {
		return "LowCardinality(String)"
	}
	return "String"
}
