package query

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// KPI aggregations (the query JSON's `aggregation`).
func kpiAggregations() map[string]plan.Aggregation {
	v := "value"
	return map[string]plan.Aggregation{
		"avg":   {Func: plan.FuncAvg, Column: v},
		"sum":   {Func: plan.FuncSum, Column: v},
		"min":   {Func: plan.FuncMin, Column: v},
		"max":   {Func: plan.FuncMax, Column: v},
		"count": {Func: plan.FuncCount, Column: v},
		"p50":   {Func: plan.FuncQuantile, Column: v, Args: []float64{0.5}},
		"p90":   {Func: plan.FuncQuantile, Column: v, Args: []float64{0.9}},
		"p95":   {Func: plan.FuncQuantile, Column: v, Args: []float64{0.95}},
		"p99":   {Func: plan.FuncQuantile, Column: v, Args: []float64{0.99}},
		"rate":  {Func: plan.FuncRate, Column: v},
		"last":  {Func: plan.FuncLast, Column: v},
	}
}

// KPIAggregationNames lists the kpi query's aggregations, sorted.
func KPIAggregationNames() []string {
	names := make([]string, 0, len(kpiAggregations()))
	for n := range kpiAggregations() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// kpiDimensions are the columns kpi queries group and filter by.
func kpiDimensions() []string { return []string{"team", "project", "service", "environment"} }

// Filter is one filter or ad hoc filter of a kpi query.
type Filter struct {
	Key      string       `json:"key"`
	Operator string       `json:"operator"`
	Value    StringOrList `json:"value"`
	// Values is Grafana's multi-value ad hoc form (operators =| and !=|),
	// read as value.
	Values []string `json:"values,omitempty"`
}

// KPIQuery is queryType "kpi".
type KPIQuery struct {
	Common
	Metrics     []string `json:"metrics"`
	Aggregation string   `json:"aggregation"`
	// GroupBy holds team, project, service, environment, label:<key> or
	// teamLevel:<n>.
	GroupBy []string `json:"groupBy"`
	Filters []Filter `json:"filters"`
	// AdhocFilters are Grafana's ad hoc filters, applied like Filters.
	AdhocFilters []Filter `json:"adhocFilters"`
	// Interval is the bucket width ("5m"); empty means the request's interval.
	Interval string `json:"interval"`
	Format   string `json:"format"`
}

// Base returns the common fields.
func (q *KPIQuery) Base() Common { return q.Common }

var teamLevelRe = regexp.MustCompile(`^teamLevel:(\d{1,2})$`)

func (q *KPIQuery) validate() error {
	if err := checkList("metrics", q.Metrics, false); err != nil {
		return err
	}
	for i, m := range q.Metrics {
		if m == "" {
			return fieldErr(fmt.Sprintf("metrics[%d]", i), "must not be empty")
		}
	}
	if _, ok := kpiAggregations()[q.Aggregation]; !ok {
		if q.Aggregation == "" {
			return fieldErr("aggregation", "required; expected one of avg, sum, min, max, count, p50, p90, p95, p99, rate, last")
		}
		return fieldErr("aggregation", "unknown aggregation %q; expected one of avg, sum, min, max, count, p50, p90, p95, p99, rate, last", q.Aggregation)
	}
	if len(q.GroupBy) > 10 {
		return fieldErr("groupBy", "at most 10 entries")
	}
	seen := map[string]bool{}
	for i, g := range q.GroupBy {
		f := fmt.Sprintf("groupBy[%d]", i)
		if _, err := parseKPIGroup(g); err != nil {
			return fieldErr(f, "%v", err)
		}
		if seen[g] {
			return fieldErr(f, "%q appears twice", g)
		}
		seen[g] = true
	}
	if err := checkFilters("filters", q.Filters, true); err != nil {
		return err
	}
	if err := checkFilters("adhocFilters", q.AdhocFilters, true); err != nil {
		return err
	}
	if q.Interval != "" {
		if _, err := ParseInterval(q.Interval); err != nil {
			return fieldErr("interval", "%v", err)
		}
	}
	switch q.Format {
	case "", FormatTimeSeries, FormatTable:
	default:
		return fieldErr("format", "expected timeseries or table, got %q", q.Format)
	}
	return nil
}

// kpiGroup is a parsed groupBy entry.
type kpiGroup struct {
	column    string
	labelKey  string
	teamLevel int // -1 unless teamLevel:<n>
}

func parseKPIGroup(g string) (kpiGroup, error) {
	for _, d := range kpiDimensions() {
		if g == d {
			return kpiGroup{column: d, teamLevel: -1}, nil
		}
	}
	if k, ok := strings.CutPrefix(g, "label:"); ok {
		if !labelKeyRe.MatchString(k) {
			return kpiGroup{}, fmt.Errorf("label key %q: expected letters, digits, _ . - / (at most 128, starting with a letter or _)", k)
		}
		return kpiGroup{labelKey: k, teamLevel: -1}, nil
	}
	if m := teamLevelRe.FindStringSubmatch(g); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n > 20 {
			return kpiGroup{}, fmt.Errorf("teamLevel goes from 0 (the root) to 20, got %d", n)
		}
		return kpiGroup{column: "team", teamLevel: n}, nil
	}
	return kpiGroup{}, fmt.Errorf("unknown grouping %q; expected team, project, service, environment, label:<key> or teamLevel:<n>", g)
}

