package plan

import (
	"fmt"
	"math"
	"regexp"
	"strings"
)

// Limits that keep a plan's SQL and arguments bounded.
const (
	MaxFilterValues = 10_000
	MaxBucket       = 10 * 366 * 86400
	maxNesting      = 3
	// maxUnixSeconds bounds a DateTime value (about the year 2106, where
	// DateTime ends).
	maxUnixSeconds = 1 << 32
)

var aliasRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Error is a plan that fails validation; Path names the offending part, such
// as "aggregations[1].column".
type Error struct {
	Path    string
	Message string
}

func (e *Error) Error() string { return "plan." + e.Path + ": " + e.Message }

func errf(path, format string, args ...any) error {
	return &Error{Path: path, Message: fmt.Sprintf(format, args...)}
}

// Validate checks the plan against the catalog: tables and columns exist,
// operators and functions are known and fit the column types, aliases are
// plain identifiers, a rollup is only asked what it can answer (and only on
// its own bucket grid), and limits hold. The SQL builder relies on a
// validated plan; optimizer modules' output passes here too.
func (p *Plan) Validate(c Catalog) error {
	_, err := p.validate(c, "", 0)
	return err
}

// OutputTable validates the plan and describes its output as a table, which
// is what a plan nesting it (From) reads.
func (p *Plan) OutputTable(c Catalog) (Table, error) {
	return p.validate(c, "", 0)
}

func (p *Plan) validate(c Catalog, path string, depth int) (Table, error) {
	at := func(s string) string { return path + s }
	if depth > maxNesting {
		return Table{}, errf(at("from"), "plans nest at most %d deep", maxNesting)
	}
	var t Table
	switch {
	case p.Source != "" && p.From != nil:
		return Table{}, errf(at("source"), "set either source or from, not both")
	case p.From != nil:
		inner, err := p.From.validate(c, at("from."), depth+1)
		if err != nil {
			return Table{}, err
		}
		t = inner
	case p.Source != "":
		var ok bool
		if t, ok = c.Table(p.Source); !ok {
			return Table{}, errf(at("source"), "unknown table %q", p.Source)
		}
	default:
		return Table{}, errf(at("source"), "required")
	}

	if p.TimeColumn != "" {
		typ, ok := t.Column(p.TimeColumn)
		if !ok {
			return Table{}, errf(at("time_column"), "unknown column %q in %s", p.TimeColumn, t.Name)
		}
		if !isDateTime(typ) {
			return Table{}, errf(at("time_column"), "%q is %s, not DateTime", p.TimeColumn, typ)
		}
	} else if p.Bucket != 0 || p.TimeRange != (TimeRange{}) {
		return Table{}, errf(at("time_column"), "required with a time range or bucket")
	}
	tr := p.TimeRange
	if tr.From < 0 || tr.To < 0 || tr.From > math.MaxUint32 || tr.To > math.MaxUint32 {
		return Table{}, errf(at("time_range"), "bounds must be Unix seconds from 0 to %d", int64(math.MaxUint32))
	}
	if tr.To != 0 && tr.From >= tr.To {
		return Table{}, errf(at("time_range"), "from (%d) must be before to (%d)", tr.From, tr.To)
	}
	if p.Bucket < 0 || p.Bucket > MaxBucket {
		return Table{}, errf(at("bucket_s"), "expected 0 to %d seconds, got %d", MaxBucket, p.Bucket)
	}
	if t.Kind == KindRollup {
		r := t.ResolutionS
		if r <= 0 {
			return Table{}, errf(at("source"), "rollup %s has no resolution", t.Name)
		}
		if p.Bucket%r != 0 || tr.From%r != 0 || tr.To%r != 0 {
			return Table{}, errf(at("source"), "rollup %s answers only buckets and time bounds on its %ds grid", t.Name, r)
		}
		if len(p.Aggregations) == 0 || len(p.Columns) > 0 {
			return Table{}, errf(at("source"), "rollup %s can only be read with aggregations", t.Name)
		}
	}
	if p.Limit < 0 {
		return Table{}, errf(at("limit"), "must not be negative")
	}
	if p.MaxPoints < 0 {
		return Table{}, errf(at("max_points"), "must not be negative")
	}

	out := Table{Name: "(subquery)", Kind: KindRaw}
	seen := map[string]bool{}
	addOut := func(field, name, typ string) error {
		if !aliasRe.MatchString(name) {
			return errf(at(field), "alias %q must be a plain identifier", name)
		}
		if seen[name] {
			return errf(at(field), "output column %q appears twice", name)
		}
		seen[name] = true
		out.Columns = append(out.Columns, Column{Name: name, Type: typ})
		return nil
	}
	if p.Bucket > 0 {
		if err := addOut("bucket_s", TimeOutput, "DateTime"); err != nil {
			return Table{}, err
		}
	}
	for i, g := range p.GroupBy {
		f := fmt.Sprintf("group_by[%d]", i)
		typ, err := checkRef(t, at(f), g.Column, g.LabelKey)
		if err != nil {
			return Table{}, err
		}
		if g.Remap != nil {
			if len(g.Remap.From) != len(g.Remap.To) {
				return Table{}, errf(at(f+".remap"), "from and to must have the same length")
			}
			if len(g.Remap.From) > MaxFilterValues {
				return Table{}, errf(at(f+".remap"), "at most %d entries", MaxFilterValues)
			}
			if typ != "String" {
				return Table{}, errf(at(f+".remap"), "only String columns can be remapped, %s is %s", g.Column, typ)
			}
		}
		if err := addOut(f+".alias", g.Alias, typ); err != nil {
			return Table{}, err
		}
	}
	if len(p.Columns) > 0 && len(p.Aggregations) > 0 {
		return Table{}, errf(at("columns"), "plain columns cannot be mixed with aggregations")
	}
	for i, col := range p.Columns {
		f := fmt.Sprintf("columns[%d]", i)
		typ, ok := t.Column(col)
		if !ok {
			return Table{}, errf(at(f), "unknown column %q in %s", col, t.Name)
		}
		if strings.HasPrefix(typ, "AggregateFunction(") {
			return Table{}, errf(at(f), "%q is an aggregate state", col)
		}
		if err := addOut(f, col, typ); err != nil {
			return Table{}, err
		}
	}
	for i, a := range p.Aggregations {
		f := fmt.Sprintf("aggregations[%d]", i)
		if a.Func == FuncLast && p.TimeColumn == "" {
			return Table{}, errf(at(f+".func"), "last needs the plan's time_column")
		}
		if a.Func == FuncRate && p.Bucket == 0 && (tr.From == 0 || tr.To == 0) {
			return Table{}, errf(at(f+".func"), "rate needs a bucket or a closed time range")
		}
		typ, err := checkAggregation(c, t, a, at(f))
		if err != nil {
			return Table{}, err
		}
		if err := addOut(f+".alias", a.Alias, typ); err != nil {
			return Table{}, err
		}
	}
	for i, fl := range p.Filters {
		if err := checkFilter(c, t, fl, at(fmt.Sprintf("filters[%d]", i))); err != nil {
			return Table{}, err
		}
	}
	for i, o := range p.OrderBy {
		if _, ok := out.Column(o.Column); !ok {
			return Table{}, errf(at(fmt.Sprintf("order_by[%d].column", i)), "%q is not an output column", o.Column)
		}
	}
	return out, nil
}

