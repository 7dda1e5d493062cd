//go:build chdb

package conformance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/internal/chdb"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// TestModernClickHouse is scripts/modern-clickhouse.sh's run: see README,
// "Compatibility". It needs CLICKHOUSE_ADDR (the 18.16 test server) and
// KPIFLOW_CHDB_LIB (libchdb.so).
func TestModernClickHouse(t *testing.T) {
	lib := os.Getenv("KPIFLOW_CHDB_LIB")
	if lib == "" {
		t.Fatal("KPIFLOW_CHDB_LIB is not set: run scripts/modern-clickhouse.sh, which finds libchdb.so in node_modules")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// 18.16: kpiflow's schema on a fresh database, the dataset, every query.
	st, db := chtest.MigratedStore(t)
	old, err := st.Dialect(ctx)
	require.NoError(t, err)
	ds := Dataset()
	batches, err := Batches(ds)
	require.NoError(t, err)
	require.NoError(t, Load(ctx, st, batches))
	teams := map[string]string{}
	for _, tm := range ds.Teams {
		teams[tm.Team] = tm.Parent
	}
	srv, err := Dial(chtest.Addr(t), db.Name)
	require.NoError(t, err)
	defer srv.Close()
	oldCases, err := Cases(old, teams)
	require.NoError(t, err)
	want := map[string]*Table{}
	sent := map[string]string{} // case name → bound SQL sent to 18.16
	for _, c := range oldCases {
		tab, bound, err := srv.Query(ctx, c.SQL, c.Args...)
		require.NoError(t, err, "%s on ClickHouse %s:\n%s", c.Name, old.Version, bound)
		want[c.Name], sent[c.Name] = tab, bound
	}

	// The modern engine.
	eng, err := chdb.Open(lib, t.TempDir(), "--config-file="+clusterConfig(t))
	require.NoError(t, err)
	defer eng.Close()
	ver, loc := engineInfo(t, eng)
	_, err = eng.Query("SET output_format_json_quote_denormals = 1")
	require.NoError(t, err)

	// The versions the dialect tells apart among the modern releases users
	// run, each with the version's DDL and queries run on the engine.
	groups := distinctDialects(t, append(modernReleases(), ver), teams)
	var failures []string
	totalDDL, totalQueries := 0, 0
	tolerated := map[string]int{}
	for gi, g := range groups {
		label := versionList(g.versions)
		dbName := fmt.Sprintf("kpiflow_modern_%d", gi+1)
		d := dialect.For(g.versions[0])
		nDDL, fails := runDDL(t, eng, d, dbName)
		failures = append(failures, fails...)
		nUp, fails := runRetirement(t, eng, d, dbName+"_upgrade")
		failures = append(failures, fails...)
		nDDL += nUp
		for _, b := range batches {
			sql, err := b.Insert(dbName)
			require.NoError(t, err)
			_, err = eng.Query(sql)
			require.NoError(t, err, "insert into %s", b.Table)
		}
		_, err = eng.Query("USE " + dbName)
		require.NoError(t, err)
		cases, err := Cases(d, teams)
		require.NoError(t, err)
		official, err := Official(d)
		require.NoError(t, err)
		cases = append(cases, official...)
		byName := map[string]Case{}
		for _, c := range oldCases {
			byName[c.Name] = c
		}
		used := map[string]bool{}
		for _, c := range cases {
			ref, ok := want[c.Reference()]
			if !ok {
				failures = append(failures, fmt.Sprintf("%s: no 18.16 case %s to compare with", c.Name, c.Reference()))
				continue
			}
			bound := sent[c.Name]
			if o, ok := byName[c.Name]; !ok || o.SQL != c.SQL || !reflect.DeepEqual(o.Args, c.Args) {
				if bound, err = srv.Bind(ctx, c.SQL, c.Args...); err != nil {
					failures = append(failures, fmt.Sprintf("%s: %v", c.Name, err))
					continue
				}
			}
			res, err := eng.Query(bound)
			if err != nil {
				failures = append(failures, fmt.Sprintf("%s (dialect %s) fails on ClickHouse %s: %v\n    SQL: %s", c.Name, label, ver, err, bound))
				continue
			}
			got, err := FromChDB(res, loc)
			require.NoError(t, err, c.Name)
			for _, d := range applyDifferences(c.Name, ref, got) {
				used[d.Case+"/"+d.Column] = true
			}
			var band *Table
			if c.Tol.Column != "" {
				sql, err := srv.Bind(ctx, c.Tol.BandSQL, c.Tol.BandArgs...)
				require.NoError(t, err)
				res, err := eng.Query(sql)
				require.NoError(t, err, "band query of %s: %s", c.Name, sql)
				band, err = FromChDB(res, loc)
				require.NoError(t, err)
				tolerated[c.Tol.Why]++
			}
			if diff := Diff(ref, got, c.Tol, band, 5); len(diff) > 0 {
				failures = append(failures, fmt.Sprintf("%s (dialect %s) differs from 18.16:\n    %s\n    18.16 SQL: %s\n    modern SQL: %s",
					c.Name, label, strings.Join(diff, "\n    "), sent[c.Reference()], bound))
			}
		}
		for _, d := range Differences() {
			if !used[d.Case+"/"+d.Column] {
				failures = append(failures, fmt.Sprintf("intended difference %s column %s matched no query: remove it from Differences", d.Case, d.Column))
			}
		}
		nRet, fails := runRetention(t, eng, d, dbName)
		failures = append(failures, fails...)
		nDDL += nRet
		fmt.Printf("modern ClickHouse %s as %s: %d DDL statements, %d queries\n", ver, label, nDDL, len(cases))
		totalDDL += nDDL
		totalQueries += len(cases)
	}
	fmt.Printf("run took %s\n", time.Since(start).Round(100*time.Millisecond))
	for _, why := range slices.Sorted(maps.Keys(tolerated)) {
		fmt.Printf("tolerance: %d queries held to a band (%s)\n", tolerated[why], why)
	}
	for _, d := range Differences() {
		fmt.Printf("intended difference: %s, column %s: %s\n", d.Case, d.Column, d.Reason)
	}
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Println("FAIL " + f)
		}
		fmt.Printf("modern ClickHouse %s: %d DDL statements, %d queries, %d failures or differences (listed above)\n", ver, totalDDL, totalQueries, len(failures))
		t.Fail()
		return
	}
	fmt.Printf("modern ClickHouse %s: %d DDL statements, %d queries, all equal to 18.16\n", ver, totalDDL, totalQueries)
}