func filterKeyOK(key string) (column, labelKey string, ok bool) {
	for _, d := range append(kpiDimensions(), "source") {
		if key == d {
			return d, "", true
		}
	}
	if k, found := strings.CutPrefix(key, "label:"); found && labelKeyRe.MatchString(k) {
		return "", k, true
	}
	return "", "", false
}

func checkFilters(field string, fs []Filter, labels bool) error {
	if len(fs) > maxListLen {
		return fieldErr(field, "at most %d filters", maxListLen)
	}
	for i := range fs {
		f := &fs[i]
		p := fmt.Sprintf("%s[%d]", field, i)
		if len(f.Values) > 0 {
			if len(f.Value) > 0 {
				return fieldErr(p+".values", "give value or values, not both")
			}
			f.Value, f.Values = f.Values, nil
		}
		// Grafana's ad hoc "one of" operators.
		switch f.Operator {
		case "=|":
			f.Operator = "in"
		case "!=|":
			f.Operator = "not in"
		}
		if _, lk, ok := filterKeyOK(f.Key); !ok || (!labels && lk != "") {
			return fieldErr(p+".key", "unknown key %q; expected team, project, service, environment, source or label:<key>", f.Key)
		}
		switch f.Operator {
		case "=", "!=", "=~", "!~":
			if len(f.Value) != 1 {
				return fieldErr(p+".value", "operator %q takes one value", f.Operator)
			}
			if f.Operator == "=~" || f.Operator == "!~" {
				if _, err := regexp.Compile(f.Value[0]); err != nil {
					return fieldErr(p+".value", "bad regular expression: %v", err)
				}
			}
		case "in", "not in":
			if len(f.Value) == 0 || len(f.Value) > maxValues {
				return fieldErr(p+".value", "operator %q takes 1 to %d values", f.Operator, maxValues)
			}
		case "":
			return fieldErr(p+".operator", "required; expected =, !=, =~, !~, in or not in")
		default:
			return fieldErr(p+".operator", "unknown operator %q; expected =, !=, =~, !~, in or not in", f.Operator)
		}
		for j, v := range f.Value {
			if err := checkText(fmt.Sprintf("%s.value[%d]", p, j), v); err != nil {
				return err
			}
		}
	}
	return nil
}

func planFilter(f Filter) plan.Filter {
	col, lk, _ := filterKeyOK(f.Key)
	return plan.Filter{Column: col, LabelKey: lk, Op: f.Operator, Values: plan.Strings(f.Value...)}
}

// NeedsTeamTree reports whether Build reads Env.TeamParents.
func (q *KPIQuery) NeedsTeamTree() bool {
	for _, g := range q.GroupBy {
		if teamLevelRe.MatchString(g) {
			return true
		}
	}
	return false
}

