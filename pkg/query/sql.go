package query

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// SQL validates p against c and writes it as one ClickHouse SELECT with `?`
// placeholders and their arguments. Identifiers come only from the plan
// after validation (and are quoted); values are always arguments.
//
// The SQL runs on ClickHouse 18.16 and current releases: buckets use
// toDateTime(intDiv(toUInt32(col), N) * N), and tables whose catalog entry
// says Final are read with FINAL.
func SQL(p plan.Plan, c plan.Catalog) (string, []any, error) {
	if err := p.Validate(c); err != nil {
		return "", nil, err
	}
	w := &sqlWriter{c: c}
	s, err := w.plan(&p)
	if err != nil {
		return "", nil, err
	}
	return s, w.args, nil
}

type sqlWriter struct {
	c    plan.Catalog
	args []any
}

func (w *sqlWriter) arg(v any) string {
	w.args = append(w.args, v)
	return "?"
}

// q quotes an identifier (dialect's one rule).
func q(ident string) string { return dialect.Quote(ident) }

func (w *sqlWriter) plan(p *plan.Plan) (string, error) {
	var t plan.Table
	var from string
	if p.From != nil {
		inner, err := w.plan(p.From)
		if err != nil {
			return "", err
		}
		from = "(" + inner + ")"
		out, err := p.From.OutputTable(w.c)
		if err != nil {
			return "", err
		}
		t = out
	} else {
		t, _ = w.c.Table(p.Source)
		from = q(t.Name)
		if t.Final {
			from += " FINAL"
		}
	}

	var sel, group []string
	if p.Bucket > 0 {
		sel = append(sel, dialect.Bucket(q(p.TimeColumn), p.Bucket)+" AS "+q(plan.TimeOutput))
		group = append(group, q(plan.TimeOutput))
	}
	for _, g := range p.GroupBy {
		e := w.ref(g.Column, g.LabelKey)
		// An empty mapping changes nothing, and [] would be Array(Nothing),
		// which transform() refuses.
		if g.Remap != nil && len(g.Remap.From) > 0 {
			e = fmt.Sprintf("transform(%s, %s, %s, %s)", e, w.arg(g.Remap.From), w.arg(g.Remap.To), e)
		}
		sel = append(sel, e+" AS "+q(g.Alias))
		group = append(group, q(g.Alias))
	}
	for _, col := range p.Columns {
		sel = append(sel, q(col))
	}
	for _, a := range p.Aggregations {
		e, err := w.aggregation(p, t, a)
		if err != nil {
			return "", err
		}
		sel = append(sel, e+" AS "+q(a.Alias))
	}

	var where []string
	if p.TimeRange.From > 0 {
		where = append(where, q(p.TimeColumn)+" >= toDateTime("+w.arg(p.TimeRange.From)+")")
	}
	if p.TimeRange.To > 0 {
		where = append(where, q(p.TimeColumn)+" < toDateTime("+w.arg(p.TimeRange.To)+")")
	}
	for _, f := range p.Filters {
		where = append(where, w.filter(t, f))
	}

	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(sel, ", "))
	b.WriteString(" FROM ")
	b.WriteString(from)
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	if len(p.Aggregations) > 0 && len(group) > 0 {
		b.WriteString(" GROUP BY ")
		b.WriteString(strings.Join(group, ", "))
	}
	if len(p.OrderBy) > 0 {
		terms := make([]string, len(p.OrderBy))
		for i, o := range p.OrderBy {
			terms[i] = q(o.Column)
			if o.Desc {
				terms[i] += " DESC"
			}
		}
		b.WriteString(" ORDER BY ")
		b.WriteString(strings.Join(terms, ", "))
	}
	if p.Limit > 0 {
		b.WriteString(" LIMIT ")
		b.WriteString(strconv.Itoa(p.Limit))
	}
	return b.String(), nil
}

// ref is the expression of a column or a label's value (” when absent:
// indexOf gives 0 and element 0 of an array is the type's default).
func (w *sqlWriter) ref(column, labelKey string) string {
	if labelKey != "" {
		return "`label_values`[indexOf(`label_keys`, " + w.arg(labelKey) + ")]"
	}
	return q(column)
}

