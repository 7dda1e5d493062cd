package query

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

func testEnv() Env {
	to := time.Date(2026, 11, 20, 12, 34, 56, 0, time.UTC)
	return Env{From: to.Add(-6 * time.Hour), To: to, Interval: time.Minute, MaxRows: 1000,
		TeamParents: map[string]string{"org": "", "a": "org", "a1": "a", "b": "org"}, Catalog: Catalog()}
}

// pipeline is the plugin's: the rollup choice, then nothing else.
func pipeline() Pipeline { return Pipeline{Rewriters: []Rewriter{RollupRewriter()}} }

func TestParseRejectsBadInputNamingTheField(t *testing.T) {
	cases := []struct {
		typ, body, field string
	}{
		{"kpi", `[]`, "query:"},
		{"kpi", `{"aggregation":"avg"}`, "metrics:"},
		{"kpi", `{"metrics":[""],"aggregation":"avg"}`, "metrics[0]:"},
		{"kpi", `{"metrics":["m"]}`, "aggregation:"},
		{"kpi", `{"metrics":["m"],"aggregation":"median"}`, "aggregation:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","groupBy":["host"]}`, "groupBy[0]:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","groupBy":["label:"]}`, "groupBy[0]:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","groupBy":["teamLevel:99"]}`, "groupBy[0]:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","groupBy":["team","team"]}`, "groupBy[1]:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","filters":[{"key":"host","operator":"=","value":"a"}]}`, "filters[0].key:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","filters":[{"key":"team","operator":"like","value":"a"}]}`, "filters[0].operator:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","filters":[{"key":"team","operator":"=","value":["a","b"]}]}`, "filters[0].value:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","filters":[{"key":"team","operator":"=~","value":"("}]}`, "filters[0].value:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","filters":[{"key":"team","operator":"in","value":[]}]}`, "filters[0].value:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","adhocFilters":[{"key":"x","operator":"=","value":"a"}]}`, "adhocFilters[0].key:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","interval":"5 minutes"}`, "interval:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","format":"heatmap"}`, "format:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","live":"yes"}`, "live:"},
		{"kpi", `{"metrics":"m","aggregation":"avg"}`, "metrics:"},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","Metrics":["n"]}`, "Metrics: unknown field; the field is spelled \"metrics\""},
		{"dora", `{}`, "metric:"},
		{"dora", `{"metric":"mttr"}`, "metric:"},
		{"dora", `{"metric":"lead_time","groupBy":["project"]}`, "groupBy[0]:"},
		{"dora", `{"metric":"time_to_restore","groupBy":["environment"]}`, "groupBy[0]:"},
		{"dora", `{"metric":"lead_time","format":"graph"}`, "format:"},
		{"taskflow", `{}`, "view:"},
		{"taskflow", `{"view":"kanban"}`, "view:"},
		{"taskflow", `{"view":"cycle_time","percentiles":[0]}`, "percentiles[0]:"},
		{"taskflow", `{"view":"cycle_time","percentiles":["50"]}`, "percentiles:"},
		{"taskflow", `{"view":"tasks","teams":"a"}`, "teams:"},
		{"forecast", `{}`, "queryType:"},
	}
	for _, c := range cases {
		t.Run(c.typ+" "+c.body, func(t *testing.T) {
			_, err := Parse(c.typ, []byte(c.body))
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), c.field), "error %q should start with %q", err, c.field)
		})
	}
}

func TestParseIgnoresUnknownFieldsWithANotice(t *testing.T) {
	cases := []struct {
		typ, body string
		ignored   []string
	}{
		{"kpi", `{"metrics":["m"],"aggregation":"avg","panelId":4,"extra":{"x":1}}`, []string{"extra", "panelId"}},
		{"dora", `{"metric":"lead_time","pluginVersion":"12.4.2"}`, []string{"pluginVersion"}},
		{"taskflow", `{"view":"aging","editorMode":"builder"}`, []string{"editorMode"}},
		{"kpi", `{"metrics":["m"],"aggregation":"avg"}`, nil},
	}
	for _, c := range cases {
		t.Run(c.typ+" "+c.body, func(t *testing.T) {
			q, err := Parse(c.typ, []byte(c.body))
			require.NoError(t, err)
			require.Equal(t, c.ignored, q.Base().Ignored)
			if c.ignored == nil {
				require.Empty(t, q.Base().IgnoredNotices())
				return
			}
			require.Len(t, q.Base().IgnoredNotices(), 1)
			for _, k := range c.ignored {
				require.Contains(t, q.Base().IgnoredNotices()[0], `"`+k+`"`)
			}
		})
	}
	// Known fields stay strict: a bad value is an error naming its field.
	_, err := Parse("kpi", []byte(`{"metrics":["m"],"aggregation":"avg","panelId":4,"interval":"5 minutes"}`))
	require.ErrorContains(t, err, "interval:")
	fq, err := ParseForecast([]byte(`{"mode":"completion","horizn":5}`))
	require.NoError(t, err)
	require.Equal(t, []string{"horizn"}, fq.Ignored)
	sq, err := ParseSQLQuery([]byte(`{"rawSql":"SELECT 1","panelId":4}`))
	require.NoError(t, err)
	require.Equal(t, []string{"panelId"}, sq.Ignored)
}

