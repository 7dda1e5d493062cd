//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestIntegrationForecastQueries sends every forecast mode through Grafana's
// plugin protocol over the demo dataset of the builder tests, as a
// dashboard and as an alert rule (FromAlert), and checks the answers against
// the rows computed here in Go: the task counts the forecast starts from,
// the frames' shapes, and that the numeric alert form agrees with the
// dashboard's date table.
func TestIntegrationForecastQueries(t *testing.T) {
	e := setupBuilder(t)
	to := builderNow.Add(-2 * time.Hour)
	from := to.Add(-7 * 24 * time.Hour)
	asOfDay := to.Unix() / 86400 * 86400
	alert := map[string]string{"FromAlert": "true", "X-Rule-Uid": "forecast-rule"}

	// Per task, from the dataset: latest category before the as-of time, the
	// first done time, the first in_progress time.
	type task struct {
		cat, team     string
		done, started int64
	}
	tasks := map[string]*task{}
	for _, x := range e.ds.Tasks {
		if !x.TS.Before(to) {
			continue
		}
		tk := tasks[x.TaskID]
		if tk == nil {
			tk = &task{}
			tasks[x.TaskID] = tk
		}
		tk.cat, tk.team = x.StateCategory, x.Team // events are in time order per task
		if x.StateCategory == "done" && tk.done == 0 {
			tk.done = x.TS.Unix()
		}
		if x.StateCategory == "in_progress" && tk.started == 0 {
			tk.started = x.TS.Unix()
		}
	}
	open, doneInHistory, inProgress := 0, 0, 0
	for _, tk := range tasks {
		if tk.cat != "done" {
			open++
		}
		if tk.cat == "in_progress" && tk.started > 0 {
			inProgress++
		}
		if tk.done > 0 && tk.done < asOfDay {
			doneInHistory++
		}
	}
	require.Greater(t, open, 0)
	require.Greater(t, doneInHistory, 0)

	completion := func() map[string]any {
		return map[string]any{"mode": "completion", "teams": []string{}, "projects": []string{}, "historyDays": 90,
			"trials": 10000, "percentiles": []float64{50, 70, 85, 95}}
	}
	t.Run("completion", func(t *testing.T) {
		r := e.run(t, nil, "forecast", completion(), from, to, time.Hour)
		require.Len(t, r.Frames, 2)
		burn, dates := r.Frames[0], r.Frames[1]
		require.Equal(t, data.FrameTypeTimeSeriesWide, burn.Meta.Type)
		require.Equal(t, []string{"time", "done", "scope", "p50", "p70", "p85", "p95"}, fieldNames(burn))
		require.Equal(t, []string{"percentile", "date", "days", "within_horizon"}, fieldNames(dates))
		require.Contains(t, burn.Meta.Notices[0].Text, fmt.Sprintf("completion forecast for %d remaining items", open))
		require.Contains(t, burn.Meta.Notices[0].Text, fmt.Sprintf("(%d items done", doneInHistory))
		require.Contains(t, burn.Meta.ExecutedQueryString, "FROM `task_events`")
		var last time.Time
		for i := 0; i < dates.Rows(); i++ {
			d := dates.Fields[1].At(i).(*time.Time)
			require.NotNil(t, d, "the demo team finishes within the horizon")
			require.False(t, d.Before(last), "percentile dates never go back")
			require.False(t, d.Before(time.Unix(asOfDay, 0)), "no date before the as-of day")
			last = *d
		}
		again := e.run(t, nil, "forecast", completion(), from, to, time.Hour)
		require.Equal(t, frameJSON(t, dates), frameJSON(t, again.Frames[1]), "a refresh gives the same dates")

		// The alert form: one number per series, the P85 date's distance in
		// days, equal to the dashboard's table.
		body := completion()
		body["format"] = "numeric"
		a := e.run(t, alert, "forecast", body, from, to, time.Hour)
		require.Len(t, a.Frames, 1)
		require.Equal(t, data.FrameTypeNumericMulti, a.Frames[0].Meta.Type)
		require.Equal(t, "days_to_p85", a.Frames[0].Fields[0].Name)
		require.Equal(t, *dates.Fields[2].At(2).(*float64), a.Frames[0].Fields[0].At(0))

		if os.Getenv("KPIFLOW_WRITE_FIXTURES") == "1" {
			writeFixture(t, "forecast-completion.json", r.Frames...)
		}
	})

	t.Run("completion per team as an alert, against a due date", func(t *testing.T) {
		body := completion()
		body["groupBy"] = []string{"team"}
		body["format"] = "numeric"
		body["dueDate"] = time.Unix(asOfDay, 0).UTC().Format(time.DateOnly)
		a := e.run(t, alert, "forecast", body, from, to, time.Hour)
		teams := map[string]bool{}
		for _, tk := range tasks {
			teams[tk.team] = true
		}
		require.Len(t, a.Frames, len(teams))
		for _, f := range a.Frames {
			require.Equal(t, "days_late_p85", f.Fields[0].Name)
			require.True(t, teams[f.Fields[0].Labels["team"]], "labelled by team: %v", f.Fields[0].Labels)
			require.GreaterOrEqual(t, f.Fields[0].At(0).(float64), 0.0)
		}
	})

	t.Run("how_many", func(t *testing.T) {
		target := time.Unix(asOfDay, 0).UTC().Add(14 * 24 * time.Hour).Format(time.DateOnly)
		r := e.run(t, nil, "forecast", map[string]any{"mode": "how_many", "targetDate": target, "trials": 2000}, from, to, time.Hour)
		f := r.Frames[0]
		require.Equal(t, []string{"percentile", "items", "date"}, fieldNames(f))
		for i := 1; i < f.Rows(); i++ {
			require.LessOrEqual(t, f.Fields[1].At(i).(float64), f.Fields[1].At(i-1).(float64), "a likelier count is a smaller one")
		}
		a := e.run(t, alert, "forecast", map[string]any{"mode": "how_many", "targetDate": target, "trials": 2000, "format": "numeric"}, from, to, time.Hour)
		require.Equal(t, "items_p85", a.Frames[0].Fields[0].Name)
	})

	t.Run("task_eta", func(t *testing.T) {
		r := e.run(t, nil, "forecast", map[string]any{"mode": "task_eta"}, from, to, time.Hour)
		f := r.Frames[0]
		require.Equal(t, []string{"task_id", "title", "team", "project", "state", "assignee", "started", "age", "eta_p50", "eta_p85", "basis"}, fieldNames(f))
		require.Equal(t, inProgress, f.Rows())
		for i := 0; i < f.Rows(); i++ {
			started := f.Fields[6].At(i).(time.Time)
			require.InDelta(t, float64(to.Unix()-started.Unix()), f.Fields[7].At(i).(float64), 0)
			p50, p85 := f.Fields[8].At(i).(*time.Time), f.Fields[9].At(i).(*time.Time)
			if p50 != nil && p85 != nil {
				require.False(t, p85.Before(*p50))
				require.True(t, p50.After(started))
			}
		}
		require.Contains(t, f.Meta.Notices[0].Text, "Task ETAs for")
		if os.Getenv("KPIFLOW_WRITE_FIXTURES") == "1" {
			writeFixture(t, "forecast-task-eta.json", r.Frames...)
		}
	})

	t.Run("kpi_trend", func(t *testing.T) {
		body := func() map[string]any {
			return map[string]any{"mode": "kpi_trend", "metrics": []string{"requests_per_s"}, "aggregation": "avg",
				"filters": []map[string]any{{"key": "service", "operator": "=", "value": e.kpi[0].Service}}, "interval": "1h", "horizon": 24}
		}
		r := e.run(t, nil, "forecast", body(), from, to, time.Hour)
		require.Len(t, r.Frames, 2)
		f, models := r.Frames[0], r.Frames[1]
		require.Equal(t, data.FrameTypeTimeSeriesWide, f.Meta.Type)
		require.Equal(t, []string{"time", "requests_per_s", "yhat", "yhat_lower", "yhat_upper", "yhat_lower", "yhat_upper"}, fieldNames(f))
		require.Equal(t, "80", f.Fields[3].Labels["level"])
		require.Equal(t, "95", f.Fields[5].Labels["level"])
		// The actual series is the kpi query's.
		kpi := e.run(t, nil, "kpi", map[string]any{"metrics": []string{"requests_per_s"}, "aggregation": "avg",
			"filters": body()["filters"], "interval": "1h"}, from, to, time.Hour)
		want := series(t, kpi.Frames)
		require.Len(t, want, 1)
		got := map[int64]float64{}
		n := 0
		for i := 0; i < f.Rows(); i++ {
			if v := f.Fields[1].At(i).(*float64); v != nil {
				got[f.Fields[0].At(i).(time.Time).Unix()] = *v
				n = i + 1
			}
		}
		for _, w := range want {
			require.Equal(t, w, got)
		}
		require.Equal(t, n+24, f.Rows(), "24 buckets ahead")
		for i := n; i < f.Rows(); i++ {
			y := *f.Fields[2].At(i).(*float64)
			lo80, hi80 := *f.Fields[3].At(i).(*float64), *f.Fields[4].At(i).(*float64)
			lo95, hi95 := *f.Fields[5].At(i).(*float64), *f.Fields[6].At(i).(*float64)
			require.True(t, lo95 <= lo80 && lo80 <= y && y <= hi80 && hi80 <= hi95, "bucket %d: %v %v %v %v %v", i, lo95, lo80, y, hi80, hi95)
		}
		require.Equal(t, []string{"series", "model", "alpha", "beta", "gamma", "phi", "season", "aicc", "mase"}, fieldNames(models))
		require.Equal(t, 24.0, models.Fields[6].At(0))
		require.Contains(t, f.Meta.Notices[len(f.Meta.Notices)-1].Text, "backtest: MASE")

		b := body()
		b["format"] = "numeric"
		a := e.run(t, alert, "forecast", b, from, to, time.Hour)
		require.Equal(t, data.FrameTypeNumericMulti, a.Frames[0].Meta.Type)
		require.InDelta(t, *f.Fields[2].At(f.Rows() - 1).(*float64), a.Frames[0].Fields[0].At(0).(float64), 1e-9)
		if os.Getenv("KPIFLOW_WRITE_FIXTURES") == "1" {
			writeFixture(t, "forecast-trend.json", r.Frames...)
		}
	})

	// What the forecast editor sends after a mode switch (src/types/forecast-mode-queries.json, kept
	// equal to forecastForMode by a jest test), the bundled dashboard's forecast panels and the
	// provisioned alert rule's query must all pass the backend's validation and answer.
	t.Run("editor, dashboard and alert rule queries", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join("..", "..", "src", "types", "forecast-mode-queries.json"))
		require.NoError(t, err)
		var modes map[string]map[string]any
		require.NoError(t, json.Unmarshal(raw, &modes))
		require.Len(t, modes, 4)
		for mode, q := range modes {
			if mode == "kpi_trend" {
				q["metrics"] = []string{"requests_per_s"} // sent once a metric is picked
			}
			r := e.run(t, nil, "forecast", q, from, to, time.Hour)
			require.NotEmpty(t, r.Frames, mode)
		}

		raw, err = os.ReadFile(filepath.Join("..", "..", "provisioning", "dashboards", "kpiflow", "forecast.json"))
		require.NoError(t, err)
		var dash struct {
			Panels []struct {
				Title   string           `json:"title"`
				Targets []map[string]any `json:"targets"`
			} `json:"panels"`
		}
		require.NoError(t, json.Unmarshal(raw, &dash))
		require.Len(t, dash.Panels, 5)
		for _, p := range dash.Panels {
			for _, q := range p.Targets {
				delete(q, "datasource")
				r := e.run(t, nil, q["queryType"].(string), q, from, to, time.Hour)
				require.NotEmpty(t, r.Frames, p.Title)
			}
		}

		raw, err = os.ReadFile(filepath.Join("..", "..", "provisioning", "alerting", "kpiflow-forecast.yaml"))
		require.NoError(t, err)
		var rules struct {
			Groups []struct {
				Rules []struct {
					Condition string `yaml:"condition"`
					Data      []struct {
						RefID         string         `yaml:"refId"`
						DatasourceUID string         `yaml:"datasourceUid"`
						Model         map[string]any `yaml:"model"`
					} `yaml:"data"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &rules))
		rule := rules.Groups[0].Rules[0]
		require.Equal(t, "kpiflow", rule.Data[0].DatasourceUID)
		q := rule.Data[0].Model
		a := e.run(t, alert, q["queryType"].(string), q, from, to, time.Hour)
		require.NotEmpty(t, a.Frames)
		for _, f := range a.Frames {
			require.Equal(t, data.FrameTypeNumericMulti, f.Meta.Type, "one number per team for the threshold")
			require.Equal(t, "days_late_p85", f.Fields[0].Name)
			require.NotEmpty(t, f.Fields[0].Labels["team"])
		}
	})

	t.Run("bad queries name the field", func(t *testing.T) {
		raw, err := json.Marshal(map[string]any{"refId": "A", "mode": "completion", "historyDays": 0})
		require.NoError(t, err)
		resp := queryRaw(t, e, "forecast", raw, from, to)
		require.ErrorContains(t, resp.Error, "historyDays: expected a whole number of days from 1 to 3650")
	})
}

// queryRaw sends a query's JSON as it is and returns the answer, error
// included.
func queryRaw(t *testing.T, e *builderEnv, queryType string, raw []byte, from, to time.Time) backend.DataResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp := e.p.QueryData(ctx, t, e.src, nil, backend.DataQuery{RefID: "A", QueryType: queryType, JSON: raw,
		TimeRange: backend.TimeRange{From: from, To: to}, Interval: time.Hour, MaxDataPoints: 1000})
	return resp.Responses["A"]
}

func frameJSON(t *testing.T, f *data.Frame) string {
	t.Helper()
	b, err := f.MarshalJSON()
	require.NoError(t, err)
	return string(b)
}

// writeFixture writes frames as the browser harness loads them
// (tests/fixtures/<name>, {frames: [...]} in Grafana's data frame JSON).
func writeFixture(t *testing.T, name string, frames ...*data.Frame) {
	t.Helper()
	raw := make([]json.RawMessage, len(frames))
	for i, f := range frames {
		b, err := f.MarshalJSON()
		require.NoError(t, err)
		raw[i] = b
	}
	out, err := json.MarshalIndent(map[string][]json.RawMessage{"frames": raw}, "", "  ")
	require.NoError(t, err)
	path := filepath.Join("..", "..", "tests", "fixtures", name)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, append(out, '\n'), 0o644))
	t.Logf("wrote %s", path)
}
