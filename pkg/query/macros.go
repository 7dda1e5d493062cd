package query

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpiflow/kpiflow/pkg/dialect"
)

// MacroEnv is what macros expand with.
type MacroEnv struct {
	// From and To are the query's time range.
	From, To time.Time
	// Interval is the query's interval (Grafana's suggested bucket width).
	Interval time.Duration
	// AdHocFilters are applied by $__adHocFilters.
	AdHocFilters []AdHocFilter
	// Table and Column are the query's table and column fields, which
	// $__table and $__column stand for.
	Table, Column string
	// Dialect is the server's: the _ms macros keep milliseconds where it
	// has DateTime64 and are whole seconds elsewhere (dialect.MillisBound,
	// dialect.BucketMillis); SETTINGS $__adHocFilters and $__lttb need the
	// features of newer servers.
	Dialect dialect.Dialect
}

// Expansion is raw SQL with its macros expanded.
type Expansion struct {
	// SQL is what ClickHouse runs.
	SQL string
	// Notices are sentences for the panel: a value the server's dialect
	// rounded, ad hoc filters the query has no place for.
	Notices []string
}

// MacroError is a macro that cannot be expanded; Macro is its name with $__.
type MacroError struct {
	Macro   string
	Message string
}

func (e *MacroError) Error() string { return "rawSql: " + e.Macro + ": " + e.Message }

func macroErr(name, format string, args ...any) error {
	return &MacroError{Macro: "$__" + name, Message: fmt.Sprintf(format, args...)}
}

// macro is one macro's expansion. An expression macro (expand) becomes SQL
// in its place; a statement macro (statement) becomes a whole SELECT in
// place of itself and the rest of the query (statement.go). How many
// arguments each takes is MacroDocs' (argCounts).
type macro struct {
	expand    func(x *expander, args []string, at site) (string, error)
	statement func(x *expander, args []string, tail string) (string, error)
}

// site is where a macro stands in the query.
type site struct {
	// settings: in a SETTINGS clause ($__adHocFilters' official form).
	settings bool
}

