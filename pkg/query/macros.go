package query

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpiflow/kpiflow/pkg/dialect"
)

// TypeSQL is the raw SQL query type.
const TypeSQL = "sql"

// SQLQuery is the JSON of a queryType "sql" query.
type SQLQuery struct {
	Common
	// RawSQL is the user's SQL, with macros (ExpandMacros).
	RawSQL string `json:"rawSql"`
	// Format is FormatTable (the default) or FormatTimeSeries.
	Format string `json:"format"`
	// AdHocFilters are the dashboard's ad hoc filters, applied where the SQL
	// says $__adHocFilters('table').
	AdHocFilters []AdHocFilter `json:"adhocFilters"`
}

// AdHocFilter is one ad hoc filter as Grafana sends it.
type AdHocFilter struct {
	Key      string `json:"key"`
	Operator string `json:"operator"`
	Value    string `json:"value"`
	// Values are the operands of the one-of operators "=|" and "!=|".
	Values []string `json:"values,omitempty"`
}

// ParseSQLQuery reads a queryType "sql" query strictly: rawSql is required,
// format defaults to table, and unknown fields are errors naming the field.
//
//	q, err := query.ParseSQLQuery([]byte(`{"rawSql": "SELECT 1", "format": "timeseries"}`))
func ParseSQLQuery(raw []byte) (SQLQuery, error) {
	var q SQLQuery
	// encoding/json matches keys case-insensitively; strict means exact, so
	// "rawSQL" is an unknown field rather than a silent second rawSql.
	if err := exactKeys(raw); err != nil {
		return SQLQuery{}, err
	}
	if err := decodeStrict(raw, &q); err != nil {
		return SQLQuery{}, err
	}
	if strings.TrimSpace(q.RawSQL) == "" {
		return SQLQuery{}, fieldErr("rawSql", "required; write a SELECT query")
	}
	switch q.Format {
	case "":
		q.Format = FormatTable
	case FormatTable, FormatTimeSeries:
	default:
		return SQLQuery{}, fieldErr("format", "unknown format %q; expected %q or %q", q.Format, FormatTable, FormatTimeSeries)
	}
	for i, f := range q.AdHocFilters {
		if err := f.validate(fmt.Sprintf("adhocFilters[%d]", i)); err != nil {
			return SQLQuery{}, err
		}
	}
	return q, nil
}

// exactKeys rejects keys that match SQLQuery's fields only when case is
// ignored, in the query and in each ad hoc filter.
func exactKeys(raw []byte) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil // decodeStrict reports the shape
	}
	known := append([]string{"refId", "queryType", "hide", "live", "rawSql", "format", "adhocFilters"}, grafanaKeys()...)
	for k := range m {
		if !slices.Contains(known, k) {
			return fieldErr(k, "unknown field; expected rawSql, format or adhocFilters")
		}
	}
	var filters []map[string]json.RawMessage
	if json.Unmarshal(m["adhocFilters"], &filters) != nil {
		return nil
	}
	for i, f := range filters {
		for k := range f {
			if !slices.Contains([]string{"key", "operator", "value", "values"}, k) {
				return fieldErr(fmt.Sprintf("adhocFilters[%d].%s", i, k), "unknown field; expected key, operator, value or values")
			}
		}
	}
	return nil
}

// adHocKeyRe allows a column or table.column; keys reach the SQL unquoted,
// so nothing else may pass.
var adHocKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

func adHocOperators() []string {
	return []string{"=", "!=", "<", ">", "<=", ">=", "=~", "!~", "=|", "!=|"}
}

func (f AdHocFilter) validate(field string) error {
	if !adHocKeyRe.MatchString(f.Key) {
		return fieldErr(field+".key", "%q is not a column name (letters, digits and _, optionally table.column)", f.Key)
	}
	if !slices.Contains(adHocOperators(), f.Operator) {
		return fieldErr(field+".operator", "unknown operator %q; expected one of %s", f.Operator, strings.Join(adHocOperators(), " "))
	}
	return nil
}

