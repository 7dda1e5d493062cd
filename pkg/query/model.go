package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kpiflow/kpiflow/pkg/jsonstrict"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// Query types handled by this package.
const (
	TypeKPI      = "kpi"
	TypeDORA     = "dora"
	TypeTaskflow = "taskflow"
)

// Formats of a query's result.
const (
	FormatTimeSeries = "timeseries"
	FormatTable      = "table"
	FormatBand       = "band"
)

// FieldError is bad query input; Field is the JSON path of the offending
// field, such as "filters[1].operator".
type FieldError = jsonstrict.FieldError

func fieldErr(field, format string, args ...any) error {
	return jsonstrict.Errorf(field, format, args...)
}

// strictQuery is how query JSON's errors read.
func strictQuery() jsonstrict.Options {
	return jsonstrict.Options{Root: "query", Unknown: "unknown field"}
}

// Common holds the fields every query carries.
type Common struct {
	RefID     string `json:"refId"`
	QueryType string `json:"queryType"`
	Hide      bool   `json:"hide"`
	// Live asks for a streaming answer: kpi and taskflow queries get a first
	// frame whose Meta.Channel Grafana subscribes to (Prepared.Live, pkg/live).
	Live bool `json:"live"`
	// Ignored are the top-level keys of the query JSON that neither
	// kpiflow nor Grafana's known keys define, sorted: Grafana and other
	// plugins add fields over versions, so they are dropped and reported
	// (IgnoredNotices) instead of failing a dashboard.
	Ignored []string `json:"-"`
}

func (c *Common) common() *Common { return c }

// IgnoredNotices is the sentence telling the panel which fields were
// ignored; none when every field was known.
func (c Common) IgnoredNotices() []string {
	if len(c.Ignored) == 0 {
		return nil
	}
	quoted := make([]string, len(c.Ignored))
	for i, k := range c.Ignored {
		quoted[i] = strconv.Quote(k)
	}
	return []string{fmt.Sprintf("Ignored query field(s) kpiflow does not know: %s. If one is a misspelt kpiflow field, fix its name; otherwise nothing is needed.",
		strings.Join(quoted, ", "))}
}

// grafanaKeys are fields Grafana adds to every query; they are tolerated
// (and ignored) so strict parsing only rejects what a person wrote wrong.
func grafanaKeys() []string {
	return []string{"datasource", "datasourceId", "intervalMs", "maxDataPoints", "key", "timeRange",
		"requestId", "queryRef", "resultAssertions", "exemplar", "legendFormat", "instant", "range"}
}

// Query is a parsed builder query.
type Query interface {
	// Build turns the query into a plan (and a shaper for its result).
	Build(env Env) (*Built, error)
	// Base returns the common fields.
	Base() Common
}

// Env is what a query is expanded with besides its JSON.
type Env struct {
	// From and To are the request's time range.
	From, To time.Time
	// Interval is Grafana's suggested interval (the request's Interval).
	Interval time.Duration
	// MaxDataPoints bounds the buckets when the query gives no interval
	// (the request's MaxDataPoints; 0 for none).
	MaxDataPoints int64
	// MaxRows caps result rows (the data source's Max rows); 0 means none.
	MaxRows int
	// TeamParents maps a team to its parent ("" for a root), for teamLevel
	// groupings. Only read when NeedsTeamTree reports true.
	TeamParents map[string]string
	// Catalog is the tables the server has (ServerCatalog): plans are
	// rewritten and validated against it.
	Catalog plan.Catalog
}

// Parse reads a query of queryType from Grafana's query JSON, strictly:
// bad values are errors naming the field; unknown top-level fields are
// ignored and listed in Common.Ignored (decodeStrict).
func Parse(queryType string, raw []byte) (Query, error) {
	switch queryType {
	case TypeKPI:
		q := &KPIQuery{}
		if err := decodeStrict(raw, q); err != nil {
			return nil, err
		}
		if err := q.validate(); err != nil {
			return nil, err
		}
		return q, nil
	case TypeDORA:
		q := &DORAQuery{}
		if err := decodeStrict(raw, q); err != nil {
			return nil, err
		}
		if err := q.validate(); err != nil {
			return nil, err
		}
		return q, nil
	case TypeTaskflow:
		q := &TaskflowQuery{}
		if err := decodeStrict(raw, q); err != nil {
			return nil, err
		}
		if err := q.validate(); err != nil {
			return nil, err
		}
		return q, nil
	}
	return nil, fieldErr("queryType", "unknown query type %q; expected kpi, dora or taskflow", queryType)
}

// decodeStrict decodes raw into q strictly. A top-level key neither q nor
// Grafana (grafanaKeys) defines is dropped and listed in q's Ignored; a key
// that differs from one of q's only in case is an error (encoding/json would
// take it as that field, silently). Anything below the top level, and every
// value, is strict: errors are FieldErrors naming the field.
func decodeStrict(raw []byte, q interface{ common() *Common }) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fieldErr("query", "expected a JSON object: %v", err)
	}
	for _, k := range grafanaKeys() {
		delete(m, k)
	}
	known := jsonstrict.Keys(q)
	var ignored []string
	for k := range m {
		if slices.Contains(known, k) {
			continue
		}
		if i := slices.IndexFunc(known, func(f string) bool { return strings.EqualFold(f, k) }); i >= 0 {
			return fieldErr(k, "unknown field; the field is spelled %q", known[i])
		}
		ignored = append(ignored, k)
		delete(m, k)
	}
	clean, err := encodeObject(m)
	if err != nil {
		return fieldErr("query", "re-encode: %v", err)
	}
	if err := jsonstrict.Decode(clean, q, strictQuery()); err != nil {
		return err
	}
	sort.Strings(ignored)
	q.common().Ignored = ignored
	return nil
}

