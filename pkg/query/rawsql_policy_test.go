package query

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func rawPolicy() RawSQLPolicy {
	return RawSQLPolicy{
		Database:        "kpiflow",
		ServerDatabases: []string{"default", "kpiflow", "secrets", "system"},
		ManagedSettings: []string{"readonly", "max_execution_time", "max_result_bytes", "result_overflow_mode"},
	}
}

// TestCheckRawSQLAccepts: queries a dashboard writes pass.
func TestCheckRawSQLAccepts(t *testing.T) {
	for _, sql := range []string{
		"SELECT 1",
		"(SELECT 1)",
		"select count() from kpi_samples;",
		"SELECT toDateTime(intDiv(toUInt32(ts), 60) * 60) AS time, team, avg(value) AS v FROM kpi_samples WHERE ts >= toDateTime(1) GROUP BY time, team ORDER BY time",
		"SELECT k.metric, k.value FROM kpiflow.kpi_samples AS k JOIN kpiflow.teams AS t ON k.team = t.team",
		"WITH x AS (SELECT 1 AS a) SELECT a FROM x",
		"SELECT * FROM numbers(10), zeros(3)",
		"SELECT 1 FROM system.one",
		"SELECT count() FROM (SELECT sleepEachRow(0.5) FROM system.numbers LIMIT 200 SETTINGS max_block_size = 1)",
		"SELECT extract(DAY FROM kpi_samples.ts), trim(BOTH ' ' FROM team), substring(team FROM 1 FOR 2) FROM kpi_samples",
		"SELECT count() FROM kpi_samples WHERE team IN (SELECT team FROM teams) AND metric IN ('a', 'b')",
		"SELECT arr FROM t ARRAY JOIN label_keys AS arr, label_values AS v",
		"SELECT 1 SETTINGS max_threads = 1, max_block_size = 8192",
		"SELECT 'url(''http://x'')', `remote`, \"file\", $$url('x')$$ FROM t -- url('x')",
		"SELECT tup.1, nested.x, 'é' AS `é` FROM t /* é */",
		"SELECT * FROM view(SELECT 1)",
		"SELECT domain(url), URLHierarchy(url) FROM t",
		"SELECT 1 FROM kpi_samples FINAL SAMPLE 0.1, numbers(1)",
	} {
		t.Run(sql, func(t *testing.T) {
			require.NoError(t, CheckRawSQL(sql, rawPolicy()))
		})
	}
}