// checkRef checks a column or label reference and returns its type.
func checkRef(t Table, path, column, labelKey string) (string, error) {
	switch {
	case column != "" && labelKey != "":
		return "", errf(path, "set either column or label_key, not both")
	case labelKey != "":
		if !t.Labels {
			return "", errf(path+".label_key", "%s has no labels", t.Name)
		}
		if len(labelKey) > 256 {
			return "", errf(path+".label_key", "longer than 256 bytes")
		}
		return "String", nil
	case column != "":
		typ, ok := t.Column(column)
		if !ok {
			return "", errf(path+".column", "unknown column %q in %s", column, t.Name)
		}
		if !isScalar(typ) {
			return "", errf(path+".column", "%q is %s, not a scalar column", column, typ)
		}
		return typ, nil
	default:
		return "", errf(path+".column", "required")
	}
}

func checkAggregation(c Catalog, t Table, a Aggregation, path string) (string, error) {
	needsArgs := 0
	switch a.Func {
	case FuncCount, FuncFraction:
	case FuncSum, FuncAvg, FuncMin, FuncMax, FuncRate, FuncLast, FuncMedian, FuncUniqDays:
	case FuncQuantile:
		needsArgs = 1
	default:
		return "", errf(path+".func", "unknown aggregation %q", a.Func)
	}
	switch {
	case needsArgs == 1 && len(a.Args) != 1:
		return "", errf(path+".args", "%s takes one level", a.Func)
	case needsArgs == 0 && len(a.Args) > 0:
		return "", errf(path+".args", "%s takes no arguments", a.Func)
	}
	for i, l := range a.Args {
		if !(l > 0 && l < 1) {
			return "", errf(fmt.Sprintf("%s.args[%d]", path, i), "a level must be between 0 and 1 (exclusive), got %v", l)
		}
	}
	if a.Func == FuncFraction && len(a.Where) == 0 {
		return "", errf(path+".where", "fraction needs the condition of its numerator")
	}
	for i, w := range a.Where {
		if err := checkFilter(c, t, w, fmt.Sprintf("%s.where[%d]", path, i)); err != nil {
			return "", err
		}
	}

	if t.Kind == KindRollup {
		if a.Column != t.Measure {
			return "", errf(path+".column", "rollup %s aggregates only %q", t.Name, t.Measure)
		}
		if a.Minus != "" || len(a.Where) > 0 {
			return "", errf(path, "rollup %s cannot answer conditional or difference aggregations", t.Name)
		}
		if !t.Answers(a.Func, a.Args) {
			return "", errf(path+".func", "rollup %s cannot answer %s%v", t.Name, a.Func, a.Args)
		}
		return "Float64", nil
	}

	if a.Column == "" {
		if a.Func == FuncCount || a.Func == FuncFraction {
			if a.Minus != "" {
				return "", errf(path+".minus", "needs a column")
			}
			return "Float64", nil
		}
		return "", errf(path+".column", "%s needs a column", a.Func)
	}
	typ, ok := t.Column(a.Column)
	if !ok {
		return "", errf(path+".column", "unknown column %q in %s", a.Column, t.Name)
	}
	if !isScalar(typ) {
		return "", errf(path+".column", "%q is %s, not a scalar column", a.Column, typ)
	}
	if a.Minus != "" {
		mt, ok := t.Column(a.Minus)
		if !ok {
			return "", errf(path+".minus", "unknown column %q in %s", a.Minus, t.Name)
		}
		if !isDateTime(typ) || !isDateTime(mt) {
			return "", errf(path+".minus", "a difference needs two DateTime columns, got %s and %s", typ, mt)
		}
		typ = "Int64"
	}
	switch a.Func {
	case FuncSum, FuncAvg, FuncRate, FuncQuantile, FuncMedian:
		if !isNumeric(typ) {
			return "", errf(path+".column", "%s needs a numeric column, %q is %s", a.Func, a.Column, typ)
		}
	case FuncUniqDays:
		if !isDateTime(typ) {
			return "", errf(path+".column", "uniq_days needs a DateTime column, %q is %s", a.Column, typ)
		}
	}
	switch a.Func {
	case FuncMin, FuncMax, FuncLast:
		return typ, nil
	}
	return "Float64", nil
}

