package query

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Statement macros stand in place of a SELECT and take the rest of the
// query (FROM onwards) as their tail; they become a whole SELECT, written
// with $__timeInterval and $__timeFilter, which expand like any macro:
//
//	$__columns(timeCol, key, value)          one series per key: value per bucket
//	$__rateColumns(timeCol, key, value)      value per second since the series' previous bucket
//	$__perSecondColumns(timeCol, key, value) per-second increase of a counter, max(value) per bucket
//	$__increaseColumns(timeCol, key, value)  increase of a counter per bucket
//	$__lttb(buckets, x, y)                   Largest-Triangle-Three-Buckets downsampling
//
// They mean what the official ClickHouse data source's statement macros
// mean: long rows (t, key, value) ordered by t and key, the first point of a
// series and a counter reset as nan. The official plugin compares a bucket
// with the previous one through window functions (lagInFrame), which
// ClickHouse 18.16 lacks; kpiflow pairs them through arrays on every version
// (each series' points sorted by time, then each with the one before), which
// gives the same rows (conformance.Official holds the two to the same
// answers). $__lttb is ClickHouse's lttb aggregate (23.10+) and is refused
// on older servers.

// statementMacro expands the statement macro of sql, if it has one: at most
// one, at the top level. Text before it (a WITH clause) is kept.
func (x *expander) statementMacro(sql string) (string, error) {
	toks, err := Tokenize(sql)
	if err != nil {
		return "", err
	}
	found, depth := -1, 0
	for i, t := range toks {
		switch {
		case t.IsPunct("("):
			depth++
		case t.IsPunct(")"):
			depth--
		case t.Kind == TokenWord && strings.HasPrefix(t.Text, "$__"):
			if m, ok := x.known[t.Text[3:]]; !ok || m.statement == nil {
				continue
			}
			if depth > 0 {
				return "", macroErr(t.Text[3:], "must stand at the top level of the query, in place of its SELECT, not inside parentheses")
			}
			if found >= 0 {
				return "", macroErr(t.Text[3:], "a query takes one statement macro, and it already has %s", toks[found].Text)
			}
			found = i
		}
	}
	if found < 0 {
		return sql, nil
	}
	name := toks[found].Text[3:]
	args, last, err := macroArgs(name, sql, toks, found)
	if err != nil {
		return "", err
	}
	if err := checkArgs(name, args); err != nil {
		return "", err
	}
	text, err := x.known[name].statement(x, args, sql[toks[last].End:])
	if err != nil {
		return "", err
	}
	return sql[:toks[found].Start] + text, nil
}

// tailClauses is a statement macro's tail by clause. Each keeps the user's
// text, keyword included, except where, which is the condition alone.
type tailClauses struct {
	from, where, groupBy, having, orderBy, limit, settings string
}

// tailKeywords are the clauses a tail may have after FROM, in the order
// ClickHouse wants them. PREWHERE stays part of FROM, where it is valid.
func tailKeywords() [][]string {
	return [][]string{{"WHERE"}, {"GROUP", "BY"}, {"HAVING"}, {"ORDER", "BY"}, {"LIMIT"}, {"SETTINGS"}}
}

// parseTail splits a statement macro's tail at its top-level clause
// keywords (outside strings, comments and parentheses).
func parseTail(name, tail string) (tailClauses, error) {
	toks, err := Tokenize(tail)
	if err != nil {
		return tailClauses{}, err
	}
	var sig []Token
	for _, t := range toks {
		if t.Significant() {
			sig = append(sig, t)
		}
	}
	if n := len(sig); n > 0 && sig[n-1].IsPunct(";") {
		sig = sig[:n-1]
	}
	if len(sig) == 0 || !sig[0].IsWord("FROM") {
		return tailClauses{}, macroErr(name, "must be followed by the rest of a query, starting with FROM: %s(…) FROM table WHERE …", "$__"+name)
	}
	end := sig[len(sig)-1].End
	kws := tailKeywords()
	starts, after := make([]int, len(kws)), make([]int, len(kws))
	for k := range starts {
		starts[k] = -1
	}
	depth := 0
	for i := 0; i < len(sig); i++ {
		t := sig[i]
		switch {
		case t.IsPunct("("):
			depth++
		case t.IsPunct(")"):
			depth--
		case depth == 0 && t.Kind == TokenWord && (i == 0 || !sig[i-1].IsPunct(".")):
			for k, words := range kws {
				if starts[k] >= 0 || i+len(words) > len(sig) {
					continue
				}
				match := true
				for w, word := range words {
					match = match && sig[i+w].IsWord(word)
				}
				if match {
					starts[k], after[k] = t.Start, sig[i+len(words)-1].End
					i += len(words) - 1
					break
				}
			}
		}
	}
	last, lastK := -1, -1
	for k, s := range starts {
		if s < 0 {
			continue
		}
		if s < last {
			return tailClauses{}, macroErr(name, "%s must come before %s", strings.Join(kws[lastK], " "), strings.Join(kws[k], " "))
		}
		last, lastK = s, k
	}
	segment := func(k int) (string, string) {
		stop := end
		for n := k + 1; n < len(kws); n++ {
			if starts[n] >= 0 {
				stop = starts[n]
				break
			}
		}
		return trimSQL(tail[starts[k]:stop]), trimSQL(tail[after[k]:stop])
	}
	first := end
	for _, s := range starts {
		if s >= 0 && s < first {
			first = s
		}
	}
	tc := tailClauses{from: trimSQL(tail[sig[0].Start:first])}
	fields := []*string{&tc.where, &tc.groupBy, &tc.having, &tc.orderBy, &tc.limit, &tc.settings}
	for k := range kws {
		if starts[k] < 0 {
			continue
		}
		whole, body := segment(k)
		*fields[k] = whole
		if k == 0 {
			tc.where = body
		}
	}
	return tc, nil
}