// modernReleases are the releases users run that the run spells SQL for
// (the compose demo pins 24.8).
func modernReleases() []dialect.Version {
	return []dialect.Version{{Major: 22, Minor: 8}, {Major: 23, Minor: 8}, {Major: 24, Minor: 8}, {Major: 25, Minor: 8}}
}

type dialectGroup struct{ versions []dialect.Version }

// distinctDialects groups versions whose DDL and queries are spelled alike,
// so each spelling runs once.
func distinctDialects(t *testing.T, versions []dialect.Version, teams map[string]string) []dialectGroup {
	t.Helper()
	var groups []dialectGroup
	var prints []string
	for _, v := range versions {
		d := dialect.For(v)
		var b strings.Builder
		for _, cluster := range []string{"", "kpiflow_test"} {
			stmts, err := DDL(d, Settings("x", cluster))
			require.NoError(t, err)
			for _, s := range stmts {
				b.WriteString(s.SQL + ";")
			}
		}
		cases, err := Cases(d, teams)
		require.NoError(t, err)
		official, err := Official(d)
		require.NoError(t, err)
		for _, c := range append(cases, official...) {
			fmt.Fprintf(&b, "%s %v;", c.SQL, c.Args)
		}
		i := 0
		for i < len(prints) && prints[i] != b.String() {
			i++
		}
		if i == len(prints) {
			prints = append(prints, b.String())
			groups = append(groups, dialectGroup{})
		}
		groups[i].versions = append(groups[i].versions, v)
	}
	return groups
}

func versionList(vs []dialect.Version) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return strings.Join(parts, ", ")
}

func engineInfo(t *testing.T, eng *chdb.DB) (dialect.Version, *time.Location) {
	t.Helper()
	res, err := eng.Query("SELECT version(), timezone()")
	require.NoError(t, err)
	var raw, tz string
	tab, err := FromChDB(res, time.UTC)
	require.NoError(t, err)
	raw, tz = tab.Rows[0][0].(string), tab.Rows[0][1].(string)
	v, err := dialect.ParseVersion(raw)
	require.NoError(t, err)
	loc, err := time.LoadLocation(tz)
	require.NoError(t, err)
	return v, loc
}

