package query

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// RawSQLPolicy is what a raw SQL query may reach (CheckRawSQL).
type RawSQLPolicy struct {
	// Database is the data source's database: unqualified names resolve to
	// it, and it may always be read.
	Database string
	// Databases are further databases the query may read (the data
	// source's rawSqlDatabases setting), such as "system".
	Databases []string
	// Functions are table functions and functions allowed beyond the safe
	// ones (the data source's rawSqlFunctions setting); naming a refused
	// one (url, remote, …) here allows it.
	Functions []string
	// ServerDatabases are the databases the server has. A qualified name
	// whose first part is one of them, and not allowed, is refused wherever
	// it stands, not only where a table is expected.
	ServerDatabases []string
	// ManagedSettings are the settings kpiflow sets on every query
	// (read-only mode, the timeout, the result caps, the data source's
	// custom settings): a query may not change them (SETTINGS name = value).
	ManagedSettings []string
}

// RawSQLError is a raw SQL query refused by CheckRawSQL, with where in the
// text the refused part starts.
type RawSQLError struct {
	Offset, Line, Column int
	Message              string
}

func (e *RawSQLError) Error() string {
	return fmt.Sprintf("rawSql: %s (line %d, column %d)", e.Message, e.Line, e.Column)
}

// refusedFunctions reach files, the network, other servers or other
// databases' data, as table functions or as functions (lower case). FROM
// takes only safeTableFunctions anyway; this list also catches these (and
// the plain functions among them, such as file()) wherever else they stand.
// Names starting with "dict" (dictGet…, dictHas…) are refused too.
var refusedFunctions = []string{
	"url", "urlcluster", "remote", "remotesecure", "cluster", "clusterallreplicas",
	"file", "filecluster", "s3", "s3cluster", "gcs", "oss", "cosn", "hdfs", "hdfscluster",
	"mysql", "postgresql", "jdbc", "odbc", "executable", "executablepool", "input",
	"mongodb", "mongo", "redis", "sqlite", "azureblobstorage", "azureblobstoragecluster",
	"deltalake", "deltalakecluster", "deltalakes3", "deltalakeazure", "deltalakelocal",
	"hudi", "hudicluster", "iceberg", "icebergs3", "icebergazure", "iceberghdfs", "iceberglocal",
	"icebergcluster", "icebergs3cluster", "icebergazurecluster", "iceberghdfscluster",
	"paimon", "paimons3", "paimonazure", "paimonhdfs", "paimonlocal", "arrowflight", "ytsaurus",
	"prometheusquery", "prometheusqueryrange", "timeseriesdata", "timeseriesmetrics", "timeseriestags",
	"merge", "loop", "dictionary", "mergetreeindex", "mergetreeanalyzeindexes", "mergetreeparts",
	"joinget", "joingetornull", "hascolumnintable", "catboostevaluate", "modelevaluate",
}

// safeTableFunctions may stand in FROM without a setting: they generate rows
// or wrap a query, and read nothing else.
var safeTableFunctions = []string{
	"numbers", "numbers_mt", "zeros", "zeros_mt", "generaterandom", "values", "null", "view",
	"format", "generate_series", "generateseries",
}

// systemConstants are the system tables any query may read: they generate
// rows and hold nobody's data (SELECT 1 FROM system.one).
var systemConstants = []string{"one", "numbers", "numbers_mt", "zeros", "zeros_mt"}

// RefusedFunctions lists, in lower case, the functions and table functions
// CheckRawSQL refuses unless RawSQLPolicy.Functions names them; names
// starting with "dict" are refused too.
func RefusedFunctions() []string { return slices.Clone(refusedFunctions) }

// SafeTableFunctions lists, in lower case, the table functions FROM may use
// without RawSQLPolicy.Functions.
func SafeTableFunctions() []string { return slices.Clone(safeTableFunctions) }