// splitAlias splits a trailing top-level "AS alias" off an argument.
func splitAlias(arg string) (expr, alias string) {
	toks, err := Tokenize(arg)
	if err != nil {
		return arg, ""
	}
	depth, at := 0, -1
	for i, t := range toks {
		switch {
		case t.IsPunct("(") || t.IsPunct("["):
			depth++
		case t.IsPunct(")") || t.IsPunct("]"):
			depth--
		case depth == 0 && i > 0 && t.IsWord("AS"):
			at = i
		}
	}
	if at < 0 {
		return trimSQL(arg), ""
	}
	return trimSQL(arg[:toks[at].Start]), trimSQL(arg[toks[at].End:])
}

// columnsKind is which of the *Columns macros.
type columnsKind int

const (
	columnsPlain columnsKind = iota
	columnsRate
	columnsPerSecond
	columnsIncrease
)

func (k columnsKind) name() string {
	return [...]string{"columns", "rateColumns", "perSecondColumns", "increaseColumns"}[k]
}

// columnsStatement expands $__columns and its rate and counter variants:
// per time bucket and key, the value; for the variants, the value against
// the same series' previous bucket.
func columnsStatement(kind columnsKind) func(x *expander, args []string, tail string) (string, error) {
	return func(_ *expander, args []string, tail string) (string, error) {
		timeCol := args[0]
		keyExpr, key := splitAlias(args[1])
		if key == "" {
			key = "metric"
		}
		valueExpr, value := splitAlias(args[2])
		if value == "" {
			value = "value"
		}
		tc, err := parseTail(kind.name(), tail)
		if err != nil {
			return "", err
		}
		if tc.groupBy != "" {
			return "", macroErr(kind.name(), "groups by time bucket and key itself: remove the query's GROUP BY")
		}
		where := "WHERE $__timeFilter(" + timeCol + ")"
		if tc.where != "" {
			where += " AND (" + tc.where + ")"
		}
		orderBy := tc.orderBy
		if orderBy == "" {
			orderBy = "ORDER BY t, " + key
		}
		agg := valueExpr
		if kind == columnsPerSecond || kind == columnsIncrease {
			agg = "max(" + valueExpr + ")"
		}
		grouped := []string{fmt.Sprintf("SELECT $__timeInterval(%s) AS t, toString(%s) AS %s, %s AS %s", timeCol, keyExpr, key, agg, value),
			tc.from, where, "GROUP BY t, " + key, tc.having}
		if kind == columnsPlain {
			return joinClauses(append(grouped, orderBy, tc.limit, tc.settings)...), nil
		}
		// Each series' points sorted by time, each paired with the one before
		// (the first with itself: no time between them, so nan).
		series := fmt.Sprintf("SELECT %[1]s, arraySort(kpiflow_x -> kpiflow_x.1, groupArray((t, %[2]s))) AS kpiflow_points, "+
			"arrayMap(kpiflow_i -> kpiflow_points[if(kpiflow_i = 1, 1, kpiflow_i - 1)], arrayEnumerate(kpiflow_points)) AS kpiflow_prev "+
			"FROM (%[3]s) GROUP BY %[1]s", key, value, joinClauses(grouped...))
		dt := "(toInt64(kpiflow_p.1) - toInt64(kpiflow_q.1))"
		delta := "(kpiflow_p.2 - kpiflow_q.2)"
		expr := map[columnsKind]string{
			columnsRate:      fmt.Sprintf("if(%s = 0, nan, kpiflow_p.2 / %s)", dt, dt),
			columnsPerSecond: fmt.Sprintf("if(%s = 0 OR %s < 0, nan, %s / %s)", dt, delta, delta, dt),
			columnsIncrease:  fmt.Sprintf("if(%s = 0 OR %s < 0, nan, toFloat64(%s))", dt, delta, delta),
		}[kind]
		return joinClauses(fmt.Sprintf("SELECT kpiflow_p.1 AS t, %s, %s AS %s FROM (%s) ARRAY JOIN kpiflow_points AS kpiflow_p, kpiflow_prev AS kpiflow_q",
			key, expr, value, series), orderBy, tc.limit, tc.settings), nil
	}
}