// clusterConfig is a clickhouse-local configuration naming the cluster the
// cluster-mode DDL refers to, so Distributed tables can be created.
func clusterConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.xml")
	require.NoError(t, os.WriteFile(p, []byte(`<clickhouse>
  <remote_servers><kpiflow_test><shard><replica><host>127.0.0.1</host><port>9000</port></replica></shard></kpiflow_test></remote_servers>
  <macros><shard>1</shard><replica>r1</replica></macros>
</clickhouse>`), 0o644))
	return p
}

var (
	onClusterRe  = regexp.MustCompile(" ON CLUSTER `[A-Za-z0-9_]+`")
	replicatedRe = regexp.MustCompile(`Replicated([A-Za-z]+)\('[^']*', '[^']*'(, )?`)
)

// runDDL runs d's single-server DDL on database db, then its cluster DDL
// as far as an embedded engine takes it, and returns the statements run and
// the failures.
func runDDL(t *testing.T, eng *chdb.DB, d dialect.Dialect, db string) (int, []string) {
	t.Helper()
	var failures []string
	_, err := eng.Query("CREATE DATABASE " + db)
	require.NoError(t, err)
	stmts, err := DDL(d, Settings(db, ""))
	require.NoError(t, err)
	for _, s := range stmts {
		if _, err := eng.Query(s.SQL); err != nil {
			failures = append(failures, fmt.Sprintf("DDL (%s, ClickHouse %s) fails: %v\n    %s", s.Source, d.Version, err, s.SQL))
		}
	}
	// Cluster mode, on its own database. An embedded engine has no
	// distributed DDL queue (ON CLUSTER is refused, code 392) and no
	// ZooKeeper (Replicated engines are refused, code 225): each statement
	// must parse as it is, and runs without ON CLUSTER and with the plain
	// engine instead of the Replicated one, so the Distributed tables and
	// the views over the local tables are created for real.
	cdb := db + "_cluster"
	_, err = eng.Query("CREATE DATABASE " + cdb)
	require.NoError(t, err)
	cstmts, err := DDL(d, Settings(cdb, "kpiflow_test"))
	require.NoError(t, err)
	plain := 0
	for _, s := range cstmts {
		fail := func(what string, err error, sql string) {
			failures = append(failures, fmt.Sprintf("cluster DDL (%s, ClickHouse %s) %s: %v\n    %s", s.Source, d.Version, what, err, sql))
		}
		if _, err := eng.Query("EXPLAIN AST " + s.SQL); err != nil {
			fail("does not parse", err, s.SQL)
			continue
		}
		sql := s.SQL
		if _, err := eng.Query(sql); !isCode(err, 392) {
			fail("was expected to be refused for ON CLUSTER (code 392)", err, sql)
			continue
		}
		sql = onClusterRe.ReplaceAllString(sql, "")
		_, err := eng.Query(sql)
		if isCode(err, 225) {
			sql = replicatedRe.ReplaceAllString(sql, "$1(")
			_, err = eng.Query(sql)
			plain++
		}
		if err != nil {
			fail("fails without ON CLUSTER", err, sql)
		}
	}
	fmt.Printf("cluster DDL for %s: %d statements parsed as generated and run without ON CLUSTER, %d of them with the plain engine instead of Replicated\n",
		d.Version, len(cstmts), plain)
	return len(stmts) + len(cstmts), failures
}