func TestParseToleratesGrafanaFields(t *testing.T) {
	body := `{"refId":"A","queryType":"kpi","hide":false,"live":true,"key":"Q-1","datasource":{"type":"kpiflow-clickhouse-datasource","uid":"x"},
		"datasourceId":3,"intervalMs":60000,"maxDataPoints":1200,"metrics":["m"],"aggregation":"p95","groupBy":["team","label:region","teamLevel:1"],
		"filters":[{"key":"environment","operator":"in","value":["prod","staging"]},{"key":"label:region","operator":"!~","value":"^ap-"}],
		"adhocFilters":[{"key":"service","operator":"=","value":"api"}],"interval":"5m","format":"table"}`
	q, err := Parse("kpi", []byte(body))
	require.NoError(t, err)
	kq := q.(*KPIQuery)
	require.True(t, kq.Live)
	require.Equal(t, "A", kq.RefID)
	require.True(t, kq.NeedsTeamTree())
	b, err := q.Build(testEnv())
	require.NoError(t, err)
	require.NoError(t, b.Plan.Validate(Catalog()))
	require.Equal(t, "kpi_samples", b.Plan.Source, "labels are only in kpi_samples")
}

func TestChooseKPISource(t *testing.T) {
	cases := []struct {
		name, body string
		interval   time.Duration
		table      string
	}{
		{"1m buckets read raw samples (there is no 1m rollup)", `{"metrics":["m"],"aggregation":"avg"}`, time.Minute, "kpi_samples"},
		{"30m buckets read raw samples", `{"metrics":["m"],"aggregation":"avg","interval":"30m"}`, time.Minute, "kpi_samples"},
		{"30s buckets need raw samples", `{"metrics":["m"],"aggregation":"avg"}`, 30 * time.Second, "kpi_samples"},
		{"explicit 2h from the 1h rollup", `{"metrics":["m"],"aggregation":"sum","interval":"2h"}`, time.Minute, "kpi_rollup_1h"},
		{"1d from the 1d rollup", `{"metrics":["m"],"aggregation":"last","interval":"1d"}`, time.Minute, "kpi_rollup_1d"},
		{"90m is not a multiple of 1h", `{"metrics":["m"],"aggregation":"max","interval":"90m"}`, time.Minute, "kpi_samples"},
		{"percentiles come from the rollup", `{"metrics":["m"],"aggregation":"p99","interval":"1h"}`, time.Minute, "kpi_rollup_1h"},
		{"label grouping reads raw", `{"metrics":["m"],"aggregation":"avg","groupBy":["label:k"],"interval":"1h"}`, time.Minute, "kpi_samples"},
		{"source filter reads raw", `{"metrics":["m"],"aggregation":"avg","filters":[{"key":"source","operator":"=","value":"x"}],"interval":"1h"}`, time.Minute, "kpi_samples"},
		{"team level from a rollup", `{"metrics":["m"],"aggregation":"count","groupBy":["teamLevel:1"],"interval":"1h"}`, time.Minute, "kpi_rollup_1h"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := Parse("kpi", []byte(c.body))
			require.NoError(t, err)
			env := testEnv()
			env.Interval = c.interval
			b, err := pipeline().Prepare(context.Background(), q, env)
			require.NoError(t, err)
			require.Equal(t, c.table, b.Plan.Source)
			require.Contains(t, b.Notices[0], c.table)
			require.NoError(t, b.Plan.Validate(Catalog()))
			// The aligned range covers the request in whole buckets.
			require.LessOrEqual(t, b.Plan.TimeRange.From, env.From.Unix())
			require.GreaterOrEqual(t, b.Plan.TimeRange.To, env.To.Unix())
			require.Zero(t, b.Plan.TimeRange.From%b.Plan.Bucket)
			require.Zero(t, b.Plan.TimeRange.To%b.Plan.Bucket)
		})
	}
}

