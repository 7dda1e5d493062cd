//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// rawQuery is a queryType sql query over tr with extra JSON fields.
func rawQuery(refID, sql string, tr backend.TimeRange, extra map[string]any) backend.DataQuery {
	m := map[string]any{"refId": refID, "rawSql": sql}
	for k, v := range extra {
		m[k] = v
	}
	raw, _ := json.Marshal(m)
	return backend.DataQuery{RefID: refID, QueryType: "sql", JSON: raw, TimeRange: tr, Interval: time.Minute}
}

// sqlFixture is a table of 6 samples: teams a and b, at base+0, +60 ... +300 s.
func sqlFixture(ctx context.Context, t *testing.T, db *chtest.Database) time.Time {
	t.Helper()
	require.NoError(t, db.Conn.Exec(ctx, "CREATE TABLE "+db.Name+
		".samples (ts DateTime, d Date, team String, value Float64, state Enum8('todo' = 1, 'done' = 2)) ENGINE = MergeTree ORDER BY ts"))
	base := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	b, err := db.Conn.PrepareBatch(ctx, "INSERT INTO "+db.Name+".samples (ts, d, team, value, state)")
	require.NoError(t, err)
	for i := 0; i < 6; i++ {
		ts := base.Add(time.Duration(i) * time.Minute)
		team := []string{"a", "b"}[i%2]
		if i == 5 {
			team = "o'hara"
		}
		require.NoError(t, b.Append(ts, ts, team, float64(i), []string{"todo", "done"}[i%2]))
	}
	require.NoError(t, b.Send())
	return base
}

func count(t *testing.T, r backend.DataResponse) uint64 {
	t.Helper()
	require.NoError(t, r.Error)
	require.Len(t, r.Frames, 1)
	require.Equal(t, 1, r.Frames[0].Rows())
	return r.Frames[0].Fields[0].At(0).(uint64)
}

