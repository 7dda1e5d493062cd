package plan

import "slices"

// Aggregation functions a plan may ask for. Their meaning is fixed here; the
// SQL builder spells each one for raw tables and for rollups.
const (
	FuncCount = "count" // rows (raw) or merged counts (rollup)
	FuncSum   = "sum"
	FuncAvg   = "avg"
	FuncMin   = "min"
	FuncMax   = "max"
	// FuncRate is the sum divided by the bucket width in seconds.
	FuncRate = "rate"
	// FuncLast is the value at the latest time (argMax by the table's time column).
	FuncLast = "last"
	// FuncQuantile takes Args[0] in (0, 1). Interpolated on raw tables,
	// t-digest (approximate) on rollups.
	FuncQuantile = "quantile"
	// FuncMedian is the exact median: the middle value, or the mean of the two
	// middle values for an even count.
	FuncMedian = "median"
	// FuncUniqDays counts distinct UTC days of a DateTime column.
	FuncUniqDays = "uniq_days"
	// FuncFraction is the share (0..1) of rows matching the aggregation's Where.
	FuncFraction = "fraction"
)

// Filter operators.
const (
	OpEq         = "="
	OpNe         = "!="
	OpMatch      = "=~" // RE2 regular expression, ClickHouse match()
	OpNotMatch   = "!~"
	OpIn         = "in"
	OpNotIn      = "not in"
	OpLt         = "<"
	OpLe         = "<="
	OpGt         = ">"
	OpGe         = ">="
	OpIsNull     = "is null"
	OpIsNotNull  = "is not null"
	OpInColumnOf = "in column of" // Column IN (SELECT Ref.Column FROM Ref.Table [FINAL])
)

// TimeOutput is the output column holding a bucket's start.
const TimeOutput = "time"

// Plan is one SELECT: from a table (or a nested plan), within a time range, in
// buckets, aggregated, filtered, grouped, ordered and limited.
type Plan struct {
	// Source is a catalog table. Exactly one of Source and From is set.
	Source string `json:"source,omitempty"`
	// From is a nested plan whose output columns (group keys, plain columns
	// and aggregation aliases) this plan reads.
	From *Plan `json:"from,omitempty"`
	// TimeColumn is the DateTime column TimeRange and Bucket apply to.
	TimeColumn string `json:"time_column,omitempty"`
	// TimeRange bounds TimeColumn; a zero bound is open.
	TimeRange TimeRange `json:"time_range"`
	// Bucket is the width in seconds of the time buckets (0: no buckets).
	// The bucket start is the output column "time".
	Bucket int64 `json:"bucket_s,omitempty"`
	// Columns are plain output columns (only for plans without aggregations).
	Columns []string `json:"columns,omitempty"`
	// Aggregations are the computed output columns; with any of them the
	// plan groups by the bucket and GroupBy.
	Aggregations []Aggregation `json:"aggregations,omitempty"`
	Filters      []Filter      `json:"filters,omitempty"`
	GroupBy      []GroupKey    `json:"group_by,omitempty"`
	OrderBy      []Order       `json:"order_by,omitempty"`
	// Limit caps the rows (0: no limit).
	Limit int `json:"limit,omitempty"`
	// MaxPoints is how many buckets the panel can show (Grafana's
	// maxDataPoints; 0: unknown). It is a hint for optimizer modules, which
	// may widen Bucket when the plan would return more (CheckRewrite); SQL
	// ignores it.
	MaxPoints int64 `json:"max_points,omitempty"`
}

// Buckets is the number of buckets of width bucket that rows in tr fall
// into, counting partial buckets at either end (0 for an open range or no
// buckets).
func Buckets(tr TimeRange, bucket int64) int64 {
	if bucket <= 0 || tr.From <= 0 || tr.To <= tr.From {
		return 0
	}
	return (tr.To-1)/bucket - tr.From/bucket + 1
}

// TimeRange is a half-open interval [From, To) in Unix seconds; 0 leaves a
// side open.
type TimeRange struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Aggregation is one computed output column.
type Aggregation struct {
	Func   string `json:"func"`
	Column string `json:"column,omitempty"`
	// Minus, when set, aggregates Column − Minus in seconds (both DateTime)
	// instead of Column, and ignores rows where the difference is ≤ 0 or
	// either side is NULL: durations.
	Minus string `json:"minus,omitempty"`
	// Where makes the aggregation conditional (only matching rows count), or
	// for FuncFraction names the rows counted in the numerator.
	Where []Filter  `json:"where,omitempty"`
	Args  []float64 `json:"args,omitempty"`
	Alias string    `json:"alias"`
}

// Filter restricts rows. Exactly one of Column and LabelKey is set.
type Filter struct {
	Column string `json:"column,omitempty"`
	// LabelKey filters on the value of one label (tables with labels only);
	// a sample without the label has the value "".
	LabelKey string `json:"label_key,omitempty"`
	Op       string `json:"op"`
	// Values are strings or numbers (JSON scalars); DateTime columns take
	// Unix seconds. One value except for in/not in (any number, at least one)
	// and is null/is not null/in column of (none).
	Values []Value `json:"values,omitempty"`
	// Ref names the table column of OpInColumnOf.
	Ref *ColumnRef `json:"ref,omitempty"`
}

// ColumnRef is a column of a catalog table.
type ColumnRef struct {
	Table  string `json:"table"`
	Column string `json:"column"`
}

// GroupKey is one grouping output column. Exactly one of Column and LabelKey
// is set.
type GroupKey struct {
	Column   string `json:"column,omitempty"`
	LabelKey string `json:"label_key,omitempty"`
	// Remap replaces values found in From by the value at the same index in
	// To (others stay as they are), e.g. a team by its ancestor.
	Remap *Remap `json:"remap,omitempty"`
	Alias string `json:"alias"`
}

// Remap is a value mapping applied to a group key.
type Remap struct {
	From []string `json:"from"`
	To   []string `json:"to"`
}

// Order is one ORDER BY term on an output column ("time", a group alias, a
// plain column or an aggregation alias).
type Order struct {
	Column string `json:"column"`
	Desc   bool   `json:"desc,omitempty"`
}

// Outputs lists the plan's output column names in SELECT order.
func (p *Plan) Outputs() []string {
	var out []string
	if p.Bucket > 0 {
		out = append(out, TimeOutput)
	}
	for _, g := range p.GroupBy {
		out = append(out, g.Alias)
	}
	out = append(out, p.Columns...)
	for _, a := range p.Aggregations {
		out = append(out, a.Alias)
	}
	return out
}

// Tables lists the catalog tables the plan reads (its source, nested plans'
// sources and the tables "in column of" filters name), each once, in the
// order they appear.
func (p *Plan) Tables() []string {
	var out []string
	add := func(t string) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	var filters func(fs []Filter)
	filters = func(fs []Filter) {
		for _, f := range fs {
			if f.Ref != nil {
				add(f.Ref.Table)
			}
		}
	}
	for cur := p; cur != nil; cur = cur.From {
		add(cur.Source)
		filters(cur.Filters)
		for _, a := range cur.Aggregations {
			filters(a.Where)
		}
	}
	return out
}