func TestSQLBindsEveryValue(t *testing.T) {
	evil := `x'); DROP TABLE kpi_samples; --`
	body, _ := json.Marshal(map[string]any{"metrics": []string{evil}, "aggregation": "avg",
		"groupBy": []string{"label:region", "teamLevel:1"},
		"filters": []map[string]any{{"key": "team", "operator": "in", "value": []string{evil, "b"}},
			{"key": "label:" + "k.v", "operator": "=~", "value": "^" + strings.ReplaceAll(evil, ")", "") + ".*"}}})
	q, err := Parse("kpi", body)
	require.NoError(t, err)
	b, err := q.Build(testEnv())
	require.NoError(t, err)
	sql, args, err := SQL(b.Plan, Catalog())
	require.NoError(t, err)
	require.NotContains(t, sql, "DROP")
	require.NotContains(t, sql, "'")
	require.Equal(t, strings.Count(sql, "?"), len(args))
	require.Contains(t, args, evil)
	require.Contains(t, sql, "toDateTime(intDiv(toUInt32(`ts`), 60) * 60) AS `time`")
	require.Contains(t, sql, "transform(`team`, ?, ?, `team`) AS `team_level_1`")
	require.Contains(t, args, []string{"a1"})
	require.Contains(t, args, []string{"a"})
}

func TestSQLOfEachView(t *testing.T) {
	bodies := map[string][]string{
		"dora": {`{"metric":"deployment_frequency","groupBy":["team"]}`, `{"metric":"lead_time","format":"table"}`,
			`{"metric":"change_failure_rate","groupBy":["service","environment"],"format":"band"}`, `{"metric":"time_to_restore","environment":"staging"}`},
		"taskflow": {`{"view":"cfd"}`, `{"view":"wip","teams":["a"]}`, `{"view":"throughput","projects":["P"]}`,
			`{"view":"cycle_time","percentiles":[50,99.9]}`, `{"view":"aging"}`, `{"view":"tasks"}`},
	}
	want := map[string]string{
		`{"metric":"deployment_frequency","groupBy":["team"]}`:                                 "uniqExact(toDateTime(intDiv(toUInt32(`finished_at`), 86400) * 86400)) AS `value` FROM `deployments` FINAL",
		`{"metric":"lead_time","format":"table"}`:                                              "groupArrayIf((toInt64(toUInt32(`finished_at`)) - toInt64(toUInt32(assumeNotNull(`first_commit_at`))))",
		`{"metric":"change_failure_rate","groupBy":["service","environment"],"format":"band"}`: "countIf(`deployment_id` GLOBAL IN (SELECT `caused_by_deployment` FROM `incidents` FINAL)) / count()",
		`{"metric":"time_to_restore","environment":"staging"}`:                                 "FROM `incidents` FINAL",
		`{"view":"cfd"}`:                                "argMax(`state_category`, `ts`) AS `category` FROM `task_events`",
		`{"view":"wip","teams":["a"]}`:                  "FROM `tasks_current` FINAL WHERE `team` IN (?)",
		`{"view":"throughput","projects":["P"]}`:        "FROM (SELECT `task_id` AS `task_id`, min(`ts`) AS `done_at` FROM `task_events`",
		`{"view":"cycle_time","percentiles":[50,99.9]}`: "quantileIf(0.999)(",
		`{"view":"aging"}`:                              "minIf(`ts`, `state_category` = ?) AS `started`",
		`{"view":"tasks"}`:                              "ORDER BY `ts` DESC, `task_id` LIMIT 1001",
	}
	for typ, list := range bodies {
		for _, body := range list {
			t.Run(body, func(t *testing.T) {
				q, err := Parse(typ, []byte(body))
				require.NoError(t, err)
				b, err := q.Build(testEnv())
				require.NoError(t, err)
				sql, args, err := SQL(b.Plan, Catalog())
				require.NoError(t, err)
				require.Equal(t, strings.Count(sql, "?"), len(args))
				require.Contains(t, sql, want[body])
				raw, err := json.Marshal(b.Plan)
				require.NoError(t, err)
				var back plan.Plan
				require.NoError(t, json.Unmarshal(raw, &back))
				require.NoError(t, back.Validate(Catalog()), "a plan must survive JSON (what optimizer modules see)")
			})
		}
	}
}

func TestTeamRemap(t *testing.T) {
	parents := map[string]string{"org": "", "a": "org", "a1": "a", "a11": "a1", "b": "org", "x": "y", "y": "x"}
	r := teamRemap(parents, 1)
	got := map[string]string{}
	for i, f := range r.From {
		got[f] = r.To[i]
	}
	require.Equal(t, "a", got["a1"])
	require.Equal(t, "a", got["a11"])
	require.NotContains(t, got, "a", "a team at the level stays itself")
	require.NotContains(t, got, "org", "a team above the level stays itself")
	r0 := teamRemap(parents, 0)
	require.Contains(t, r0.From, "a11")
	require.Len(t, r0.From, len(r0.To))
}

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "5m": 5 * time.Minute, "1h30m": 90 * time.Minute, "1d": 24 * time.Hour, "2w": 14 * 24 * time.Hour} {
		got, err := ParseInterval(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "5", "m", "5x", "0s", "400d", "-5m", "1.5h"} {
		_, err := ParseInterval(in)
		require.Error(t, err, in)
	}
}