func TestIntegrationSQLQueries(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := sqlFixture(ctx, t, db)
	p := plugintest.Start(t)
	ds := p.DataSource(t, db.JSONData(), nil)
	// 12:01:00.500 to 12:03:00.500: rows at +60 s, +120 s, +180 s.
	tr := backend.TimeRange{From: base.Add(60*time.Second + 500*time.Millisecond), To: base.Add(180*time.Second + 500*time.Millisecond)}

	t.Run("macros select the right rows", func(t *testing.T) {
		tests := []struct {
			sql   string
			extra map[string]any
			want  uint64
		}{
			{"SELECT count() FROM samples WHERE $__timeFilter(ts)", nil, 3},
			// _ms rounds inward to whole seconds on 18.16: 12:01:01 to 12:03:00.
			{"SELECT count() FROM samples WHERE $__timeFilter_ms(ts)", nil, 2},
			{"SELECT count() FROM samples WHERE ts >= $__fromTime AND ts <= $__toTime", nil, 3},
			{"SELECT count() FROM samples WHERE ts >= $__fromTime_ms AND ts <= $__toTime_ms", nil, 2},
			{"SELECT count() FROM samples WHERE $__dateFilter(d)", nil, 6},
			// Grafana's $__from and $__to are epoch milliseconds: +120 s and +180 s.
			{"SELECT count() FROM samples WHERE toUInt32(ts) * 1000 BETWEEN $__from AND $__to", nil, 2},
			{"SELECT uniqExact($__timeInterval(ts)) FROM samples", nil, 6},
			{"SELECT toUInt64(uniqExact(intDiv(toUInt32(ts), $__interval_s)))FROM samples", nil, 6},
			{"SELECT count() FROM samples WHERE $__timeInterval_ms(ts) = ts", nil, 6},
			// A Date column is bucketed by its day, not by its day number as seconds.
			{"SELECT count() FROM samples WHERE $__timeInterval(d) = toDateTime(d)", nil, 6},
			{"SELECT count() FROM samples WHERE $__timeGroup(ts, '2m') = toDateTime(intDiv(toUInt32(ts), 120) * 120)", nil, 6},
			{"SELECT count() FROM samples WHERE $__dateTimeFilter(d, ts)", nil, 3},
			{"SELECT count() FROM samples WHERE $__dt(d, ts) AND $__timeFrom(ts) AND $__timeTo(ts)", nil, 3},
			{"SELECT count() FROM $__table WHERE $__column >= 1", map[string]any{"table": "samples", "column": "value"}, 5},
			{"SELECT count() FROM samples WHERE $__timeGroup(ts, $__interval) = $__timeInterval(ts)", nil, 6},
			// Strings, quoted names and comments are not SQL: their macros stay.
			{"SELECT count() FROM samples WHERE '$__fromTime' = concat('$', '__fromTime') -- $__nope(\n AND $__timeFilter(ts)", nil, 3},
			{"SELECT count() FROM samples /* $__timeFilter(ts) */ SETTINGS $__adHocFilters('samples')", nil, 6},
			{"SELECT count() FROM samples WHERE $__conditionalAll(team IN ('a'), 'a')", nil, 3},
			{"SELECT count() FROM samples WHERE $__conditionalAll(team IN ($team), $team)", nil, 6},
			{"SELECT count() FROM samples WHERE $__conditionalAll($__timeFilter(ts) AND team = 'b', 'b')", nil, 2},
			{"SELECT count() FROM samples WHERE $__adHocFilters('samples')", map[string]any{"adhocFilters": []map[string]any{
				{"key": "team", "operator": "=", "value": "o'hara"}}}, 1},
			{"SELECT count() FROM samples WHERE $__adHocFilters('samples')", map[string]any{"adhocFilters": []map[string]any{
				{"key": "samples.value", "operator": ">=", "value": "2"}, {"key": "state", "operator": "=", "value": "done"},
				{"key": "other.team", "operator": "=", "value": "ignored"}}}, 2},
			{"SELECT count() FROM samples WHERE $__adHocFilters('samples')", map[string]any{"adhocFilters": []map[string]any{
				{"key": "team", "operator": "=~", "value": "^(a|b)$"}, {"key": "team", "operator": "!=|", "values": []string{"a", "$x"}}}}, 2},
			{"SELECT count() FROM samples WHERE $__adHocFilters('samples')", map[string]any{"adhocFilters": []map[string]any{
				{"key": "team", "operator": "=", "value": "x' OR 1=1 OR '\\"}}}, 0},
		}
		for _, tt := range tests {
			t.Run(tt.sql, func(t *testing.T) {
				r := p.QueryData(ctx, t, ds, nil, rawQuery("A", tt.sql, tr, tt.extra)).Responses["A"]
				require.NoError(t, r.Error)
				require.Equal(t, tt.want, count(t, r), r.Frames[0].Meta.ExecutedQueryString)
			})
		}
	})

	t.Run("executed query is expanded and attributed", func(t *testing.T) {
		dash := "dash-" + db.Name[len(db.Name)-6:] // unique per run: the server's query_log outlives databases
		r := p.QueryData(ctx, t, ds, map[string]string{"X-Dashboard-Uid": dash, "X-Panel-Id": "7"},
			rawQuery("A", "SELECT count() FROM samples WHERE $__timeFilter(ts)", tr, nil)).Responses["A"]
		require.NoError(t, r.Error)
		comment := "/* kpiflow user=editor dashboard=" + dash + " panel=7 */ "
		require.Equal(t, fmt.Sprintf("%sSELECT count() FROM samples WHERE ts >= toDateTime(%d) AND ts <= toDateTime(%d)",
			comment, tr.From.Unix(), tr.To.Unix()), r.Frames[0].Meta.ExecutedQueryString)
		// The server logs a query's end a moment after the client has its
		// answer, so one FLUSH LOGS may come too early.
		require.Eventually(t, func() bool {
			require.NoError(t, db.Conn.Exec(ctx, "SYSTEM FLUSH LOGS"))
			var n uint64
			require.NoError(t, db.Conn.QueryRow(ctx, "SELECT count() FROM system.query_log WHERE type = 2 AND query_id LIKE ? AND startsWith(query, ?)",
				"kpiflow:editor:"+dash+":7:%", comment).Scan(&n))
			return n == 1
		}, 10*time.Second, 200*time.Millisecond, "the attributed query is not in system.query_log")
	})

	t.Run("timeseries format with labels", func(t *testing.T) {
		r := p.QueryData(ctx, t, ds, nil, rawQuery("A",
			"SELECT $__timeInterval(ts) AS time, team, sum(value) AS value FROM samples WHERE team IN ('a', 'b') GROUP BY time, team ORDER BY team",
			tr, map[string]any{"format": "timeseries"})).Responses["A"]
		require.NoError(t, r.Error)
		require.Len(t, r.Frames, 1)
		f := r.Frames[0]
		require.Equal(t, data.FrameTypeTimeSeriesWide, f.Meta.Type)
		require.Len(t, f.Fields, 3)
		require.Equal(t, data.FieldTypeTime, f.Fields[0].Type())
		require.Equal(t, 5, f.Rows())
		require.Equal(t, data.Labels{"team": "a"}, f.Fields[1].Labels)
		require.Equal(t, data.Labels{"team": "b"}, f.Fields[2].Labels)
		v, err := f.Fields[1].NullableFloatAt(4)
		require.NoError(t, err)
		require.Equal(t, 4.0, *v, "sorted by time: team a at +240 s")
	})

	t.Run("timeInterval_ms is a time", func(t *testing.T) {
		r := p.QueryData(ctx, t, ds, nil, rawQuery("A",
			"SELECT $__timeInterval_ms(ts) AS time, sum(value) AS v FROM samples GROUP BY time ORDER BY time",
			tr, map[string]any{"format": "timeseries"})).Responses["A"]
		require.NoError(t, r.Error)
		f := r.Frames[0]
		require.Equal(t, data.FrameTypeTimeSeriesWide, f.Meta.Type)
		require.Equal(t, data.FieldTypeTime, f.Fields[0].Type())
		require.True(t, base.Equal(f.Fields[0].At(0).(time.Time)))
	})

	t.Run("statement macro", func(t *testing.T) {
		r := p.QueryData(ctx, t, ds, nil, rawQuery("A", "$__columns(ts, team, sum(value) AS v) FROM samples WHERE team != 'o''hara'",
			backend.TimeRange{From: base, To: base.Add(time.Hour)}, map[string]any{"format": "timeseries"})).Responses["A"]
		require.NoError(t, r.Error)
		f := r.Frames[0]
		require.Len(t, f.Fields, 3)
		require.Equal(t, data.Labels{"metric": "a"}, f.Fields[1].Labels)
		require.Equal(t, data.Labels{"metric": "b"}, f.Fields[2].Labels)
		require.Equal(t, 5, f.Rows())
	})

	t.Run("notices say what the server rounded", func(t *testing.T) {
		r := p.QueryData(ctx, t, ds, nil, rawQuery("A", "SELECT count() FROM samples WHERE ts >= $__fromTime_ms", tr, nil)).Responses["A"]
		require.Equal(t, uint64(4), count(t, r))
		require.Len(t, r.Frames[0].Meta.Notices, 1)
		require.Contains(t, r.Frames[0].Meta.Notices[0].Text, "so the range start 2026-11-20T12:01:00.5Z was rounded up to 2026-11-20T12:01:01Z")
	})

	t.Run("timeseries without a time column", func(t *testing.T) {
		r := p.QueryData(ctx, t, ds, nil, rawQuery("A", "SELECT team FROM samples", tr, map[string]any{"format": "timeseries"})).Responses["A"]
		require.ErrorContains(t, r.Error, "format: timeseries needs a DateTime column")
		require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
	})

	t.Run("writes are rejected", func(t *testing.T) {
		for _, sql := range []string{"INSERT INTO samples (team) SELECT 'x'", "DROP TABLE samples", "CREATE TABLE x (a UInt8) ENGINE = Memory"} {
			r := p.QueryData(ctx, t, ds, nil, rawQuery("A", sql, tr, nil)).Responses["A"]
			require.ErrorContains(t, r.Error, "raw SQL is read-only", sql)
			require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
		}
		r := p.QueryData(ctx, t, ds, nil, rawQuery("A", "SELECT count() FROM samples", tr, nil)).Responses["A"]
		require.Equal(t, uint64(6), count(t, r), "nothing was written")
	})

	t.Run("settings still work under readonly=2", func(t *testing.T) {
		r := p.QueryData(ctx, t, ds, nil, rawQuery("A", "SELECT count() FROM samples SETTINGS max_threads = 1", tr, nil)).Responses["A"]
		require.Equal(t, uint64(6), count(t, r))
	})

	t.Run("timeseries and numeric answers can drive an alert, empty ones as no data", func(t *testing.T) {
		alert := map[string]string{"FromAlert": "true"}
		for _, c := range []struct{ sql, format string }{
			{"SELECT $__timeInterval(ts) AS time, team, avg(value) AS v FROM samples WHERE $__timeFilter(ts) GROUP BY time, team ORDER BY time", "timeseries"},
			{"SELECT $__timeInterval(ts) AS time, team, avg(value) AS v FROM samples WHERE team = 'nobody' GROUP BY time, team ORDER BY time", "timeseries"},
			{"SELECT $__timeInterval_ms(ts) AS time, avg(value) AS v FROM samples WHERE $__timeFilter(ts) GROUP BY time ORDER BY time", "timeseries"},
			{"$__columns(ts, team, avg(value)) FROM samples", "timeseries"},
		} {
			r := p.QueryData(ctx, t, ds, alert, rawQuery("A", c.sql, tr, map[string]any{"format": c.format})).Responses["A"]
			require.NoError(t, r.Error, c.sql)
			require.Empty(t, dataplaneProblem(r.Frames), c.sql)
		}
		r := p.QueryData(ctx, t, ds, alert, rawQuery("A", "SELECT $__timeInterval(ts) AS time, team, avg(value) AS v FROM samples WHERE team = 'nobody' GROUP BY time, team ORDER BY time",
			tr, map[string]any{"format": "timeseries"})).Responses["A"]
		require.Len(t, r.Frames, 1)
		require.Empty(t, r.Frames[0].Fields, "no rows: the dataplane's no-data frame")
	})

	t.Run("unknown fields are a notice, not an error", func(t *testing.T) {
		r := p.QueryData(ctx, t, ds, nil, rawQuery("A", "SELECT count() FROM samples", tr, map[string]any{"panelId": 3, "editorType": "sql"})).Responses["A"]
		require.NoError(t, r.Error)
		require.Equal(t, uint64(6), count(t, r))
		require.Equal(t, `Ignored query field(s) kpiflow does not know: "editorType", "panelId". If one is a misspelt kpiflow field, fix its name; otherwise nothing is needed.`,
			r.Frames[0].Meta.Notices[0].Text)
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			q    backend.DataQuery
			want string
		}{
			{rawQuery("A", "SELECT $__nope(ts) FROM samples", tr, nil), "rawSql: $__nope: unknown macro"},
			{rawQuery("A", "SELECT * FROM no_such_table WHERE $__timeFilter(ts)", tr, nil), "ClickHouse: "},
			{rawQuery("A", "SELECT 1", tr, map[string]any{"rawSQL": "x"}), "rawSQL: unknown field"},
			{rawQuery("A", "", tr, nil), "rawSql: required"},
			{rawQuery("A", "SELECT tuple(1, 2) AS t", tr, nil), `column "t"`},
			{rawQuery("A", "SELECT count() FROM samples SETTINGS $__adHocFilters('samples')", tr, map[string]any{"adhocFilters": []map[string]any{
				{"key": "team", "operator": "=", "value": "a"}}}), "write WHERE $__adHocFilters('samples') instead"},
			{rawQuery("A", "$__lttb(10, ts, value) FROM samples", tr, nil), "lttb aggregate, which ClickHouse 18.16.1 does not have"},
			{rawQuery("A", "SELECT 'unclosed", tr, nil), "rawSql: the string literal opened by ' is never closed (line 1, column 8)"},
		}
		for _, tt := range tests {
			r := p.QueryData(ctx, t, ds, nil, tt.q).Responses["A"]
			require.ErrorContains(t, r.Error, tt.want)
			require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
		}
		// A ClickHouse error still shows the expanded SQL in the query inspector.
		r := p.QueryData(ctx, t, ds, nil, rawQuery("A", "SELECT * FROM no_such_table WHERE $__timeFilter(ts)", tr, nil)).Responses["A"]
		require.Error(t, r.Error)
		require.Len(t, r.Frames, 1)
		require.Contains(t, r.Frames[0].Meta.ExecutedQueryString, "no_such_table WHERE ts >= toDateTime(")
	})

	t.Run("FromAlert answers identically", func(t *testing.T) {
		q := rawQuery("A", "SELECT $__timeInterval(ts) AS time, team, value FROM samples WHERE $__timeFilter(ts) ORDER BY time",
			tr, map[string]any{"format": "timeseries"})
		dash := p.QueryData(ctx, t, ds, nil, q).Responses["A"]
		alert := p.QueryData(ctx, t, ds, map[string]string{"FromAlert": "true", "X-Rule-Uid": "rule-9"}, q).Responses["A"]
		require.NoError(t, dash.Error)
		require.NoError(t, alert.Error)
		require.Contains(t, alert.Frames[0].Meta.ExecutedQueryString, "rule=rule-9 alert=true */")
		strip := func(f *data.Frame) *data.Frame { f.Meta.ExecutedQueryString = ""; return f }
		dj, err := json.Marshal(strip(dash.Frames[0]))
		require.NoError(t, err)
		aj, err := json.Marshal(strip(alert.Frames[0]))
		require.NoError(t, err)
		require.JSONEq(t, string(dj), string(aj))
	})

	t.Run("row cap", func(t *testing.T) {
		jd := db.JSONData()
		jd["maxRows"] = 10
		jd["queryTimeout"] = 600
		capped := p.DataSource(t, jd, nil)
		// An endless result: the answer only comes back (within ctx's two
		// minutes) if the query is stopped on the server at the cap rather
		// than read to its end.
		r := p.QueryData(ctx, t, capped, nil, rawQuery("A", "SELECT number FROM system.numbers", tr, nil)).Responses["A"]
		require.NoError(t, r.Error)
		require.Equal(t, 10, r.Frames[0].Rows())
		require.Len(t, r.Frames[0].Meta.Notices, 1)
		require.Contains(t, r.Frames[0].Meta.Notices[0].Text, "cut at 10 rows")
	})
	require.False(t, p.Exited())
}