// Build plans the query on kpi_samples; the rewrite chain (the built-in
// optimizer module, or RollupRewriter) then moves it to the coarsest rollup
// that answers it.
func (q *KPIQuery) Build(env Env) (*Built, error) {
	var explicit time.Duration
	if q.Interval != "" {
		explicit, _ = ParseInterval(q.Interval)
	}
	bucket, widened := bucketSeconds(explicit, env, 1)
	from, to := alignRange(env, bucket)
	agg := kpiAggregations()[q.Aggregation]
	// Not "value": an alias equal to the aggregated column makes older
	// ClickHouse read the aggregate inside itself.
	agg.Alias = "v"
	p := plan.Plan{
		Source: schema.TableKPISamples, TimeColumn: "ts", TimeRange: plan.TimeRange{From: from, To: to}, Bucket: bucket,
		Aggregations: []plan.Aggregation{agg},
		GroupBy:      []plan.GroupKey{{Column: "metric", Alias: "metric"}},
	}
	p.Filters = append(p.Filters, plan.Filter{Column: "metric", Op: plan.OpIn, Values: plan.Strings(sortedUnique(q.Metrics)...)})
	names := map[string]string{"metric": "metric"}
	for i, g := range q.GroupBy {
		kg, _ := parseKPIGroup(g)
		key := plan.GroupKey{Column: kg.column, LabelKey: kg.labelKey, Alias: kg.column}
		switch {
		case kg.labelKey != "":
			key.Alias = fmt.Sprintf("label_%d", i)
			names[key.Alias] = kg.labelKey
		case kg.teamLevel >= 0:
			key.Alias = fmt.Sprintf("team_level_%d", kg.teamLevel)
			key.Remap = teamRemap(env.TeamParents, kg.teamLevel)
			// The label is "team" (alert templates read {{ $labels.team }}),
			// unless the query also groups by the team itself.
			names[key.Alias] = "team"
			if slices.Contains(q.GroupBy, "team") {
				names[key.Alias] = key.Alias
			}
		default:
			names[key.Alias] = kg.column
		}
		p.GroupBy = append(p.GroupBy, key)
	}
	for _, f := range q.Filters {
		p.Filters = append(p.Filters, planFilter(f))
	}
	for _, f := range q.AdhocFilters {
		p.Filters = append(p.Filters, planFilter(f))
	}
	p.OrderBy = []plan.Order{{Column: "time"}}
	for _, g := range p.GroupBy {
		p.OrderBy = append(p.OrderBy, plan.Order{Column: g.Alias})
	}
	if env.MaxRows > 0 {
		p.Limit = env.MaxRows + 1
	}
	p.MaxPoints = max(env.MaxDataPoints, 0)
	b := &Built{Plan: p}
	if widened != "" {
		b.Notices = append(b.Notices, widened)
	}
	format := q.Format
	b.rowwise = format == FormatTable
	b.whole = "A kpi time series is one frame per series (long-to-multi reshaping), which needs the whole result, so it answers in one chunk."
	b.shape = func(res *data.Frame) (data.Frames, error) {
		if format == FormatTable {
			names["v"] = q.Aggregation
			return data.Frames{frames.RenameTable(res, names)}, nil
		}
		return frames.LongToMulti(res, names, "v", "")
	}
	b.live = func(final plan.Plan) *LiveStream {
		return kpiLive(final, format, func(res *data.Frame) (data.Frames, error) {
			if format == FormatTable {
				return b.shape(res)
			}
			f, err := frames.StreamingLabels(res, names, "v", q.Aggregation)
			if err != nil {
				return nil, err
			}
			return data.Frames{f}, nil
		})
	}
	return b, nil
}

