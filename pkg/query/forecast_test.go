package query

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
)

func TestParseForecastRejectsBadInputNamingTheField(t *testing.T) {
	cases := []struct{ body, field, msg string }{
		{`{}`, "mode", "required"},
		{`{"mode":"when"}`, "mode", `unknown mode "when"`},
		{`{"mode":"completion","historyDays":0}`, "historyDays", "from 1 to 3650"},
		{`{"mode":"completion","historyDays":1.5}`, "historyDays", "whole number"},
		{`{"mode":"completion","historyDays":"90"}`, "historyDays", "expected a number"},
		{`{"mode":"completion","trials":1000000}`, "trials", "from 1 to 100000"},
		{`{"mode":"completion","percentiles":[50,100]}`, "percentiles[1]", "between 0 and 100"},
		{`{"mode":"completion","backlog":-1}`, "backlog", "from 0"},
		{`{"mode":"completion","backlog":3,"groupBy":["team"]}`, "backlog", "cannot be combined with groupBy"},
		{`{"mode":"completion","groupBy":["service"]}`, "groupBy[0]", "team or project"},
		{`{"mode":"completion","targetDate":"2026-12-01"}`, "targetDate", "not used by mode completion"},
		{`{"mode":"completion","dueDate":"31/12/2026"}`, "dueDate", "expected a date"},
		{`{"mode":"completion","format":"csv"}`, "format", "timeseries, table or numeric"},
		{`{"mode":"completion","alertPercentile":100}`, "alertPercentile", "between 0 and 100"},
		{`{"mode":"completion","metrics":["m"]}`, "metrics", "not used by mode completion"},
		{`{"mode":"completion","Horizon":5}`, "Horizon", `the field is spelled "horizon"`},
		{`{"mode":"how_many"}`, "targetDate", "required for how_many"},
		{`{"mode":"how_many","targetDate":"soon"}`, "targetDate", "expected a date"},
		{`{"mode":"task_eta","format":"numeric"}`, "format", "task_eta answers a table"},
		{`{"mode":"task_eta","trials":5}`, "trials", "not used by mode task_eta"},
		{`{"mode":"kpi_trend"}`, "metrics", "required"},
		{`{"mode":"kpi_trend","metrics":["a","b"],"aggregation":"avg"}`, "metrics", "one metric"},
		{`{"mode":"kpi_trend","metrics":["a"],"aggregation":"mean"}`, "aggregation", "unknown aggregation"},
		{`{"mode":"kpi_trend","metrics":["a"],"aggregation":"avg","model":"arima"}`, "model", `unknown model "arima"`},
		{`{"mode":"kpi_trend","metrics":["a"],"aggregation":"avg","horizon":0}`, "horizon", "buckets"},
		{`{"mode":"kpi_trend","metrics":["a"],"aggregation":"avg","teams":["x"]}`, "teams", "not used by mode kpi_trend"},
		{`{"mode":"kpi_trend","metrics":["a"],"aggregation":"avg","format":"table"}`, "format", "timeseries or numeric"},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			_, err := ParseForecast([]byte(c.body))
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "want a FieldError, got %v", err)
			require.Equal(t, c.field, fe.Field)
			require.Contains(t, fe.Message, c.msg)
		})
	}
	for _, ok := range []string{
		`{"mode":"completion","teams":[],"projects":[],"historyDays":90,"trials":10000,"percentiles":[50,70,85,95],"refId":"A","datasource":{"uid":"x"}}`,
		`{"mode":"completion","groupBy":["team"],"format":"numeric","dueDate":"2027-01-31","alertPercentile":85,"scopeGrowth":true}`,
		`{"mode":"how_many","targetDate":"2026-12-31T00:00:00Z","format":"table"}`,
		`{"mode":"task_eta","projects":["CHK"],"percentiles":[50,85]}`,
		`{"mode":"kpi_trend","metrics":["m"],"aggregation":"avg","groupBy":["service"],"interval":"1h","horizon":48,"model":"holt_winters"}`,
	} {
		_, err := ParseForecast([]byte(ok))
		require.NoError(t, err, ok)
	}
}

// summaries builds the long frame the summary plan reads.
func summaries(rows ...taskSummary) *data.Frame {
	var ids, cats, teams, projects []string
	var created, started, finished []time.Time
	for _, r := range rows {
		ids, cats, teams, projects = append(ids, r.id), append(cats, r.category), append(teams, r.team), append(projects, r.project)
		created, started, finished = append(created, time.Unix(r.created, 0)), append(started, time.Unix(r.started, 0)), append(finished, time.Unix(r.finished, 0))
	}
	return data.NewFrame("", data.NewField("task_id", nil, ids), data.NewField("created", nil, created),
		data.NewField("started", nil, started), data.NewField("finished", nil, finished),
		data.NewField("cur_category", nil, cats), data.NewField("cur_team", nil, teams), data.NewField("cur_project", nil, projects))
}