// TestCheckRawSQLRefuses is the unit half of the hostile-input suite; the
// plugin half sends such queries to a real server
// (pkg/plugin/rawsql_hostile_integration_test.go).
func TestCheckRawSQLRefuses(t *testing.T) {
	cases := []struct{ name, sql, want string }{
		{"empty", "  -- nothing\n", "the query is empty"},
		{"kill", "KILL QUERY WHERE 1", "only a SELECT query (or WITH … SELECT) runs, not KILL (line 1, column 1)"},
		{"kill in parens", "((KILL QUERY WHERE 1))", "not KILL"},
		{"insert", "INSERT INTO kpi_samples SELECT * FROM kpi_samples", "not INSERT"},
		{"set", "SET readonly = 0", "not SET"},
		{"system", "SYSTEM SHUTDOWN", "not SYSTEM"},
		{"second statement", "SELECT 1; KILL QUERY WHERE 1", "nothing may follow the ;"},
		{"second select", "SELECT 1;SELECT 2", "nothing may follow the ;"},
		{"url", "SELECT * FROM url('http://127.0.0.1:8080/', CSV, 'a String')", "url() reaches files"},
		{"url upper", "SELECT * FROM URL('http://x', CSV, 'a String')", "URL() reaches files"},
		{"url quoted", "SELECT * FROM `url`('http://x', CSV, 'a String')", "url() reaches"},
		{"url escaped", "SELECT * FROM `u\\x72l`('http://x', CSV, 'a String')", "backslash in a quoted identifier"},
		{"url after comment", "SELECT 1 /* */ , (SELECT * FROM url('http://x', CSV, 'a String'))", "url() reaches"},
		{"url after line comment", "SELECT 1 -- x\n FROM url('http://x', CSV, 'a String')", "rawSqlFunctions setting (line 2, column 7)"},
		{"url after slash comment", "SELECT 1 // '\n FROM url('http://x', CSV, 'a String') -- '", "url() reaches"},
		{"url in nested comment", "SELECT 1 /* /* */ FROM url('http://x') -- */", "inside a /* comment"},
		{"url behind a heredoc tag", "SELECT $x y$ ' $x y$, url('http://x') -- '", "a $ outside quotes"},
		{"url behind nbsp", "SELECT * FROM url\u00a0('http://x')", "outside quotes: ClickHouse versions read it differently"},
		{"control character", "SELECT\x01 1", "control character (0x01)"},
		{"url in join", "SELECT * FROM numbers(1) AS n JOIN url('http://x', CSV, 'number UInt64') USING number", "url() reaches"},
		{"url in IN", "SELECT 1 WHERE 1 IN url('http://x', CSV, 'a UInt8')", "url() reaches"},
		{"url in lambda", "SELECT arrayMap(x -> url(x), ['a'])", "url() reaches"},
		{"url in view", "SELECT * FROM view(SELECT * FROM url('http://x', CSV, 'a String'))", "url() reaches"},
		{"remote", "SELECT * FROM remote('127.0.0.1:9000', system.one)", "remote() reaches"},
		{"remoteSecure", "SELECT * FROM remoteSecure('h', db, t)", "remoteSecure() reaches"},
		{"cluster", "SELECT * FROM cluster('c', kpiflow, kpi_samples)", "cluster() reaches"},
		{"clusterAllReplicas", "SELECT * FROM clusterAllReplicas('c', kpiflow.kpi_samples)", "clusterAllReplicas() reaches"},
		{"file", "SELECT * FROM file('/etc/passwd', CSV, 'a String')", "file() reaches"},
		{"file function", "SELECT file('/etc/passwd')", "file() reaches"},
		{"s3", "SELECT * FROM s3('http://x/b', 'CSV')", "s3() reaches"},
		{"s3Cluster", "SELECT * FROM s3Cluster('c', 'http://x/b', 'CSV')", "s3Cluster() reaches"},
		{"hdfs", "SELECT * FROM hdfs('hdfs://x', CSV, 'a String')", "hdfs() reaches"},
		{"mysql", "SELECT * FROM mysql('h:3306', 'db', 't', 'u', 'p')", "mysql() reaches"},
		{"postgresql", "SELECT * FROM postgresql('h', 'db', 't', 'u', 'p')", "postgresql() reaches"},
		{"jdbc", "SELECT * FROM jdbc('x', 'y', 'z')", "jdbc() reaches"},
		{"odbc", "SELECT * FROM odbc('x', 'y', 'z')", "odbc() reaches"},
		{"executable", "SELECT * FROM executable('x.sh', TSV, 'a String')", "executable() reaches"},
		{"input", "SELECT * FROM input('a String')", "input() reaches"},
		{"sqlite", "SELECT * FROM sqlite('/x.db', 't')", "sqlite() reaches"},
		{"mongodb", "SELECT * FROM mongodb('h', 'db', 'c', 'u', 'p', 'a String')", "mongodb() reaches"},
		{"redis", "SELECT * FROM redis('h', 'k', 'k String')", "redis() reaches"},
		{"azure", "SELECT * FROM azureBlobStorage('x')", "azureBlobStorage() reaches"},
		{"gcs", "SELECT * FROM gcs('x')", "gcs() reaches"},
		{"deltaLake", "SELECT * FROM deltaLake('x')", "deltaLake() reaches"},
		{"hudi", "SELECT * FROM hudi('x')", "hudi() reaches"},
		{"iceberg", "SELECT * FROM iceberg('x')", "iceberg() reaches"},
		{"merge", "SELECT * FROM merge('secrets', '.*')", "merge() reaches"},
		{"dictGet", "SELECT dictGetString('d', 'a', toUInt64(1))", "dictGetString() reaches"},
		{"joinGet", "SELECT joinGet('secrets.j', 'v', 1)", "joinGet() reaches"},
		{"hasColumnInTable", "SELECT hasColumnInTable('h', 'secrets', 't', 'c')", "hasColumnInTable() reaches"},
		{"unknown table function", "SELECT * FROM fuzzJSON('x')", "table function fuzzJSON() is not allowed"},
		{"unknown table function in IN", "SELECT 1 IN someTable('x')", "table function someTable() is not allowed"},
		{"other database", "SELECT * FROM secrets.passwords", `not secrets.passwords`},
		{"other database quoted", "SELECT * FROM `secrets` . \"passwords\"", `not secrets.passwords`},
		{"other database in join", "SELECT * FROM kpi_samples JOIN secrets.p USING team", `not secrets.p`},
		{"other database in comma list", "SELECT * FROM kpi_samples AS k, secrets.p", `not secrets.p`},
		{"other database in IN", "SELECT 1 WHERE team IN secrets.teams", `not secrets.teams`},
		{"unknown database in FROM", "SELECT * FROM later_db.t", `not later_db.t`},
		{"other database anywhere", "SELECT in(team, secrets.teams) FROM kpi_samples", `not secrets.teams`},
		{"system processes", "SELECT query FROM system.processes", `not system.processes`},
		{"system query_log", "SELECT query FROM system.query_log", `not system.query_log`},
		{"system any case", "SELECT * FROM SYSTEM.users", `not SYSTEM.users`},
		{"readonly", "SELECT 1 SETTINGS readonly = 0", "may not change the setting readonly"},
		{"readonly quoted", `SELECT 1 SETTINGS max_threads = 1, "readonly" = 0`, "may not change the setting readonly"},
		{"timeout", "SELECT sleep(3) SETTINGS max_execution_time = 0", "may not change the setting max_execution_time"},
		{"result bytes", "SELECT 1 SETTINGS max_result_bytes=0", "max_result_bytes"},
		{"settings in subquery", "SELECT * FROM (SELECT 1 SETTINGS readonly = 0)", "readonly"},
		{"into outfile", "SELECT 1 INTO OUTFILE '/tmp/x'", "INTO OUTFILE"},
		{"unbalanced", "SELECT 1)", "closes no ("},
		{"unclosed quote", "SELECT 'a", "never closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckRawSQL(tc.sql, rawPolicy())
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "rawSql: "), "errors name the field")
		})
	}
}