// macros are those of Grafana's official ClickHouse data source
// (grafana/clickhouse-datasource 4.x: its backend's macros, the SQL data
// source defaults it keeps, $__conditionalAll and $__adHocFilters, which its
// frontend expands, and its statement macros), plus Grafana's global $__from,
// $__to and $__interval_ms, which alert rules send unexpanded.
func macros() map[string]macro {
	expr := func(f func(x *expander, a []string) (string, error)) macro {
		return macro{expand: func(x *expander, a []string, _ site) (string, error) { return f(x, a) }}
	}
	value := func(f func(env MacroEnv) string) macro {
		return expr(func(x *expander, _ []string) (string, error) { return f(x.env), nil })
	}
	return map[string]macro{
		"timeFilter": expr(func(x *expander, a []string) (string, error) { return timeFilter(x.env, a[0]), nil }),
		"timeFilter_ms": expr(func(x *expander, a []string) (string, error) {
			return fmt.Sprintf("%s >= %s AND %s <= %s", a[0], x.millis("timeFilter_ms", x.env.From, true),
				a[0], x.millis("timeFilter_ms", x.env.To, false)), nil
		}),
		"dateFilter": expr(func(x *expander, a []string) (string, error) { return dateFilter(x.env, a[0]), nil }),
		"dateTimeFilter": expr(func(x *expander, a []string) (string, error) {
			return "(" + dateFilter(x.env, a[0]) + ") AND (" + timeFilter(x.env, a[1]) + ")", nil
		}),
		"dt": expr(func(x *expander, a []string) (string, error) {
			return "(" + dateFilter(x.env, a[0]) + ") AND (" + timeFilter(x.env, a[1]) + ")", nil
		}),
		"timeFrom": expr(func(x *expander, a []string) (string, error) {
			return fmt.Sprintf("%s >= toDateTime(%d)", a[0], x.env.From.Unix()), nil
		}),
		"timeTo": expr(func(x *expander, a []string) (string, error) {
			return fmt.Sprintf("%s <= toDateTime(%d)", a[0], x.env.To.Unix()), nil
		}),
		"timeGroup": expr(func(_ *expander, a []string) (string, error) {
			s, err := groupSeconds(a[1])
			if err != nil {
				return "", macroErr("timeGroup", "%v", err)
			}
			return dialect.Bucket("toDateTime("+a[0]+")", s), nil
		}),
		"timeInterval": expr(func(x *expander, a []string) (string, error) {
			// toDateTime first: toUInt32 of a Date is a day number.
			return dialect.Bucket("toDateTime("+a[0]+")", intervalSeconds(x.env)), nil
		}),
		"timeInterval_ms": expr(func(x *expander, a []string) (string, error) {
			ms := intervalMillis(x.env)
			if !x.env.Dialect.ExactMillis(ms) {
				x.notice(fmt.Sprintf("$__timeInterval_ms: ClickHouse %s has no DateTime64, so each %d ms bucket is labelled with its start rounded down to the whole second.",
					x.env.Dialect.Version, ms))
			}
			return x.env.Dialect.BucketMillis(a[0], ms), nil
		}),
		"interval":    value(func(env MacroEnv) string { return formatInterval(env.Interval) }),
		"interval_s":  value(func(env MacroEnv) string { return strconv.FormatInt(intervalSeconds(env), 10) }),
		"interval_ms": value(func(env MacroEnv) string { return strconv.FormatInt(intervalMillis(env), 10) }),
		"fromTime":    value(func(env MacroEnv) string { return fmt.Sprintf("toDateTime(%d)", env.From.Unix()) }),
		"toTime":      value(func(env MacroEnv) string { return fmt.Sprintf("toDateTime(%d)", env.To.Unix()) }),
		"fromTime_ms": expr(func(x *expander, _ []string) (string, error) {
			return x.millis("fromTime_ms", x.env.From, true), nil
		}),
		"toTime_ms": expr(func(x *expander, _ []string) (string, error) {
			return x.millis("toTime_ms", x.env.To, false), nil
		}),
		"from": value(func(env MacroEnv) string { return strconv.FormatInt(env.From.UnixMilli(), 10) }),
		"to":   value(func(env MacroEnv) string { return strconv.FormatInt(env.To.UnixMilli(), 10) }),
		"table": expr(func(x *expander, _ []string) (string, error) {
			return fromQueryField("table", x.env.Table)
		}),
		"column": expr(func(x *expander, _ []string) (string, error) {
			return fromQueryField("column", x.env.Column)
		}),
		// ExpandMacros decides on the variable's raw value itself.
		"conditionalAll":   expr(func(_ *expander, a []string) (string, error) { return a[0], nil }),
		"adHocFilters":     {expand: adHocFilters},
		"columns":          {statement: columnsStatement(columnsPlain)},
		"rateColumns":      {statement: columnsStatement(columnsRate)},
		"perSecondColumns": {statement: columnsStatement(columnsPerSecond)},
		"increaseColumns":  {statement: columnsStatement(columnsIncrease)},
		"lttb":             {statement: lttbStatement},
	}
}

// MacroNames lists the macros ExpandMacros knows, with their $__ prefix.
func MacroNames() []string {
	var out []string
	for name := range macros() {
		out = append(out, "$__"+name)
	}
	slices.Sort(out)
	return out
}

func timeFilter(env MacroEnv, col string) string {
	return fmt.Sprintf("%s >= toDateTime(%d) AND %s <= toDateTime(%d)", col, env.From.Unix(), col, env.To.Unix())
}

// dateFilter compares both sides as DateTime: ClickHouse 18.16 compares a
// DateTime column with a Date as plain numbers (seconds against days), so
// the official plugin's "col >= toDate(...)" matches nothing there. Newer
// servers convert the Date the same way, so the answer is the official
// plugin's on every version, for Date and DateTime columns alike.
func dateFilter(env MacroEnv, col string) string {
	return fmt.Sprintf("toDateTime(%s) >= toDateTime(toDate('%s')) AND toDateTime(%s) <= toDateTime(toDate('%s'))",
		col, env.From.UTC().Format(time.DateOnly), col, env.To.UTC().Format(time.DateOnly))
}