func isDateTimeCol(t plan.Table, col string) bool {
	typ, _ := t.Column(col)
	return typ == "DateTime" || typ == "Nullable(DateTime)"
}

func (w *sqlWriter) filter(t plan.Table, f plan.Filter) string {
	col := w.ref(f.Column, f.LabelKey)
	dateTime := f.Column != "" && isDateTimeCol(t, f.Column)
	// val binds a value as the column's type: Unix seconds for DateTime
	// columns (Validate made them whole), float64 for other numbers.
	val := func(v plan.Value) string {
		if s, ok := v.AsString(); ok {
			return w.arg(s)
		}
		n, _ := v.AsNumber()
		if dateTime {
			return "toDateTime(" + w.arg(int64(n)) + ")"
		}
		return w.arg(n)
	}
	switch f.Op {
	case plan.OpEq, plan.OpNe, plan.OpLt, plan.OpLe, plan.OpGt, plan.OpGe:
		return col + " " + f.Op + " " + val(f.Values[0])
	case plan.OpMatch:
		return "match(" + col + ", " + val(f.Values[0]) + ")"
	case plan.OpNotMatch:
		return "NOT match(" + col + ", " + val(f.Values[0]) + ")"
	case plan.OpIn, plan.OpNotIn:
		ph := make([]string, len(f.Values))
		for i, v := range f.Values {
			ph[i] = val(v)
		}
		op := " IN ("
		if f.Op == plan.OpNotIn {
			op = " NOT IN ("
		}
		return col + op + strings.Join(ph, ", ") + ")"
	case plan.OpIsNull:
		return "isNull(" + col + ")"
	case plan.OpIsNotNull:
		return "isNotNull(" + col + ")"
	case plan.OpInColumnOf:
		rt, _ := w.c.Table(f.Ref.Table)
		src := q(rt.Name)
		if rt.Final {
			src += " FINAL"
		}
		// GLOBAL: in cluster mode both tables are Distributed, and ClickHouse
		// refuses a plain IN over a Distributed subquery (code 288); GLOBAL
		// runs the subquery once and ships its set to every shard. On one
		// server it is the same as IN.
		return col + " GLOBAL IN (SELECT " + q(f.Ref.Column) + " FROM " + src + ")"
	}
	// Unreachable after Validate.
	return "0"
}

func formatLevel(l float64) string { return strconv.FormatFloat(l, 'g', -1, 64) }

func (w *sqlWriter) aggregation(p *plan.Plan, t plan.Table, a plan.Aggregation) (string, error) {
	if t.Kind == plan.KindRollup {
		return w.rollupAggregation(p, t, a)
	}
	// x is the aggregated expression; conds are the -If conditions.
	var x string
	var conds []string
	if a.Column != "" {
		x = q(a.Column)
		if isDateTimeCol(t, a.Column) && a.Minus == "" && a.Func != plan.FuncUniqDays && a.Func != plan.FuncMin &&
			a.Func != plan.FuncMax && a.Func != plan.FuncLast {
			x = "toUInt32(" + x + ")"
		}
	}
	if a.Minus != "" {
		l, r := q(a.Column), q(a.Minus)
		if typ, _ := t.Column(a.Column); strings.HasPrefix(typ, "Nullable(") {
			conds = append(conds, "isNotNull("+l+")")
			l = "assumeNotNull(" + l + ")"
		}
		if typ, _ := t.Column(a.Minus); strings.HasPrefix(typ, "Nullable(") {
			conds = append(conds, "isNotNull("+r+")")
			r = "assumeNotNull(" + r + ")"
		}
		x = fmt.Sprintf("(toInt64(toUInt32(%s)) - toInt64(toUInt32(%s)))", l, r)
		conds = append(conds, x+" > 0")
	}
	if a.Func != plan.FuncFraction {
		for _, f := range a.Where {
			conds = append(conds, w.filter(t, f))
		}
	}
	cond := strings.Join(conds, " AND ")
	// call writes f(args) or fIf(args, cond).
	call := func(fn, params string, args ...string) string {
		if cond != "" {
			fn += "If"
			args = append(args, cond)
		}
		return fn + params + "(" + strings.Join(args, ", ") + ")"
	}
	switch a.Func {
	case plan.FuncCount:
		if cond == "" {
			return "count()", nil
		}
		return "countIf(" + cond + ")", nil
	case plan.FuncSum:
		return call("sum", "", x), nil
	case plan.FuncAvg:
		return call("avg", "", x), nil
	case plan.FuncMin:
		return call("min", "", x), nil
	case plan.FuncMax:
		return call("max", "", x), nil
	case plan.FuncRate:
		return fmt.Sprintf("%s / %d", call("sum", "", x), rateSeconds(p)), nil
	case plan.FuncLast:
		return call("argMax", "", x, q(p.TimeColumn)), nil
	case plan.FuncQuantile:
		return call("quantile", "("+formatLevel(a.Args[0])+")", x), nil
	case plan.FuncMedian:
		// Exact median: the middle of the sorted values, or the mean of the
		// two middle ones; NaN for a group with no qualifying rows.
		arr := call("groupArray", "", x)
		return fmt.Sprintf("if(length(%[1]s) = 0, nan, (toFloat64(arrayElement(arraySort(%[1]s), intDiv(length(%[1]s) + 1, 2))) + toFloat64(arrayElement(arraySort(%[1]s), intDiv(length(%[1]s), 2) + 1))) / 2)", arr), nil
	case plan.FuncUniqDays:
		return call("uniqExact", "", dialect.Bucket(q(a.Column), 86400)), nil
	case plan.FuncFraction:
		parts := make([]string, len(a.Where))
		for i, f := range a.Where {
			parts[i] = w.filter(t, f)
		}
		return "countIf(" + strings.Join(parts, " AND ") + ") / count()", nil
	}
	return "", fmt.Errorf("plan: aggregation %q has no SQL form", a.Func)
}