// runRetirement upgrades a database made before migration 4 on the modern
// engine: migrations 1 to 3 with the 1m rollup and its view (as
// chtest.PreRetirementSchema installs them on 18.16), a sample that the
// views roll up, then migration 4, after which the 1m rollup and its view
// are gone and the 1h rollup keeps its row. Migration 4 runs twice (a re-run
// after a crash). It returns the statements run and the failures.
func runRetirement(t *testing.T, eng *chdb.DB, d dialect.Dialect, db string) (int, []string) {
	t.Helper()
	var failures []string
	fail := func(format string, args ...any) {
		failures = append(failures, fmt.Sprintf("upgrade to migration 4 on ClickHouse %s: ", d.Version)+fmt.Sprintf(format, args...))
	}
	_, err := eng.Query("CREATE DATABASE " + db)
	require.NoError(t, err)
	defer func() { _, _ = eng.Query("DROP DATABASE IF EXISTS " + db) }()
	s := Settings(db, "")
	migs, err := store.Migrations(d, s)
	require.NoError(t, err)
	boot, err := store.BootstrapDDL(d, s)
	require.NoError(t, err)
	old := boot
	for _, m := range migs[:3] {
		old = append(old, m.Statements...)
	}
	old = append(old, chtest.Rollup1mDDL(t, migs[1].Statements)...)
	old = append(old, fmt.Sprintf("INSERT INTO %s.kpi_samples (ts, metric, value, team) VALUES (toDateTime('%s'), 'm', 1.5, 't')",
		db, Now.Add(-time.Hour).UTC().Format(time.DateTime)))
	run := func(stmts []string) bool {
		for _, sql := range stmts {
			if _, err := eng.Query(sql); err != nil {
				fail("%v\n    %s", err, sql)
				return false
			}
		}
		return true
	}
	count := func(sql string) string {
		res, err := eng.Query(sql)
		if err != nil || len(res.Rows) != 1 {
			fail("%v\n    %s", err, sql)
			return ""
		}
		return strings.Trim(string(res.Rows[0][0]), `"`)
	}
	n := len(old) + 2*len(migs[3].Statements)
	if !run(old) {
		return n, failures
	}
	if got := count("SELECT countMerge(cnt) FROM " + db + ".kpi_rollup_1m"); got != "1" {
		fail("the 1m rollup's view rolled up %s samples, want 1", got)
	}
	if !run(migs[3].Statements) || !run(migs[3].Statements) {
		return n, failures
	}
	if got := count(fmt.Sprintf("SELECT count() FROM system.tables WHERE database = '%s' AND name LIKE 'kpi\\_rollup\\_1m%%'", db)); got != "0" {
		fail("%s tables or views of the 1m rollup are left", got)
	}
	if got := count("SELECT countMerge(cnt) FROM " + db + ".kpi_rollup_1h"); got != "1" {
		fail("the 1h rollup holds %s samples after the upgrade, want 1", got)
	}
	return n, failures
}

// isCode reports whether err is a ClickHouse error with the given code.
func isCode(err error, code int) bool {
	var ce *chdb.Error
	return errors.As(err, &ce) && strings.HasPrefix(ce.Message, fmt.Sprintf("Code: %d.", code))
}

// runRetention checks ApplyRetention's TTL path on database db (whose tables
// were created with Settings' retention): the TTL the DDL gave each table is
// recognised as current, and a changed retention is applied with
// ModifyTTL and then recognised. It returns the statements run.
func runRetention(t *testing.T, eng *chdb.DB, d dialect.Dialect, db string) (int, []string) {
	t.Helper()
	var failures []string
	engines := func() map[string]string {
		res, err := eng.Query(fmt.Sprintf("SELECT name, engine_full FROM system.tables WHERE database = '%s'", db))
		require.NoError(t, err)
		tab, err := FromChDB(res, time.UTC)
		require.NoError(t, err)
		out := map[string]string{}
		for _, row := range tab.Rows {
			out[row[0].(string)] = row[1].(string)
		}
		return out
	}
	s := Settings(db, "")
	rules := store.RetentionRules(d, s)
	before := engines()
	n := 0
	for _, r := range rules {
		if r.Method != store.RetentionTTL {
			failures = append(failures, fmt.Sprintf("retention of %s on ClickHouse %s: method %s, expected TTL", r.Table, d.Version, r.Method))
			continue
		}
		if !store.TTLMatches(before[r.Table], r) {
			failures = append(failures, fmt.Sprintf("retention of %s on ClickHouse %s: the TTL the DDL set is not recognised, "+
				"so ApplyRetention would rewrite it on every run:\n    %s", r.Table, d.Version, before[r.Table]))
		}
		changed := r
		changed.Days = r.Days - 1
		s.RetentionDays[r.Table] = changed.Days
		sql, err := store.ModifyTTL(d, s, changed)
		require.NoError(t, err)
		if _, err := eng.Query(sql); err != nil {
			failures = append(failures, fmt.Sprintf("retention DDL on ClickHouse %s fails: %v\n    %s", d.Version, err, sql))
			continue
		}
		n++
		if after := engines()[r.Table]; !store.TTLMatches(after, changed) || store.TTLMatches(after, r) {
			failures = append(failures, fmt.Sprintf("retention of %s on ClickHouse %s: after %s the table reads\n    %s", r.Table, d.Version, sql, after))
		}
	}
	return n, failures
}