// millis spells t as a bound of the time range for macro name, with a
// notice when the server's dialect rounds it to whole seconds.
func (x *expander) millis(name string, t time.Time, lower bool) string {
	ms := t.UnixMilli()
	if !x.env.Dialect.ExactMillis(ms) {
		bound, way := "end", "down"
		if lower {
			bound, way = "start", "up"
		}
		x.notice(fmt.Sprintf("$__%s: ClickHouse %s has no DateTime64, so the range %s %s was rounded %s to %s "+
			"(whole seconds, inward: a DateTime column, whose values are whole seconds, keeps the same rows).",
			name, x.env.Dialect.Version, bound, t.UTC().Format(time.RFC3339Nano), way,
			time.Unix(dialect.RoundMillis(ms, lower), 0).UTC().Format(time.RFC3339)))
	}
	return x.env.Dialect.MillisBound(ms, lower)
}

func intervalSeconds(env MacroEnv) int64 { return max(int64(env.Interval/time.Second), 1) }
func intervalMillis(env MacroEnv) int64  { return max(env.Interval.Milliseconds(), 1) }

// formatInterval spells an interval in its largest whole unit (5m, 2h,
// 30s, 500ms), as $__interval reads in Grafana's SQL data sources.
func formatInterval(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// groupSeconds reads $__timeGroup's period: a Go duration (5m, 1h30m,
// 500ms) or a kpiflow interval (1d, 1w), quoted or not, in whole seconds.
func groupSeconds(period string) (int64, error) {
	p := strings.Trim(strings.TrimSpace(period), `'"`)
	d, err := time.ParseDuration(p)
	if err != nil {
		if d, err = ParseInterval(p); err != nil {
			return 0, fmt.Errorf("the period %q is not a duration such as 5m, 1h or 1d", period)
		}
	}
	s := int64(math.Round(d.Seconds()))
	if s <= 0 {
		return 0, fmt.Errorf("the period %q is under a second; give at least 1s", period)
	}
	return s, nil
}

func fromQueryField(field, v string) (string, error) {
	if v == "" {
		return "", macroErr(field, "the query has no %q field; add one (\"%s\": \"kpi_samples\") or write the name in the SQL", field, field)
	}
	return v, nil
}

// maxMacroDepth bounds nesting through macro arguments.
const maxMacroDepth = 8

// expander expands the macros of one query.
type expander struct {
	env     MacroEnv
	known   map[string]macro
	notices []string
	// adHoc records that a $__adHocFilters was expanded.
	adHoc bool
}

func (x *expander) notice(s string) {
	if !slices.Contains(x.notices, s) {
		x.notices = append(x.notices, s)
	}
}

// ExpandMacros replaces every $__name macro in sql. Macros in string
// literals, quoted identifiers and comments are left as they are (the SQL is
// read with Tokenize). Arguments are split at top-level commas. An unknown
// $__ name, a wrong argument count or an unclosed parenthesis is a
// *MacroError naming the macro; an unclosed quote or comment a
// *SyntaxError.
//
//	x, err := query.ExpandMacros("SELECT count() FROM t WHERE $__timeFilter(ts)", env)
//	// x.SQL: SELECT count() FROM t WHERE ts >= toDateTime(…) AND ts <= toDateTime(…)
//	// x.Notices: what the panel should be told (a bound rounded to seconds)
func ExpandMacros(sql string, env MacroEnv) (Expansion, error) {
	x := &expander{env: env, known: macros()}
	stmt, err := x.statementMacro(sql)
	if err != nil {
		return Expansion{}, err
	}
	out, err := x.expand(stmt, 0)
	if err != nil {
		return Expansion{}, err
	}
	// Text around a macro can spell a new one with its expansion ("$_" then
	// a column "_fromTime"); refuse rather than send a macro to ClickHouse.
	toks, err := Tokenize(out)
	if err != nil {
		return Expansion{}, err
	}
	for _, t := range toks {
		if t.Kind == TokenWord && strings.Contains(t.Text, "$__") {
			return Expansion{}, &MacroError{Macro: "$__", Message: "the expanded SQL still contains " + t.Text + "; write macros whole, not pieced together"}
		}
	}
	if len(env.AdHocFilters) > 0 && !x.adHoc {
		x.notice(fmt.Sprintf("The dashboard's %d ad hoc filter(s) are not applied: this query has no $__adHocFilters('table'). "+
			"Add WHERE $__adHocFilters('table') where they should apply.", len(env.AdHocFilters)))
	}
	return Expansion{SQL: out, Notices: x.notices}, nil
}

// clauseWords start a clause of a SELECT; expand tracks the one it is in.
func clauseWords() []string {
	return []string{"WITH", "SELECT", "FROM", "JOIN", "ON", "USING", "PREWHERE", "WHERE", "GROUP", "HAVING",
		"ORDER", "LIMIT", "SETTINGS", "FORMAT", "UNION", "INTO"}
}

// expand replaces the expression macros of sql.
func (x *expander) expand(sql string, depth int) (string, error) {
	if depth > maxMacroDepth {
		return "", &MacroError{Macro: "$__", Message: fmt.Sprintf("macros nested more than %d deep", maxMacroDepth)}
	}
	toks, err := Tokenize(sql)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	// clause[d] is the clause the tokens at parenthesis depth d are in.
	clause := []string{""}
	var prev Token // the last significant token
	prevOut := 0   // where prev starts in out
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		mark := strings.Index(t.Text, "$__")
		if t.Kind != TokenWord || mark < 0 {
			switch {
			case t.IsPunct("("):
				clause = append(clause, "")
			case t.IsPunct(")") && len(clause) > 1:
				clause = clause[:len(clause)-1]
			case t.Kind == TokenWord && !prev.IsPunct(".") && slices.Contains(clauseWords(), strings.ToUpper(t.Text)):
				clause[len(clause)-1] = strings.ToUpper(t.Text)
			}
			if t.Significant() {
				prev, prevOut = t, out.Len()
			}
			out.WriteString(t.Text)
			continue
		}
		out.WriteString(t.Text[:mark])
		name := t.Text[mark+3:]
		if j := strings.IndexByte(name, '$'); j >= 0 {
			return "", macroErr(name[:j], "a macro name is letters, digits and _: put a space before the $ in %s", t.Text)
		}
		m, ok := x.known[name]
		if !ok {
			if name == "" {
				return "", &MacroError{Macro: "$__", Message: "a macro name must follow $__"}
			}
			return "", macroErr(name, "unknown macro; known macros: %s", strings.Join(MacroNames(), ", "))
		}
		if m.statement != nil {
			return "", macroErr(name, "a statement macro stands in place of a SELECT, at the top level of the query, once: not inside parentheses or another macro")
		}
		args, next, err := macroArgs(name, sql, toks, i)
		if err != nil {
			return "", err
		}
		if err := checkArgs(name, args); err != nil {
			return "", err
		}
		i = next
		if name == "conditionalAll" {
			// Decide on the variable's raw value ($__all is Grafana's marker,
			// not a macro); only the condition is SQL to expand.
			if selectsAll(strings.Join(args[1:], ",")) {
				out.WriteString("1=1")
				continue
			}
			args = args[:1]
		}
		// Arguments are user SQL and may hold macros themselves
		// ($__conditionalAll($__timeFilter(ts), $var)).
		for k, a := range args {
			if strings.Contains(a, "$__") {
				if args[k], err = x.expand(a, depth+1); err != nil {
					return "", err
				}
			}
		}
		at := site{settings: clause[len(clause)-1] == "SETTINGS"}
		text, err := m.expand(x, args, at)
		if err != nil {
			return "", err
		}
		if text == "" && at.settings {
			// A setting that says nothing: drop it with its comma, or the
			// SETTINGS keyword when it was the only one.
			if n := nextSignificant(toks, i+1); n < len(toks) && toks[n].IsPunct(",") && !prev.IsPunct(",") {
				i = n
			} else {
				s := out.String()[:prevOut]
				out.Reset()
				out.WriteString(s)
			}
		}
		out.WriteString(text)
	}
	return out.String(), nil
}