// CheckRawSQL refuses raw SQL (macros expanded: the text sent to ClickHouse)
// that may not run on a Viewer's behalf under p, with a *RawSQLError naming
// the refused part and where it stands: anything but one SELECT (or
// WITH … SELECT), a function or table function that reaches files, the
// network, other servers or other databases, a table of a database p does
// not allow, INTO OUTFILE, or a change of a managed setting. Text
// ClickHouse versions read differently is refused too (see Notes); text
// the tokenizer cannot read is its *SyntaxError.
//
//	err := query.CheckRawSQL(sql, query.RawSQLPolicy{Database: "kpiflow",
//		ServerDatabases: dbs, ManagedSettings: store.ManagedSettings(s)})
//
// # Notes
//
// The check reads Tokenize's tokens, so quotes, comments and spacing cannot
// hide a call from it, and refuses where ClickHouse's lexers differ from
// Tokenize or from each other: a /* inside a block comment (current
// releases nest them, 18.16 ends the comment at the first */), a byte
// outside ASCII outside quotes (current releases skip Unicode spaces there,
// which would join `url` and `(`), a backslash in a quoted identifier
// (ClickHouse decodes `u\x72l` to url) and a $ outside quotes once macros
// are expanded (current releases read $tag$…$tag$ with any tag as a
// string; 18.16 refuses any $).
func CheckRawSQL(sql string, p RawSQLPolicy) error {
	all, err := Tokenize(sql)
	if err != nil {
		return err
	}
	c := rawChecker{sql: sql, p: p}
	for _, t := range all {
		if err := c.readable(t); err != nil {
			return err
		}
		if t.Significant() {
			c.toks = append(c.toks, t)
		}
	}
	return c.check()
}

// rawChecker walks the significant tokens of one query.
type rawChecker struct {
	sql  string
	toks []Token
	p    RawSQLPolicy
}