// alignRange widens the request's range to whole buckets: [floor(from),
// ceil(to)). Every bucket shown is then complete and a rollup whose
// resolution divides the bucket answers exactly what kpi_samples would. At
// the end of what DateTime holds (dialect.MaxDateTime) the last whole
// bucket ends the range instead.
func alignRange(env Env, bucket int64) (int64, int64) {
	from, to := env.From.Unix(), env.To.Unix()
	if from < 0 {
		from = 0
	}
	if to <= from {
		to = from + 1
	}
	from = from / bucket * bucket
	to = (to + bucket - 1) / bucket * bucket
	if last := dialect.MaxDateTime / bucket * bucket; to > last {
		to = last
		from = min(from, to-bucket)
	}
	return from, to
}

// ChooseKPISource picks the table for a kpi plan: the coarsest rollup that
// answers it exactly on its grid (labels and the source column are only in
// kpi_samples; quantiles from rollups are t-digest estimates), else
// kpi_samples. It returns the plan and a sentence for the panel's notices.
//
// # Notes
//
// The data source's rewrite chain makes this choice with the built-in WASM
// optimizer module (pkg/optimizer/builtin); this is the same rule in Go,
// which pkg/optimizer's corpus test holds the module to, and which
// RollupRewriter runs for callers without an optimizer host.
func ChooseKPISource(p plan.Plan, c plan.Catalog) (plan.Plan, string) {
	r := schema.KPIRollup()
	if p.Source != r.Source {
		return p, fmt.Sprintf("Reading %s.", p.Source)
	}
	for _, f := range p.Filters {
		if f.LabelKey != "" {
			return p, "Reading kpi_samples: label filters need the raw samples (rollups hold no labels)."
		}
		if f.Column == "source" {
			return p, "Reading kpi_samples: the source filter needs the raw samples (rollups hold no source)."
		}
	}
	for _, g := range p.GroupBy {
		if g.LabelKey != "" {
			return p, "Reading kpi_samples: label groupings need the raw samples (rollups hold no labels)."
		}
	}
	var rollups []plan.Table
	for _, t := range c.Tables {
		if t.Kind == plan.KindRollup && t.Measure == r.Measure {
			rollups = append(rollups, t)
		}
	}
	// Coarsest first.
	sort.Slice(rollups, func(i, j int) bool { return rollups[i].ResolutionS > rollups[j].ResolutionS })
	for _, t := range rollups {
		cand := p
		cand.Source, cand.TimeColumn = t.Name, r.Time
		if cand.Validate(c) != nil {
			continue
		}
		// The rollup equals kpi_samples only while its views kept up; a
		// crash between an insert and its views leaves it short until a
		// repair, so the note says what it rests on instead of claiming it.
		note := fmt.Sprintf("Reading %s: its %s buckets fit the %s interval and the aligned time range. It holds the same counts as kpi_samples, in fewer rows, as long as ledger/verify finds no rollup mismatch (POST admin/repair rebuilds one).",
			cand.Source, schema.Span(t.ResolutionS), schema.Span(p.Bucket))
		if p.Aggregations[0].Func == plan.FuncQuantile {
			note += " Percentiles from rollups are t-digest estimates (approximate)."
		}
		return cand, note
	}
	return p, fmt.Sprintf("Reading kpi_samples: no rollup fits the %s interval.", schema.Span(p.Bucket))
}

// teamRemap maps every team of the tree whose ancestor at depth level (the
// root is depth 0) differs from itself to that ancestor. Teams at or above
// the level, and teams not in the tree, stay themselves.
func teamRemap(parents map[string]string, level int) *plan.Remap {
	r := &plan.Remap{From: []string{}, To: []string{}}
	teams := make([]string, 0, len(parents))
	for t := range parents {
		teams = append(teams, t)
	}
	sort.Strings(teams)
	for _, t := range teams {
		path := []string{t}
		seen := map[string]bool{t: true}
		for cur := t; ; {
			p, ok := parents[cur]
			// A cycle in the tree (bad data) ends the walk where it repeats.
			if !ok || p == "" || seen[p] {
				break
			}
			seen[p] = true
			path = append(path, p)
			cur = p
		}
		// path is t, parent, ..., root; depth of t is len(path)-1.
		depth := len(path) - 1
		if depth > level {
			r.From = append(r.From, t)
			r.To = append(r.To, path[depth-level])
		}
	}
	return r
}