func TestCheckRawSQLSettingsAllow(t *testing.T) {
	p := rawPolicy()
	p.Databases = []string{"system", "secrets"}
	p.Functions = []string{"URL", "dictGet"}
	for _, sql := range []string{
		"SELECT query FROM system.processes",
		"SELECT * FROM secrets.passwords",
		"SELECT * FROM url('http://x', CSV, 'a String')",
		"SELECT dictGet('d', 'a', toUInt64(1))",
	} {
		require.NoError(t, CheckRawSQL(sql, p), sql)
	}
	require.Error(t, CheckRawSQL("SELECT * FROM remote('h', system.one)", p))
	require.Error(t, CheckRawSQL("SELECT dictGetString('d', 'a', toUInt64(1))", p), "allowing dictGet allows that name only")
}

// FuzzCheckRawSQL: checking never panics, refusals are *RawSQLError or
// *SyntaxError, and an accepted query calls no refused function: no word or
// quoted name spelling one is followed by ( once comments and spaces are
// skipped.
func FuzzCheckRawSQL(f *testing.F) {
	for _, s := range []string{
		"SELECT 1", "SELECT * FROM url('x')", "SELECT * FROM secrets.t", "SELECT 1 SETTINGS readonly=0",
		"SELECT 1 /* */ FROM numbers(1)", "WITH a AS (SELECT 1) SELECT * FROM a, b JOIN c ON 1", "KILL QUERY WHERE 1",
		"SELECT $$x$$, `a``b`, 'c\\'d' -- e\n", "SELECT /* /* */ */ 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		err := CheckRawSQL(sql, rawPolicy())
		if err != nil {
			var re *RawSQLError
			var se *SyntaxError
			if !errors.As(err, &re) && !errors.As(err, &se) {
				t.Fatalf("CheckRawSQL(%q): %T %v", sql, err, err)
			}
			return
		}
		all, err := Tokenize(sql)
		require.NoError(t, err)
		var toks []Token
		for _, tk := range all {
			if tk.Significant() {
				toks = append(toks, tk)
			}
		}
		for i := 0; i+1 < len(toks); i++ {
			name, ok := tokenName(toks[i])
			if !ok || !toks[i+1].IsPunct("(") {
				continue
			}
			l := strings.ToLower(name)
			if strings.HasPrefix(l, "dict") || slices.Contains(refusedFunctions, l) {
				t.Fatalf("accepted %q calling %s", sql, name)
			}
		}
	})
}