func nextSignificant(toks []Token, i int) int {
	for i < len(toks) && !toks[i].Significant() {
		i++
	}
	return i
}

// macroArgs reads the parenthesised arguments right after the macro at
// toks[i] (none when no parenthesis follows at once) and returns them
// trimmed, with the index of the last token they take.
func macroArgs(name, sql string, toks []Token, i int) ([]string, int, error) {
	if i+1 >= len(toks) || !toks[i+1].IsPunct("(") {
		return nil, i, nil
	}
	var args []string
	depth, start := 0, toks[i+1].End
	for k := i + 1; k < len(toks); k++ {
		switch {
		case toks[k].IsPunct("(") || toks[k].IsPunct("[") || toks[k].IsPunct("{"):
			depth++
		case toks[k].IsPunct(")") || toks[k].IsPunct("]") || toks[k].IsPunct("}"):
			depth--
			if depth == 0 {
				if !toks[k].IsPunct(")") {
					return nil, 0, macroErr(name, "the arguments' brackets do not match")
				}
				return append(args, trimSQL(sql[start:toks[k].Start])), k, nil
			}
		case toks[k].IsPunct(",") && depth == 1:
			args = append(args, trimSQL(sql[start:toks[k].Start]))
			start = toks[k].End
		}
	}
	return nil, 0, macroErr(name, "missing closing parenthesis")
}