// TestForecastCompletionFrames: two tasks done every day for 30 days and
// 20 open give every percentile the same date, ten days on.
func TestForecastCompletionFrames(t *testing.T) {
	asOf := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	day0 := asOf.Unix()/86400*86400 - 30*86400
	var rows []taskSummary
	for d := int64(0); d < 30; d++ {
		for k := 0; k < 2; k++ {
			ts := day0 + d*86400 + int64(k)*3600
			rows = append(rows, taskSummary{id: "done", category: "done", team: "a", created: ts - 1000, started: ts - 500, finished: ts})
		}
	}
	for k := 0; k < 20; k++ {
		rows = append(rows, taskSummary{id: "open", category: "todo", team: "a", created: day0 + 100})
	}
	q, err := ParseForecast([]byte(`{"mode":"completion","historyDays":30,"trials":500}`))
	require.NoError(t, err)
	b, err := q.Build(Env{To: asOf, MaxRows: 1000})
	require.NoError(t, err)
	require.Len(t, b.Plans, 1)
	_, _, err = SQL(b.Plans[0], Catalog())
	require.NoError(t, err)
	frames, notices, err := b.Frames([]*data.Frame{summaries(rows...)})
	require.NoError(t, err)
	require.Len(t, frames, 2)
	burn, dates := frames[0], frames[1]
	require.Equal(t, data.FrameTypeTimeSeriesWide, burn.Meta.Type)
	require.Equal(t, []string{"time", "done", "scope", "p50", "p70", "p85", "p95"}, names(burn))
	require.Equal(t, []string{"percentile", "date", "days", "within_horizon"}, names(dates))
	want := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) // 20 items at 2 a day: done by the end of the 10th day
	for i := 0; i < dates.Rows(); i++ {
		require.Equal(t, want, *dates.Fields[1].At(i).(*time.Time))
		require.Equal(t, 9.0, *dates.Fields[2].At(i).(*float64))
	}
	require.Contains(t, notices[0], "Monte Carlo completion forecast for 20 remaining items: 500 trials over 30 days")
	require.Contains(t, notices[1], "backtest: needs")
	// The numeric form for alerts: days to the P85 date, or past the due date.
	q, err = ParseForecast([]byte(`{"mode":"completion","historyDays":30,"trials":500,"format":"numeric","dueDate":"2026-11-25","groupBy":["team"]}`))
	require.NoError(t, err)
	b, err = q.Build(Env{To: asOf, MaxRows: 1000})
	require.NoError(t, err)
	frames, _, err = b.Frames([]*data.Frame{summaries(rows...)})
	require.NoError(t, err)
	require.Len(t, frames, 1)
	require.Equal(t, data.FrameTypeNumericMulti, frames[0].Meta.Type)
	require.Equal(t, "days_late_p85", frames[0].Fields[0].Name)
	require.Equal(t, data.Labels{"team": "a"}, frames[0].Fields[0].Labels)
	require.Equal(t, 4.0, frames[0].Fields[0].At(0))
}

func TestForecastTrendSeasonLength(t *testing.T) {
	require.Equal(t, 24, seasonLength(3600))
	require.Equal(t, 7, seasonLength(86400))
	require.Equal(t, 288, seasonLength(300))
	require.Equal(t, 0, seasonLength(7*86400))
	require.Equal(t, 0, seasonLength(7000))
}

func TestForecastTrendGrid(t *testing.T) {
	s := data.NewFrame("", data.NewField("time", nil, []time.Time{time.Unix(0, 0), time.Unix(120, 0)}),
		data.NewField("m", nil, []*float64{ptr(1), ptr(3)}))
	y := grid(s, 0, 240, 60)
	require.Len(t, y, 3, "trailing empty buckets are dropped")
	require.Equal(t, 1.0, y[0])
	require.True(t, math.IsNaN(y[1]))
	require.Equal(t, 3.0, y[2])
}

func ptr(v float64) *float64 { return &v }

func names(f *data.Frame) []string {
	out := make([]string, len(f.Fields))
	for i, fl := range f.Fields {
		out[i] = fl.Name
	}
	return out
}