func joinClauses(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

var bucketsRe = regexp.MustCompile(`^[0-9]+$`)

// lttbStatement expands $__lttb(buckets, x, y) with ClickHouse's lttb
// aggregate. With a GROUP BY in the tail, the groups are aggregated first
// (sorted by x unless the query orders them) and lttb runs on their rows.
func lttbStatement(x *expander, args []string, tail string) (string, error) {
	if !x.env.Dialect.Features.LTTB {
		return "", macroErr("lttb", "uses ClickHouse's lttb aggregate, which ClickHouse %s does not have (23.10 and later do); "+
			"downsample with $__timeInterval(x) and an aggregate such as avg(y) instead", x.env.Dialect.Version)
	}
	buckets, err := lttbBuckets(args[0], x.env)
	if err != nil {
		return "", err
	}
	xExpr, xAlias := splitAlias(args[1])
	xAlias = lttbAlias(xExpr, xAlias, "x")
	yExpr, yAlias := splitAlias(args[2])
	yAlias = lttbAlias(yExpr, yAlias, "y")
	tc, err := parseTail("lttb", tail)
	if err != nil {
		return "", err
	}
	where := "WHERE $__timeFilter(" + xExpr + ")"
	if tc.where != "" {
		where += " AND (" + tc.where + ")"
	}
	if tc.groupBy != "" {
		orderBy := tc.orderBy
		if orderBy == "" {
			orderBy = "ORDER BY " + xAlias
		}
		grouped := joinClauses("SELECT "+lttbColumn(xExpr, xAlias)+", "+lttbColumn(yExpr, yAlias), tc.from, where,
			tc.groupBy, tc.having, orderBy, tc.limit, tc.settings)
		return fmt.Sprintf("SELECT point.1 AS %s, point.2 AS %s FROM (SELECT arrayJoin(lttb(%s)(%s, %s)) AS point FROM (%s)) ORDER BY %s",
			xAlias, yAlias, buckets, xAlias, yAlias, grouped, xAlias), nil
	}
	inner := joinClauses(fmt.Sprintf("SELECT arrayJoin(lttb(%s)(%s, %s)) AS point", buckets, args[1], args[2]), tc.from, where,
		tc.having, tc.orderBy, tc.limit, tc.settings)
	return fmt.Sprintf("SELECT point.1 AS %s, point.2 AS %s FROM (%s) ORDER BY %s", xAlias, yAlias, inner, xAlias), nil
}

// lttbBuckets reads the bucket count: a positive whole number, or auto for
// one bucket per interval of the time range.
func lttbBuckets(arg string, env MacroEnv) (string, error) {
	if strings.EqualFold(arg, "auto") {
		n := max(int64(env.To.Sub(env.From).Seconds()/math.Max(env.Interval.Seconds(), 1)), 1)
		return strconv.FormatInt(n, 10), nil
	}
	if !bucketsRe.MatchString(arg) || strings.Trim(arg, "0") == "" {
		return "", macroErr("lttb", "the bucket count must be a positive whole number or auto, got %s", arg)
	}
	return arg, nil
}

// lttbAlias names an lttb output column: the user's alias, else the column
// itself when x or y is a plain name, else fallback.
func lttbAlias(expr, alias, fallback string) string {
	switch {
	case alias != "":
		return alias
	case adHocKeyRe.MatchString(expr) && !strings.Contains(expr, "."):
		return expr
	}
	return fallback
}

func lttbColumn(expr, alias string) string {
	if expr == alias {
		return expr
	}
	return expr + " AS " + alias
}
