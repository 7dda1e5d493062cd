//go:build integration

package plugin_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// TestIntegrationRawSQLHostile is the hostile-input suite for raw SQL (issue
// 8.5, 8.6): a Viewer's queries that try to leave the KPI store, write,
// stop others' queries or drop the read-only mode and the timeout, sent
// through Grafana's plugin protocol to a real server. Each must be answered
// 400 naming rawSql, and must not reach what it aimed at (an HTTP service on
// loopback counts the requests it gets; another database's rows never come
// back). The unit half (more spellings) is query.TestCheckRawSQLRefuses.
func TestIntegrationRawSQLHostile(t *testing.T) {
	db := chtest.NewDatabase(t)
	secret := chtest.NewDatabase(t) // another database on the same server
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, secret.Conn.Exec(ctx, "CREATE TABLE "+secret.Name+".passwords (p String) ENGINE = Memory"))
	require.NoError(t, secret.Conn.Exec(ctx, "INSERT INTO "+secret.Name+".passwords SELECT 'hunter2'"))

	var hits atomic.Int64
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		fmt.Fprintln(w, "internal-secret")
	}))
	defer internal.Close()
	_, chPort, err := net.SplitHostPort(chtest.Addr(t))
	require.NoError(t, err)

	p := plugintest.Start(t)
	ds := p.DataSource(t, db.JSONData(), nil).WithRole("Viewer")
	tr := backend.TimeRange{From: time.Now().Add(-time.Hour), To: time.Now()}

	hostile := []struct{ name, sql, want string }{
		// 8.5: the readonly fallback re-ran these without readonly=2 and
		// max_execution_time.
		{"readonly off", "SELECT 1 SETTINGS readonly = 0", "may not change the setting readonly"},
		{"timeout off", "SELECT count() FROM system.numbers SETTINGS max_execution_time = 0", "may not change the setting max_execution_time"},
		{"timeout off behind readonly", "SELECT 1 SETTINGS max_execution_time = 0, readonly = 0", "max_execution_time"},
		// 8.6: server-side request forgery and other servers.
		{"url", "SELECT * FROM url('" + internal.URL + "/', CSV, 'a String')", "url() reaches files"},
		{"url upper case", "SELECT * FROM URL('" + internal.URL + "/', CSV, 'a String')", "URL() reaches files"},
		{"url quoted", "SELECT * FROM `url`('" + internal.URL + "/', CSV, 'a String')", "url() reaches files"},
		{"url in a subquery", "SELECT count() FROM (SELECT * FROM url('" + internal.URL + "/', CSV, 'a String'))", "url() reaches"},
		{"url behind a comment", "SELECT 1 -- url\n, (SELECT any(a) FROM url('" + internal.URL + "/', CSV, 'a String'))", "url() reaches"},
		{"url in IN", "SELECT 'internal-secret' IN url('" + internal.URL + "/', CSV, 'a String')", "url() reaches"},
		{"remote", "SELECT * FROM remote('127.0.0.1:" + chPort + "', system.one)", "remote() reaches"},
		{"remote to another database", "SELECT * FROM remote('127.0.0.1:" + chPort + "', " + secret.Name + ".passwords)", "remote() reaches"},
		{"cluster", "SELECT * FROM cluster('kpiflow_test', " + secret.Name + ", passwords)", "cluster() reaches"},
		{"file", "SELECT * FROM file('passwd', CSV, 'a String')", "file() reaches"},
		{"merge", "SELECT * FROM merge('" + secret.Name + "', '.*')", "merge() reaches"},
		{"other database", "SELECT p FROM " + secret.Name + ".passwords", "may read only the database"},
		{"other database quoted", "SELECT p FROM `" + secret.Name + "`.`passwords`", "may read only the database"},
		{"other database joined", "SELECT p FROM system.one, " + secret.Name + ".passwords", "may read only the database"},
		{"other database in IN", "SELECT 1 WHERE 'hunter2' IN " + secret.Name + ".passwords", "may read only the database"},
		{"others' queries", "SELECT query FROM system.processes", "may read only the database"},
		{"query log", "SELECT query FROM system.query_log", "may read only the database"},
		// Statements other than SELECT.
		{"kill", "KILL QUERY WHERE query_id = 'kpiflow:nobody'", "not KILL"},
		{"kill after a select", "SELECT 1; KILL QUERY WHERE 1", "nothing may follow the ;"},
		{"set", "SET max_execution_time = 0", "not SET"},
		{"optimize", "OPTIMIZE TABLE kpi_samples", "not OPTIMIZE"},
		{"write a file", "SELECT 1 INTO OUTFILE 'x'", "INTO OUTFILE"},
		// Text ClickHouse versions read differently.
		{"nested comment", "SELECT 1 /* /* */, (SELECT any(a) FROM url('" + internal.URL + "/', CSV, 'a String')) -- */", "inside a /* comment"},
		{"unicode space", "SELECT * FROM url\u00a0('" + internal.URL + "/', CSV, 'a String')", "outside quotes"},
		{"escaped name", "SELECT * FROM `u\\x72l`('" + internal.URL + "/', CSV, 'a String')", "backslash in a quoted identifier"},
		{"heredoc tag", "SELECT $a b$ ' $a b$, url('" + internal.URL + "/', CSV, 'a String') -- '", "a $ outside quotes"},
	}
	for _, h := range hostile {
		t.Run(h.name, func(t *testing.T) {
			r := p.QueryData(ctx, t, ds, nil, rawQuery("A", h.sql, tr, nil)).Responses["A"]
			require.Error(t, r.Error, "ran: %s", h.sql)
			require.Contains(t, r.Error.Error(), h.want)
			require.True(t, strings.HasPrefix(r.Error.Error(), "rawSql: "), r.Error.Error())
			require.Equal(t, backend.StatusBadRequest, r.Status)
			require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
			for _, f := range r.Frames {
				for _, fl := range f.Fields {
					for i := 0; i < fl.Len(); i++ {
						require.NotContains(t, fmt.Sprint(fl.At(i)), "hunter2")
					}
				}
			}
		})
	}
	require.Zero(t, hits.Load(), "ClickHouse fetched the internal HTTP service")

	t.Run("queries of the KPI store still run", func(t *testing.T) {
		sqlFixture(ctx, t, db)
		for _, sql := range []string{
			"SELECT count() FROM samples",
			"SELECT count() FROM " + db.Name + ".samples",
			"SELECT count() FROM samples WHERE 0 IN (SELECT dummy FROM system.one) SETTINGS max_threads = 1",
			"SELECT count() FROM (SELECT number FROM system.numbers LIMIT 6)",
		} {
			r := p.QueryData(ctx, t, ds, nil, rawQuery("A", sql, tr, nil)).Responses["A"]
			require.Equal(t, uint64(6), count(t, r), sql)
		}
	})

	t.Run("settings allow named functions and databases", func(t *testing.T) {
		jd := db.JSONData()
		jd["rawSqlFunctions"] = []string{"url"}
		jd["rawSqlDatabases"] = []string{secret.Name}
		open := p.DataSource(t, jd, nil).WithRole("Viewer")
		r := p.QueryData(ctx, t, open, nil, rawQuery("A", "SELECT a FROM url('"+internal.URL+"/', CSV, 'a String')", tr, nil)).Responses["A"]
		require.NoError(t, r.Error)
		require.Equal(t, "internal-secret", r.Frames[0].Fields[0].At(0))
		r = p.QueryData(ctx, t, open, nil, rawQuery("A", "SELECT p FROM "+secret.Name+".passwords", tr, nil)).Responses["A"]
		require.NoError(t, r.Error)
		require.Equal(t, "hunter2", r.Frames[0].Fields[0].At(0))
		r = p.QueryData(ctx, t, open, nil, rawQuery("A", "SELECT 1 SETTINGS readonly = 0", tr, nil)).Responses["A"]
		require.ErrorContains(t, r.Error, "may not change the setting readonly", "no setting lifts the managed settings")
	})
	require.False(t, p.Exited())
}

// TestIntegrationRawSQLAggregateState: an AggregateFunction column (a rollup
// read without -Merge) is a 400 naming the column and the fix (issue 8.12).
func TestIntegrationRawSQLAggregateState(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := plugintest.Start(t)
	ds := p.DataSource(t, db.JSONData(), nil)
	for _, sql := range []string{
		"SELECT countState() AS cnt FROM numbers(3)",
		"SELECT number, sumState(number) AS cnt FROM numbers(3) GROUP BY number",
		"SELECT [countState()] AS cnt FROM numbers(3)",
	} {
		r := p.QueryData(ctx, t, ds, nil, rawQuery("A", sql, backend.TimeRange{}, nil)).Responses["A"]
		require.Error(t, r.Error, sql)
		require.Contains(t, r.Error.Error(), `column "cnt"`)
		require.Contains(t, r.Error.Error(), "-Merge")
		require.Equal(t, backend.StatusBadRequest, r.Status, r.Error.Error())
		require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
	}
}