// trimSQL trims the spaces around a piece of SQL, but keeps the line end
// after a line comment that ends it, so that text put after it stays code.
func trimSQL(s string) string {
	s = strings.TrimSpace(s)
	toks, err := Tokenize(s)
	if err == nil && len(toks) > 0 {
		if last := toks[len(toks)-1]; last.Kind == TokenComment && !strings.HasPrefix(last.Text, "/*") {
			s += "\n"
		}
	}
	return s
}

// argCounts is how many arguments each macro takes, from MacroDocs: the
// names of its arguments, the last repeating when it ends in "...".
func argCounts() map[string]struct{ min, max int } {
	out := map[string]struct{ min, max int }{}
	for _, d := range MacroDocs() {
		n := len(d.Args)
		c := struct{ min, max int }{n, n}
		if n > 0 && strings.HasSuffix(d.Args[n-1], "...") {
			c.max = -1
		}
		out[strings.TrimPrefix(d.Name, "$__")] = c
	}
	return out
}

// usage spells a macro with its arguments' names, for messages.
func usage(name string) string {
	for _, d := range MacroDocs() {
		if d.Name == "$__"+name && len(d.Args) > 0 {
			return d.Name + "(" + strings.Join(d.Args, ", ") + ")"
		}
	}
	return "$__" + name
}

func checkArgs(name string, args []string) error {
	if len(args) == 1 && args[0] == "" {
		args = nil // $__name() has no arguments
	}
	c := argCounts()[name]
	if c.max == 0 {
		if len(args) > 0 {
			return macroErr(name, "takes no arguments")
		}
		return nil
	}
	count := func(n int) string {
		return []string{"no arguments", "one argument", "two arguments", "three arguments"}[n]
	}
	switch {
	case c.max < 0 && len(args) < c.min:
		return macroErr(name, "expects at least %s, as in %s", count(c.min), usage(name))
	case c.max > 0 && len(args) != c.max:
		return macroErr(name, "expects %s, as in %s", count(c.max), usage(name))
	}
	for i, a := range args {
		// $__conditionalAll's variable may be empty: nothing selected.
		if a == "" && !(name == "conditionalAll" && i > 0) {
			return macroErr(name, "has an empty argument; write it as %s", usage(name))
		}
	}
	return nil
}

// allVarRe matches a variable reference left unexpanded ($team, ${team},
// ${team:csv}, [[team]]): the frontend leaves it so when nothing narrows it.
var allVarRe = regexp.MustCompile(`^(\$[A-Za-z0-9_]+|\$\{[A-Za-z0-9_]+(:[A-Za-z0-9_]+)?\}|\[\[[A-Za-z0-9_]+\]\])$`)

// selectsAll reports whether a variable's expanded value means "no
// restriction": empty, Grafana's $__all marker, or an unexpanded reference.
func selectsAll(v string) bool {
	v = strings.TrimSpace(v)
	for len(v) >= 2 && (v[0] == '\'' || v[0] == '"' || v[0] == '(' || v[0] == '{') {
		last := v[len(v)-1]
		if !(v[0] == '\'' && last == '\'' || v[0] == '"' && last == '"' || v[0] == '(' && last == ')' || v[0] == '{' && last == '}') {
			break
		}
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	return v == "" || v == "$__all" || v == "__all" || allVarRe.MatchString(v)
}