// rateSeconds is the divisor of a rate: the bucket width, or the time range.
func rateSeconds(p *plan.Plan) int64 {
	if p.Bucket > 0 {
		return p.Bucket
	}
	return p.TimeRange.To - p.TimeRange.From
}

// rollupMerges spells each aggregation a rollup answers by merging its
// states (schema.KPIRollup); the catalog lists exactly these as its Funcs.
func rollupMerges() map[string]func(p *plan.Plan, t plan.Table, a plan.Aggregation) string {
	merge := func(column string) string {
		for _, s := range schema.KPIRollup().States {
			if s.Column == column {
				return s.Call("Merge") + "(" + q(column) + ")"
			}
		}
		// The names below are schema's state constants; a miss is a kpiflow bug.
		panic("query: no rollup state " + column)
	}
	return map[string]func(p *plan.Plan, t plan.Table, a plan.Aggregation) string{
		plan.FuncCount: func(*plan.Plan, plan.Table, plan.Aggregation) string { return merge(schema.StateCount) },
		plan.FuncSum:   func(*plan.Plan, plan.Table, plan.Aggregation) string { return merge(schema.StateSum) },
		plan.FuncAvg: func(*plan.Plan, plan.Table, plan.Aggregation) string {
			return merge(schema.StateSum) + " / " + merge(schema.StateCount)
		},
		plan.FuncMin: func(*plan.Plan, plan.Table, plan.Aggregation) string { return merge(schema.StateMin) },
		plan.FuncMax: func(*plan.Plan, plan.Table, plan.Aggregation) string { return merge(schema.StateMax) },
		plan.FuncRate: func(p *plan.Plan, _ plan.Table, _ plan.Aggregation) string {
			return fmt.Sprintf("%s / %d", merge(schema.StateSum), rateSeconds(p))
		},
		plan.FuncLast: func(*plan.Plan, plan.Table, plan.Aggregation) string { return merge(schema.StateLast) },
		plan.FuncQuantile: func(_ *plan.Plan, t plan.Table, a plan.Aggregation) string {
			// The state holds t.Quantiles; Validate made sure the level is one of them.
			return fmt.Sprintf("%s[%d]", merge(schema.StateQuantile), slices.Index(t.Quantiles, a.Args[0])+1)
		},
	}
}

func (w *sqlWriter) rollupAggregation(p *plan.Plan, t plan.Table, a plan.Aggregation) (string, error) {
	m, ok := rollupMerges()[a.Func]
	if !ok {
		return "", fmt.Errorf("plan: rollup %s cannot answer %q", t.Name, a.Func)
	}
	return m(p, t, a), nil
}