// MacroEnv is what macros expand with.
type MacroEnv struct {
	// From and To are the query's time range.
	From, To time.Time
	// Interval is the query's interval (Grafana's suggested bucket width).
	Interval time.Duration
	// AdHocFilters are applied by $__adHocFilters.
	AdHocFilters []AdHocFilter
	// Dialect is the server's: the _ms bounds are exact where it has
	// fromUnixTimestamp64Milli, whole seconds elsewhere (see MillisBound).
	Dialect dialect.Dialect
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

// macro is one macro's expansion; args is nil for a macro used without
// parentheses.
type macro struct {
	// nargs is the number of arguments: 0 for none, -1 for "2 or more"
	// ($__conditionalAll, whose variable may expand to a comma list).
	nargs  int
	expand func(env MacroEnv, args []string) (string, error)
}

// macros are those of Grafana's ClickHouse data source, plus Grafana's
// global $__from, $__to and $__interval_ms, which alert rules send unexpanded.
func macros() map[string]macro {
	return map[string]macro{
		"timeFilter": {1, func(env MacroEnv, a []string) (string, error) {
			return fmt.Sprintf("%s >= toDateTime(%d) AND %s <= toDateTime(%d)", a[0], env.From.Unix(), a[0], env.To.Unix()), nil
		}},
		"timeFilter_ms": {1, func(env MacroEnv, a []string) (string, error) {
			return fmt.Sprintf("%s >= %s AND %s <= %s", a[0], fromMs(env), a[0], toMs(env)), nil
		}},
		"dateFilter": {1, func(env MacroEnv, a []string) (string, error) {
			// Both sides as DateTime: ClickHouse 18.16 compares a DateTime
			// column with a Date as plain numbers (seconds against days), so
			// the official plugin's "col >= toDate(...)" matches nothing there.
			// Newer servers convert the Date the same way, so the answer is
			// the official plugin's on every version, for Date and DateTime
			// columns alike.
			return fmt.Sprintf("toDateTime(%s) >= toDateTime(toDate('%s')) AND toDateTime(%s) <= toDateTime(toDate('%s'))",
				a[0], env.From.UTC().Format(time.DateOnly), a[0], env.To.UTC().Format(time.DateOnly)), nil
		}},
		"timeInterval": {1, func(env MacroEnv, a []string) (string, error) {
			return dialect.Bucket(a[0], intervalSeconds(env)), nil
		}},
		"timeInterval_ms": {1, func(env MacroEnv, a []string) (string, error) {
			return dialect.BucketMillis(a[0], intervalMillis(env)), nil
		}},
		"interval_s": {0, func(env MacroEnv, _ []string) (string, error) {
			return strconv.FormatInt(intervalSeconds(env), 10), nil
		}},
		"interval_ms": {0, func(env MacroEnv, _ []string) (string, error) { return strconv.FormatInt(intervalMillis(env), 10), nil }},
		"fromTime": {0, func(env MacroEnv, _ []string) (string, error) {
			return fmt.Sprintf("toDateTime(%d)", env.From.Unix()), nil
		}},
		"toTime": {0, func(env MacroEnv, _ []string) (string, error) {
			return fmt.Sprintf("toDateTime(%d)", env.To.Unix()), nil
		}},
		"fromTime_ms": {0, func(env MacroEnv, _ []string) (string, error) { return fromMs(env), nil }},
		"toTime_ms":   {0, func(env MacroEnv, _ []string) (string, error) { return toMs(env), nil }},
		"from": {0, func(env MacroEnv, _ []string) (string, error) {
			return strconv.FormatInt(env.From.UnixMilli(), 10), nil
		}},
		"to": {0, func(env MacroEnv, _ []string) (string, error) { return strconv.FormatInt(env.To.UnixMilli(), 10), nil }},
		"conditionalAll": {-1, func(_ MacroEnv, a []string) (string, error) {
			if selectsAll(strings.Join(a[1:], ",")) {
				return "1=1", nil
			}
			return a[0], nil
		}},
		"adHocFilters": {1, adHocFilters},
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

// fromMs and toMs are the _ms bounds of the time range.
func fromMs(env MacroEnv) string { return env.Dialect.MillisBound(env.From.UnixMilli(), true) }
func toMs(env MacroEnv) string   { return env.Dialect.MillisBound(env.To.UnixMilli(), false) }

func intervalSeconds(env MacroEnv) int64 { return max(int64(env.Interval/time.Second), 1) }
func intervalMillis(env MacroEnv) int64  { return max(env.Interval.Milliseconds(), 1) }

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

// adHocFilters expands $__adHocFilters('table') into the filters whose key
// is a plain column or table.column of that table, joined with AND (1=1 when
// none apply). Keys are validated identifiers; values become escaped string
// literals (numbers for comparisons), never SQL.
func adHocFilters(env MacroEnv, a []string) (string, error) {
	table := unquote(a[0])
	if !adHocKeyRe.MatchString(table) {
		return "", macroErr("adHocFilters", "expects a table name like 'kpi_samples', got %s", a[0])
	}
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		table = table[i+1:] // db.table: keys name the table alone
	}
	var conds []string
	for i, f := range env.AdHocFilters {
		if err := f.validate(fmt.Sprintf("adhocFilters[%d]", i)); err != nil {
			return "", err
		}
		col := f.Key
		if t, c, ok := strings.Cut(f.Key, "."); ok {
			if t != table {
				continue
			}
			col = c
		}
		conds = append(conds, adHocCondition(col, f))
	}
	if len(conds) == 0 {
		return "1=1", nil
	}
	return "(" + strings.Join(conds, " AND ") + ")", nil
}

func adHocCondition(col string, f AdHocFilter) string {
	col = dialect.Quote(col)
	switch f.Operator {
	case "=~":
		return fmt.Sprintf("match(toString(%s), %s)", col, sqlString(f.Value))
	case "!~":
		return fmt.Sprintf("NOT match(toString(%s), %s)", col, sqlString(f.Value))
	case "=|", "!=|":
		vals := f.Values
		if len(vals) == 0 {
			vals = []string{f.Value}
		}
		lits := make([]string, len(vals))
		for i, v := range vals {
			lits[i] = sqlString(v)
		}
		op := "IN"
		if f.Operator == "!=|" {
			op = "NOT IN"
		}
		return fmt.Sprintf("toString(%s) %s (%s)", col, op, strings.Join(lits, ", "))
	case "<", ">", "<=", ">=":
		if n, err := strconv.ParseFloat(f.Value, 64); err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) {
			return fmt.Sprintf("%s %s %s", col, f.Operator, strconv.FormatFloat(n, 'g', -1, 64))
		}
		return fmt.Sprintf("%s %s %s", col, f.Operator, sqlString(f.Value))
	}
	// = and != compare as text, so the filter works on String, Enum, number
	// and date columns alike (ClickHouse 18.16 does not compare a number
	// column with a string literal).
	return fmt.Sprintf("toString(%s) %s %s", col, f.Operator, sqlString(f.Value))
}

// sqlString quotes s as a ClickHouse string literal. Backslash and quote are
// escaped, control characters and $ are written as \xHH so the literal is one
// line and never looks like a macro to a later expansion.
func sqlString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f || c == '$':
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"' || s[0] == '`') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// maxMacroDepth bounds nesting through $__conditionalAll's condition.
const maxMacroDepth = 8

// ExpandMacros replaces every $__name macro in sql. Arguments are split at
// top-level commas, with nested parentheses and quoted strings respected.
// An unknown $__ name, a missing argument or an unclosed parenthesis is a
// *MacroError naming the macro.
//
//	sql, err := query.ExpandMacros("SELECT count() FROM t WHERE $__timeFilter(ts)", env)
func ExpandMacros(sql string, env MacroEnv) (string, error) {
	out, err := expand(sql, env, macros(), 0)
	if err != nil {
		return "", err
	}
	// Text around a macro can spell a new one with its expansion ("$_" then
	// a column "_fromTime"); refuse rather than send a macro to ClickHouse.
	if strings.Contains(out, "$__") {
		return "", &MacroError{Macro: "$__", Message: "the expanded SQL still contains $__; write macros whole, not pieced together"}
	}
	return out, nil
}

func expand(sql string, env MacroEnv, known map[string]macro, depth int) (string, error) {
	if depth > maxMacroDepth {
		return "", &MacroError{Macro: "$__", Message: fmt.Sprintf("macros nested more than %d deep", maxMacroDepth)}
	}
	var out strings.Builder
	i := 0
	for {
		j := strings.Index(sql[i:], "$__")
		if j < 0 {
			out.WriteString(sql[i:])
			return out.String(), nil
		}
		out.WriteString(sql[i : i+j])
		start := i + j + 3
		end := start
		for end < len(sql) && isIdentByte(sql[end]) {
			end++
		}
		name := sql[start:end]
		m, ok := known[name]
		if !ok {
			if name == "" {
				return "", &MacroError{Macro: "$__", Message: "a macro name must follow $__"}
			}
			return "", macroErr(name, "unknown macro; known macros: %s", strings.Join(MacroNames(), ", "))
		}
		var args []string
		var err error
		next := end
		if end < len(sql) && sql[end] == '(' {
			a, closing, err := splitMacroArgs(sql, end)
			if err != nil {
				return "", macroErr(name, "%v", err)
			}
			args, next = a, closing+1
		}
		if err := checkArgs(name, m.nargs, args); err != nil {
			return "", err
		}
		if name == "conditionalAll" {
			// Decide on the variable's raw value ($__all is Grafana's marker,
			// not a macro); only the condition is SQL to expand.
			if selectsAll(strings.Join(args[1:], ",")) {
				out.WriteString("1=1")
				i = next
				continue
			}
			args = append(args[:1:1], strings.Join(args[1:], ","))
		}
		// Arguments are user SQL and may hold macros themselves
		// ($__conditionalAll($__timeFilter(ts), $var)).
		for k, a := range args {
			if strings.Contains(a, "$__") && !(name == "conditionalAll" && k > 0) {
				if args[k], err = expand(a, env, known, depth+1); err != nil {
					return "", err
				}
			}
		}
		text, err := m.expand(env, args)
		if err != nil {
			return "", err
		}
		out.WriteString(text)
		i = next
	}
}

func checkArgs(name string, nargs int, args []string) error {
	switch {
	case nargs == 0:
		if len(args) > 1 || len(args) == 1 && args[0] != "" {
			return macroErr(name, "takes no arguments")
		}
	case nargs == -1:
		if len(args) < 2 || strings.TrimSpace(args[0]) == "" {
			return macroErr(name, "expects (condition, $variable)")
		}
	default:
		if len(args) != nargs || strings.TrimSpace(args[0]) == "" {
			if name == "adHocFilters" {
				return macroErr(name, "expects one argument, the table name: $__adHocFilters('table')")
			}
			return macroErr(name, "expects one argument, a column or expression: $__%s(column)", name)
		}
	}
	return nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// splitMacroArgs reads the parenthesised argument list opening at sql[open]
// and returns the trimmed arguments and the index of the closing parenthesis.
func splitMacroArgs(sql string, open int) ([]string, int, error) {
	var args []string
	depth := 0
	start := open + 1
	for i := open; i < len(sql); i++ {
		c := sql[i]
		switch c {
		case '\'', '"', '`':
			end, err := quoted(sql, i, "quote")
			if err != nil {
				return nil, 0, fmt.Errorf("unterminated %c quote in the arguments", c)
			}
			i = end - 1
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return append(args, strings.TrimSpace(sql[start:i])), i, nil
			}
		case ',':
			if depth == 1 {
				args = append(args, strings.TrimSpace(sql[start:i]))
				start = i + 1
			}
		}
	}
	return nil, 0, fmt.Errorf("missing closing parenthesis")
}