func TestBand(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	week := 7 * 86400.0
	require.Equal(t, "elite", Band(DeploymentFrequency, v(20), 4*week))
	require.Equal(t, "high", Band(DeploymentFrequency, v(4), 4*week))
	require.Equal(t, "low", Band(DeploymentFrequency, v(0), 4*week))
	require.Equal(t, "elite", Band(LeadTime, v(3600), week))
	require.Equal(t, "medium", Band(LeadTime, v(10*86400), week))
	require.Equal(t, "high", Band(ChangeFailureRate, v(0.08), week))
	require.Equal(t, "low", Band(TimeToRestore, v(8*86400), week))
	require.Equal(t, "no data", Band(TimeToRestore, nil, week))
}

func TestBucketFollowsMaxDataPoints(t *testing.T) {
	q, err := Parse("kpi", []byte(`{"metrics":["m"],"aggregation":"avg"}`))
	require.NoError(t, err)
	env := testEnv() // 6h range
	env.Interval, env.MaxDataPoints = time.Second, 100
	b, err := pipeline().Prepare(context.Background(), q, env)
	require.NoError(t, err)
	// 21600 s / 100 points = 216 s, rounded up to 5m: raw samples answer.
	require.Equal(t, int64(300), b.Plan.Bucket)
	require.Equal(t, "kpi_samples", b.Plan.Source)

	q, err = Parse("kpi", []byte(`{"metrics":["m"],"aggregation":"avg","interval":"10s"}`))
	require.NoError(t, err)
	b, err = pipeline().Prepare(context.Background(), q, env)
	require.NoError(t, err)
	require.Equal(t, int64(10), b.Plan.Bucket, "an explicit interval wins")
}

func TestExplicitIntervalWidenedOnlyPastMaxBuckets(t *testing.T) {
	q, err := Parse("kpi", []byte(`{"metrics":["m"],"aggregation":"avg","interval":"1m"}`))
	require.NoError(t, err)
	env := testEnv()
	for _, tc := range []struct {
		days   int
		bucket int64
		notice string
	}{
		{days: 30, bucket: 60},
		{days: 69, bucket: 60},
		// 90 days hold 129,600 one-minute buckets: widened to 2m, and said so.
		{days: 90, bucket: 120, notice: "The interval 1m was widened to 2m: the time range would hold 129600 buckets at 1m, more than the 100000 a series may have."},
	} {
		env.From = env.To.Add(-time.Duration(tc.days) * 24 * time.Hour)
		b, err := pipeline().Prepare(context.Background(), q, env)
		require.NoError(t, err)
		require.Equal(t, tc.bucket, b.Plan.Bucket, "%d days", tc.days)
		found := false
		for _, n := range b.Notices {
			found = found || strings.HasPrefix(n, "The interval")
			if tc.notice != "" && strings.HasPrefix(n, "The interval") {
				require.Contains(t, n, tc.notice)
			}
		}
		require.Equal(t, tc.notice != "", found, "%d days: %v", tc.days, b.Notices)
	}
}

func TestAdhocFiltersInGrafanasMultiValueForm(t *testing.T) {
	q, err := Parse("kpi", []byte(`{"metrics":["m"],"aggregation":"avg",
		"adhocFilters":[{"key":"team","operator":"=|","values":["a","b"]},{"key":"service","operator":"!=|","values":["x"]}]}`))
	require.NoError(t, err)
	b, err := q.Build(testEnv())
	require.NoError(t, err)
	sql, args, err := SQL(b.Plan, Catalog())
	require.NoError(t, err)
	require.Contains(t, sql, "`team` IN (?, ?)")
	require.Contains(t, sql, "`service` NOT IN (?)")
	require.Contains(t, args, "a")

	_, err = Parse("kpi", []byte(`{"metrics":["m"],"aggregation":"avg","adhocFilters":[{"key":"team","operator":"=|","value":"a","values":["b"]}]}`))
	require.ErrorContains(t, err, "adhocFilters[0].values:")
}

func TestTeamLevelDeeperThanTheTreeNeedsNoMapping(t *testing.T) {
	q, err := Parse("kpi", []byte(`{"metrics":["m"],"aggregation":"avg","groupBy":["teamLevel:9"]}`))
	require.NoError(t, err)
	b, err := q.Build(testEnv())
	require.NoError(t, err)
	sql, _, err := SQL(b.Plan, Catalog())
	require.NoError(t, err)
	require.NotContains(t, sql, "transform(")
	require.Contains(t, sql, "`team` AS `team_level_9`")
}