func (c *rawChecker) fail(offset int, format string, args ...any) error {
	offset = min(max(offset, 0), len(c.sql))
	line := 1 + strings.Count(c.sql[:offset], "\n")
	col := 1 + utf8.RuneCountInString(c.sql[strings.LastIndexByte(c.sql[:offset], '\n')+1:offset])
	return &RawSQLError{Offset: offset, Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

func (c *rawChecker) failAt(i int, format string, args ...any) error {
	offset := len(c.sql)
	if i < len(c.toks) {
		offset = c.toks[i].Start
	}
	return c.fail(offset, format, args...)
}

func (c *rawChecker) tok(i int) Token {
	if i < 0 || i >= len(c.toks) {
		return Token{}
	}
	return c.toks[i]
}

// readable refuses a token that ClickHouse's lexers may read other than
// Tokenize does (see CheckRawSQL's notes).
func (c *rawChecker) readable(t Token) error {
	switch {
	case t.Kind == TokenComment && strings.HasPrefix(t.Text, "/*") && strings.Contains(t.Text[2:], "/*"):
		return c.fail(t.Start, "a /* comment inside a /* comment: ClickHouse versions end such comments at different places")
	case t.Kind == TokenQuotedIdent && strings.Contains(t.Text, `\`):
		return c.fail(t.Start, "a backslash in a quoted identifier: write the name without escapes")
	case (t.Kind == TokenWord || t.Kind == TokenPunct) && strings.Contains(t.Text, "$"):
		return c.fail(t.Start, "a $ outside quotes: only macros ($__name) and Grafana variables are written with $, and both are expanded before the query runs")
	case t.Kind == TokenPunct && t.Text[0] >= utf8.RuneSelf:
		return c.fail(t.Start, "the character %q outside quotes: ClickHouse versions read it differently (a space or an error); quote names that need it", t.Text)
	case t.Kind == TokenPunct && t.Text[0] < ' ':
		return c.fail(t.Start, "a control character (0x%02x) outside quotes", t.Text[0])
	}
	return nil
}

// rawScope is one level of parentheses: whether it holds a query (its first
// token is SELECT or WITH), and whether a comma there separates the tables
// of a FROM list.
type rawScope struct {
	query    bool
	fromList bool
}

func (c *rawChecker) check() error {
	first := 0
	for c.tok(first).IsPunct("(") {
		first++
	}
	if !c.tok(first).IsWord("select") && !c.tok(first).IsWord("with") {
		if first >= len(c.toks) {
			return c.failAt(first, "the query is empty: write a SELECT query")
		}
		return c.failAt(first, "raw SQL is read-only: only a SELECT query (or WITH … SELECT) runs, not %s", strings.ToUpper(c.tok(first).Text))
	}
	scopes := []rawScope{{query: true}}
	atTable := false // the token at hand stands where a table is named
	for i, t := range c.toks {
		top := &scopes[len(scopes)-1]
		table := atTable
		atTable = false
		switch {
		case t.IsPunct("("):
			next := c.tok(i + 1)
			scopes = append(scopes, rawScope{query: next.IsWord("select") || next.IsWord("with")})
			continue
		case t.IsPunct(")"):
			if len(scopes) == 1 {
				return c.failAt(i, "a ) closes no (")
			}
			scopes = scopes[:len(scopes)-1]
			continue
		case t.IsPunct(";"):
			if i != len(c.toks)-1 {
				return c.failAt(i+1, "raw SQL is one query: nothing may follow the ;")
			}
			continue
		case t.IsPunct(","):
			atTable = top.fromList
			continue
		case t.IsWord("from"):
			// FROM inside a function's parentheses (extract(DAY FROM ts),
			// trim(BOTH ' ' FROM s)) names no table.
			if top.query {
				top.fromList, atTable = true, true
			}
			continue
		case t.IsWord("join"):
			// ARRAY JOIN takes expressions, not tables.
			atTable = !c.tok(i - 1).IsWord("array")
			continue
		case t.IsWord("in"):
			// x IN db.table reads that table.
			atTable = true
			continue
		case t.IsWord("into"):
			return c.failAt(i, "raw SQL may not write its result anywhere (INTO OUTFILE)")
		case t.Kind == TokenWord && endsFromList(t.Text):
			top.fromList = false
			continue
		}
		name, ok := tokenName(t)
		if !ok {
			continue
		}
		if err := c.name(i, name, table, c.tok(i-1).IsPunct(".")); err != nil {
			return err
		}
	}
	return nil
}

// tokenName is the name a word or quoted identifier stands for (doubled
// quotes undone).
func tokenName(t Token) (string, bool) {
	switch t.Kind {
	case TokenWord:
		return t.Text, true
	case TokenQuotedIdent:
		q := t.Text[:1]
		return strings.ReplaceAll(t.Text[1:len(t.Text)-1], q+q, q), true
	}
	return "", false
}

// endsFromList reports keywords after which a comma no longer separates the
// tables of a FROM list.
func endsFromList(w string) bool {
	switch strings.ToLower(w) {
	case "where", "prewhere", "group", "order", "limit", "having", "settings", "format", "union",
		"intersect", "except", "window", "qualify", "array", "on", "using", "sample", "final":
		return true
	}
	return false
}

// name checks the name at token i: a call, a qualified name
// (database.table) or a managed setting being set. table says the name
// stands where a table is named; afterDot that it is the second part of a
// qualified name.
func (c *rawChecker) name(i int, name string, table, afterDot bool) error {
	lower := strings.ToLower(name)
	next := c.tok(i + 1)
	switch {
	case next.IsPunct("("):
		if c.refused(lower) {
			return c.failAt(i, "%s() reaches files, the network, other servers or other databases and is refused in raw SQL; "+
				"an administrator can allow it by name in the data source's rawSqlFunctions setting", name)
		}
		if table && !slices.Contains(safeTableFunctions, lower) && !c.allowed(lower) {
			return c.failAt(i, "the table function %s() is not allowed in raw SQL (allowed: %s); "+
				"an administrator can allow it by name in the data source's rawSqlFunctions setting",
				name, strings.Join(safeTableFunctions, ", "))
		}
	case afterDot:
	case next.IsPunct("."):
		if second, ok := tokenName(c.tok(i + 2)); ok {
			return c.database(i, name, second, table)
		}
	case next.IsPunct("=") || next.IsPunct("=="):
		for _, s := range c.p.ManagedSettings {
			if strings.EqualFold(s, name) {
				return c.failAt(i, "raw SQL may not change the setting %s: kpiflow sets it on every query "+
					"(read-only mode, the Query timeout, the result caps and the data source's custom settings)", name)
			}
		}
	}
	return nil
}

// database checks a qualified name db.second (a table, or table.column).
func (c *rawChecker) database(i int, db, second string, table bool) error {
	if db == c.p.Database || slices.Contains(c.p.Databases, db) ||
		db == "system" && slices.Contains(systemConstants, strings.ToLower(second)) {
		return nil
	}
	known := slices.Contains(c.p.ServerDatabases, db) || strings.EqualFold(db, "system") || strings.EqualFold(db, "information_schema")
	if !table && !known {
		return nil // table.column, alias.column, tuple.element
	}
	return c.failAt(i, "raw SQL may read only the database %q, not %s.%s; an administrator can allow more databases "+
		"in the data source's rawSqlDatabases setting", c.p.Database, db, second)
}

func (c *rawChecker) allowed(lower string) bool {
	return slices.ContainsFunc(c.p.Functions, func(a string) bool { return strings.EqualFold(a, lower) })
}

func (c *rawChecker) refused(lower string) bool {
	return !c.allowed(lower) && (slices.Contains(refusedFunctions, lower) || strings.HasPrefix(lower, "dict"))
}