// encodeObject writes m as json.Marshal does (keys sorted, values compact
// with <, > and & escaped), without reflecting over the map: the bytes are
// the same, at a fraction of the cost for every query of every panel.
func encodeObject(m map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(m))
	size := 2
	for k, v := range m {
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	sort.Strings(keys)
	var buf, compact bytes.Buffer
	buf.Grow(size)
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf.Write(key)
		buf.WriteByte(':')
		compact.Reset()
		if err := json.Compact(&compact, m[k]); err != nil {
			return nil, err
		}
		json.HTMLEscape(&buf, compact.Bytes())
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// StringOrList is a filter value: one string or a list of strings.
type StringOrList []string

// UnmarshalJSON accepts "x" or ["x", "y"].
func (s *StringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StringOrList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &FieldError{Field: "value", Message: "expected a string or a list of strings"}
	}
	*s = many
	return nil
}

// Limits on query input.
const (
	maxListLen  = 100
	maxValueLen = 1024
	maxValues   = 1000
)

var labelKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-/]{0,127}$`)

// ValidLabelKey reports whether k is a label key queries accept: a letter or
// underscore, then letters, digits and _ . - /, at most 128 in all.
func ValidLabelKey(k string) bool { return labelKeyRe.MatchString(k) }

func checkText(field, s string) error {
	if len(s) > maxValueLen {
		return fieldErr(field, "longer than %d bytes", maxValueLen)
	}
	if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
		return fieldErr(field, "must be UTF-8 text without NUL")
	}
	return nil
}

func checkList(field string, xs []string, allowEmpty bool) error {
	if !allowEmpty && len(xs) == 0 {
		return fieldErr(field, "required; give at least one")
	}
	if len(xs) > maxListLen {
		return fieldErr(field, "at most %d entries", maxListLen)
	}
	for i, x := range xs {
		if err := checkText(fmt.Sprintf("%s[%d]", field, i), x); err != nil {
			return err
		}
	}
	return nil
}

// ParseInterval reads a bucket width such as "30s", "5m", "1h", "1d", "1w"
// (whole seconds, from 1s to 366d).
func ParseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty")
	}
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 6 {
			return 0, fmt.Errorf("expected a number and a unit (s, m, h, d, w) such as 5m, got %q", s)
		}
		n, _ := strconv.Atoi(s[:i])
		u, ok := units[s[i]]
		if !ok {
			return 0, fmt.Errorf("unknown unit %q; expected s, m, h, d or w", s[i:i+1])
		}
		total += time.Duration(n) * u
		s = s[i+1:]
	}
	if total < time.Second || total > 366*24*time.Hour {
		return 0, errors.New("expected from 1s to 366d")
	}
	return total, nil
}

// MaxBuckets bounds the buckets one series of a time series query has: a
// wider range makes the bucket wider (to a round width), with a notice.
const MaxBuckets = 100_000

// bucketSeconds is the bucket width for a request: the explicit interval,
// else Grafana's interval, never below min seconds, in whole seconds. When
// MaxBuckets makes it wider than asked, notice says so.
func bucketSeconds(explicit time.Duration, env Env, minimum int64) (s int64, notice string) {
	d := explicit
	if d <= 0 {
		d = env.Interval
	}
	s = int64(d / time.Second)
	if s < minimum {
		s = minimum
	}
	span := env.To.Unix() - env.From.Unix()
	// Without an explicit interval, keep to the panel's points (alert rules
	// send a 1s interval with many points), on a round width so the
	// rollups can answer.
	if explicit <= 0 && env.MaxDataPoints > 0 && span > 0 && span/s > env.MaxDataPoints {
		s = niceSeconds((span + env.MaxDataPoints - 1) / env.MaxDataPoints)
	}
	// Keep the number of buckets bounded whatever the query or Grafana asks.
	if span > 0 && span/s > MaxBuckets {
		asked := s
		s = niceSeconds(span / MaxBuckets)
		notice = fmt.Sprintf("The interval %s was widened to %s: the time range would hold %d buckets at %s, "+
			"more than the %d a series may have. Narrow the time range to see %s buckets.",
			schema.Span(asked), schema.Span(s), span/asked, schema.Span(asked), MaxBuckets, schema.Span(asked))
	}
	return s, notice
}

// niceSeconds rounds s up to a round bucket width (1s, 2s, 5s, ..., 1m, ...,
// 1h, ..., 1d, then whole days).
func niceSeconds(s int64) int64 {
	for _, n := range []int64{1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800,
		3600, 7200, 10800, 21600, 43200, 86400} {
		if s <= n {
			return n
		}
	}
	return (s + 86399) / 86400 * 86400
}

func sortedUnique(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	j := 0
	for i, x := range out {
		if i == 0 || x != out[j-1] {
			out[j] = x
			j++
		}
	}
	return out[:j]
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