// TestIntegrationSQLCancel cancels a long query through Grafana's protocol and
// checks that ClickHouse stops running it.
func TestIntegrationSQLCancel(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ds := p.DataSource(t, db.JSONData(), nil)
	bg, done := context.WithTimeout(context.Background(), time.Minute)
	defer done()

	running := func() uint64 {
		var n uint64
		require.NoError(t, db.Conn.QueryRow(bg, "SELECT count() FROM system.processes WHERE query_id LIKE 'kpiflow:editor:cancel-me:%'").Scan(&n))
		return n
	}
	ctx, cancel := context.WithCancel(bg)
	result := make(chan error, 1)
	go func() {
		// No LIMIT: it runs until the query timeout (30 s) unless stopped.
		// The raw gRPC client, since the call is expected to fail.
		raw, _ := json.Marshal(map[string]string{"rawSql": "SELECT sum(sipHash64(number)) FROM system.numbers"})
		s := ds.Settings
		req := &backend.QueryDataRequest{
			PluginContext: backend.PluginContext{OrgID: 1, PluginID: plugintest.PluginID, User: ds.User, DataSourceInstanceSettings: &s},
			Headers:       map[string]string{"X-Dashboard-Uid": "cancel-me"},
			Queries:       []backend.DataQuery{{RefID: "A", QueryType: "sql", JSON: raw, TimeRange: backend.TimeRange{From: time.Now(), To: time.Now()}}},
		}
		_, err := p.Data.QueryData(ctx, backend.ToProto().QueryDataRequest(req))
		result <- err
	}()
	require.Eventually(t, func() bool { return running() == 1 }, 10*time.Second, 50*time.Millisecond, "the query never started")
	start := time.Now()
	cancel()
	require.Eventually(t, func() bool { return running() == 0 }, 10*time.Second, 50*time.Millisecond,
		"ClickHouse still runs the query after the request was cancelled")
	t.Logf("query gone from system.processes %v after cancel", time.Since(start))
	select {
	case err := <-result:
		require.ErrorContains(t, err, "context canceled")
	case <-time.After(10 * time.Second):
		t.Fatal("QueryData did not return after cancel")
	}
	require.False(t, p.Exited())
	// The pool still works afterwards.
	r := p.QueryData(bg, t, ds, nil, rawQuery("A", "SELECT count() FROM (SELECT number FROM system.numbers LIMIT 5)", backend.TimeRange{}, nil)).Responses["A"]
	require.Equal(t, uint64(5), count(t, r))
}

// TestIntegrationSQLTimeout checks that the Query timeout setting reaches
// ClickHouse as max_execution_time (clickhouse-go would replace it with a
// context deadline's, were the query's context to carry one).
func TestIntegrationSQLTimeout(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	jd := db.JSONData()
	jd["queryTimeout"] = 2
	ds := p.DataSource(t, jd, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := p.QueryData(ctx, t, ds, nil, rawQuery("A", "SELECT count() FROM system.numbers", backend.TimeRange{}, nil)).Responses["A"]
	require.ErrorContains(t, r.Error, "Timeout exceeded")
	require.ErrorContains(t, r.Error, "raise the timeout")
	require.Equal(t, backend.StatusTimeout, r.Status)
	require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
}