func checkFilter(c Catalog, t Table, f Filter, path string) error {
	typ, err := checkRef(t, path, f.Column, f.LabelKey)
	if err != nil {
		return err
	}
	n := len(f.Values)
	switch f.Op {
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
		if n != 1 {
			return errf(path+".values", "%q takes exactly one value", f.Op)
		}
	case OpMatch, OpNotMatch:
		if n != 1 {
			return errf(path+".values", "%q takes exactly one value", f.Op)
		}
		re, ok := f.Values[0].AsString()
		if !ok {
			return errf(path+".values", "%q takes a regular expression string", f.Op)
		}
		if _, err := regexp.Compile(re); err != nil {
			return errf(path+".values", "bad regular expression: %v", err)
		}
		if typ != "String" && !strings.HasPrefix(typ, "Enum") {
			return errf(path+".op", "%q needs a String column, %q is %s", f.Op, f.Column, typ)
		}
	case OpIn, OpNotIn:
		if n == 0 || n > MaxFilterValues {
			return errf(path+".values", "%q takes 1 to %d values", f.Op, MaxFilterValues)
		}
	case OpIsNull, OpIsNotNull:
		if n != 0 {
			return errf(path+".values", "%q takes no values", f.Op)
		}
		if !strings.HasPrefix(typ, "Nullable(") {
			return errf(path+".op", "%q needs a Nullable column, %q is %s", f.Op, f.Column, typ)
		}
	case OpInColumnOf:
		if n != 0 {
			return errf(path+".values", "%q takes no values", f.Op)
		}
		if f.Ref == nil {
			return errf(path+".ref", "required for %q", f.Op)
		}
		rt, ok := c.Table(f.Ref.Table)
		if !ok {
			return errf(path+".ref.table", "unknown table %q", f.Ref.Table)
		}
		rtyp, ok := rt.Column(f.Ref.Column)
		if !ok {
			return errf(path+".ref.column", "unknown column %q in %s", f.Ref.Column, rt.Name)
		}
		if rtyp != typ {
			return errf(path+".ref.column", "%s.%s is %s, %s is %s", rt.Name, f.Ref.Column, rtyp, f.Column, typ)
		}
	default:
		return errf(path+".op", "unknown operator %q", f.Op)
	}
	if f.Op != OpInColumnOf && f.Ref != nil {
		return errf(path+".ref", "only for %q", OpInColumnOf)
	}
	for i, v := range f.Values {
		vp := fmt.Sprintf("%s.values[%d]", path, i)
		if x, ok := v.AsString(); ok {
			if isNumeric(typ) || isDateTime(typ) {
				return errf(vp, "%s is %s: expected a number", f.Column, typ)
			}
			if len(x) > 4096 {
				return errf(vp, "longer than 4096 bytes")
			}
			continue
		}
		n, _ := v.AsNumber()
		switch {
		case !isNumeric(typ) && !isDateTime(typ):
			return errf(vp, "%s is %s: expected a string", f.Column, typ)
		case math.IsNaN(n) || math.IsInf(n, 0):
			return errf(vp, "not a finite number")
		case isDateTime(typ) && (n != math.Trunc(n) || math.Abs(n) > maxUnixSeconds):
			return errf(vp, "%s is %s: expected whole Unix seconds", f.Column, typ)
		}
	}
	return nil
}
