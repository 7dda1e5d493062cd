package demo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var testNow = time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)

func TestGenerateIsDeterministic(t *testing.T) {
	o := Options{Seed: 42, Days: 14, Now: testNow}
	a, b := Generate(o), Generate(o)
	require.True(t, reflect.DeepEqual(a, b), "same options must give the same dataset")

	c := Generate(Options{Seed: 43, Days: 14, Now: testNow})
	require.NotEqual(t, a.Deployments[0].DeploymentID, c.Deployments[0].DeploymentID, "another seed gives other rows")
}

func TestGenerateRowsDoNotDependOnTheWindow(t *testing.T) {
	// A run one day later, or over a longer window, must agree row for row on
	// the days both cover, so the ingest dedupe makes re-runs idempotent.
	a := Generate(Options{Seed: 7, Days: 10, Now: testNow})
	b := Generate(Options{Seed: 7, Days: 20, Now: testNow.Add(24 * time.Hour)})
	from, to := a.From.Add(48*time.Hour), a.To.Add(-48*time.Hour) // away from both windows' edges

	kpiA := map[string]KPISample{}
	for _, s := range a.KPI {
		kpiA[s.EventID] = s
	}
	n := 0
	for _, s := range b.KPI {
		if s.TS.Before(from) || s.TS.After(to) {
			continue
		}
		n++
		require.Equal(t, s, kpiA[s.EventID], "KPI sample %s", s.EventID)
	}
	require.Greater(t, n, 1000)

	depA := map[string]Deployment{}
	for _, d := range a.Deployments {
		depA[d.DeploymentID] = d
	}
	n = 0
	for _, d := range b.Deployments {
		if d.FinishedAt.Before(from) || d.FinishedAt.After(to) {
			continue
		}
		n++
		require.Equal(t, d, depA[d.DeploymentID])
	}
	require.Greater(t, n, 20)

	evA := map[string]TaskEvent{}
	for _, e := range a.Tasks {
		evA[e.EventID] = e
	}
	n = 0
	for _, e := range b.Tasks {
		if e.TS.Before(from) || e.TS.After(to) {
			continue
		}
		if got, ok := evA[e.EventID]; ok && got.TS.Equal(a.From) {
			continue // a's snapshot of a task already under way at its From
		}
		n++
		require.Equal(t, e, evA[e.EventID])
	}
	require.Greater(t, n, 20)
}

func TestGenerateShape(t *testing.T) {
	ds := Generate(Options{Seed: 1, Days: 30, Now: testNow})
	require.Equal(t, testNow, ds.To)
	require.Equal(t, testNow.Add(-30*24*time.Hour), ds.From)

	t.Run("team tree", func(t *testing.T) {
		parents := map[string]string{}
		for _, tm := range ds.Teams {
			parents[tm.Team] = tm.Parent
		}
		require.Equal(t, "", parents["acme"])
		leaves := 0
		for _, tm := range ds.Teams {
			if tm.Parent == "" {
				continue
			}
			require.Contains(t, parents, tm.Parent, "team %s's parent exists", tm.Team)
			if parents[tm.Parent] != "" {
				leaves++
				require.Equal(t, "acme", parents[tm.Parent], "three levels: org, group, team")
			}
		}
		require.Equal(t, DefaultTeams, leaves)
		require.Len(t, ds.Projects, DefaultTeams)
	})

	t.Run("all rows in the window and sorted", func(t *testing.T) {
		in := func(ts time.Time) {
			require.False(t, ts.Before(ds.From) || ts.After(ds.To), "%s outside the window", ts)
		}
		for i, s := range ds.KPI {
			in(s.TS)
			if i > 0 {
				require.False(t, s.TS.Before(ds.KPI[i-1].TS), "KPI sorted by ts")
			}
		}
		for _, e := range ds.Tasks {
			in(e.TS)
		}
		for _, d := range ds.Deployments {
			in(d.FinishedAt)
		}
		for _, inc := range ds.Incidents {
			in(inc.OpenedAt)
		}
		for _, p := range ds.Pipelines {
			in(p.StartedAt)
		}
		require.True(t, slices.IsSortedFunc(ds.Tasks, func(a, b TaskEvent) int { return a.TS.Compare(b.TS) }))
	})

	t.Run("event ids are unique per stream", func(t *testing.T) {
		for _, stream := range Streams() {
			seen := map[string]bool{}
			for c, err := range ds.Chunks(stream, 100000) {
				require.NoError(t, err)
				sc := bufio.NewScanner(bytes.NewReader(c.Body))
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					var row struct {
						EventID string `json:"event_id"`
					}
					require.NoError(t, json.Unmarshal(sc.Bytes(), &row))
					require.False(t, seen[row.EventID], "%s: duplicate event_id %s", stream, row.EventID)
					seen[row.EventID] = true
				}
			}
			require.Len(t, seen, ds.Len(stream), stream)
		}
	})

	t.Run("tasks move todo to in progress to done", func(t *testing.T) {
		byTask := map[string][]TaskEvent{}
		for _, e := range ds.Tasks {
			byTask[e.TaskID] = append(byTask[e.TaskID], e)
		}
		order := map[string]int{CategoryTodo: 0, CategoryInProgress: 1, CategoryDone: 2}
		var cycles []float64
		blocked, done := 0, 0
		for id, evs := range byTask {
			for i := 1; i < len(evs); i++ {
				require.LessOrEqual(t, order[evs[i-1].StateCategory], order[evs[i].StateCategory], "task %s goes forward", id)
				if evs[i].State == StateBlocked {
					blocked++
					require.Len(t, evs[i].BlockedBy, 1)
				}
			}
			last := evs[len(evs)-1]
			if last.StateCategory == CategoryDone && last.Kind != "epic" {
				done++
				for _, e := range evs {
					if e.StateCategory == CategoryInProgress && e.TS.After(ds.From) {
						cycles = append(cycles, last.TS.Sub(e.TS).Hours()/24)
						break
					}
				}
			}
		}
		require.Greater(t, done, 100)
		require.Greater(t, blocked, 5)
		sort.Float64s(cycles)
		median := cycles[len(cycles)/2]
		require.Greater(t, median, 0.5, "median cycle time in days")
		require.Less(t, median, 10.0)
		require.Greater(t, cycles[len(cycles)*95/100], 2*median, "a long right tail, as lognormal cycle times have")
	})

	t.Run("deployments and incidents", func(t *testing.T) {
		prod, linked := 0, map[string]bool{}
		for _, inc := range ds.Incidents {
			if inc.CausedByDeployment != "" {
				linked[inc.CausedByDeployment] = true
			}
			if inc.ResolvedAt != nil {
				require.True(t, inc.ResolvedAt.After(inc.OpenedAt))
			}
		}
		ids := map[string]bool{}
		for _, d := range ds.Deployments {
			ids[d.DeploymentID] = true
			require.Len(t, d.CommitSHA, 40)
			if d.FirstCommitAt != nil {
				require.True(t, d.FirstCommitAt.Before(d.FinishedAt))
			}
			if d.Environment == "production" {
				prod++
			}
		}
		require.Greater(t, prod, 30*len(ds.Services)/2, "several production deployments per service per weekday")
		n := 0
		for id := range linked {
			if ids[id] {
				n++
			}
		}
		cfr := float64(n) / float64(prod)
		require.Greater(t, cfr, 0.03)
		require.Less(t, cfr, 0.2)
	})

	t.Run("kpi seasonality", func(t *testing.T) {
		// requests_per_s is busier at 14:00 than at 02:00 and on weekdays than weekends.
		var peak, night, weekday, weekend []float64
		for _, s := range ds.KPI {
			if s.Metric != "requests_per_s" || s.Service != ds.Services[0].Name {
				continue
			}
			switch s.TS.Hour() {
			case 14:
				if wd := s.TS.Weekday(); wd == time.Saturday || wd == time.Sunday {
					weekend = append(weekend, s.Value)
				} else {
					weekday = append(weekday, s.Value)
					peak = append(peak, s.Value)
				}
			case 2:
				night = append(night, s.Value)
			}
		}
		require.Greater(t, mean(peak), 2*mean(night))
		require.Greater(t, mean(weekday), 1.5*mean(weekend))
		metrics := map[string]bool{}
		for _, s := range ds.KPI {
			metrics[s.Metric] = true
		}
		for _, m := range append(ServiceMetrics(), "build_duration_s", "coverage_pct") {
			require.True(t, metrics[m], m)
		}
	})
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func TestNDJSONMatchesEncodingJSON(t *testing.T) {
	ds := Generate(Options{Seed: 3, Days: 5, Now: testNow, Teams: 3})
	check := func(t *testing.T, stream string, rows any) {
		v := reflect.ValueOf(rows)
		body, err := ds.NDJSON(stream, 0, v.Len())
		require.NoError(t, err)
		lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
		require.Len(t, lines, v.Len())
		for i, line := range lines {
			want, err := json.Marshal(v.Index(i).Interface())
			require.NoError(t, err)
			var got, exp map[string]any
			require.NoError(t, json.Unmarshal(line, &got), "%s", line)
			require.NoError(t, json.Unmarshal(want, &exp))
			require.Equal(t, exp, got)
		}
	}
	check(t, StreamTeams, ds.Teams)
	check(t, StreamKPI, ds.KPI[:2000])
	check(t, StreamTasks, ds.Tasks)
	check(t, StreamDeployments, ds.Deployments)
	check(t, StreamIncidents, ds.Incidents)
	check(t, StreamPipelines, ds.Pipelines)

	t.Run("escaping", func(t *testing.T) {
		for _, s := range []string{"plain", `quo"te\back`, "tab\tnl\n\x01", "<b>&", "ünï ✓", "bad\xffutf8", "\u2028"} {
			want, _ := json.Marshal(s)
			require.Equal(t, string(want), string(appendString(nil, s)))
		}
	})
	t.Run("non-finite numbers", func(t *testing.T) {
		require.Equal(t, "null", string(appendNumber(nil, math.NaN())))
	})
}

func TestChunks(t *testing.T) {
	ds := Generate(Options{Seed: 3, Days: 2, Now: testNow, Teams: 2})
	total, last := 0, -1
	for c, err := range ds.Chunks(StreamKPI, 500) {
		require.NoError(t, err)
		require.Equal(t, last+1, c.Index)
		require.Equal(t, total, c.From)
		require.LessOrEqual(t, c.To-c.From, 500)
		require.Equal(t, c.To-c.From, bytes.Count(c.Body, []byte("\n")))
		total, last = c.To, c.Index
	}
	require.Equal(t, len(ds.KPI), total)

	for _, tt := range []struct {
		stream string
		size   int
		err    string
	}{
		{"nope", 10, `stream: unknown stream "nope"`},
		{StreamKPI, 0, "chunk size: expected at least 1 row, got 0"},
	} {
		for _, err := range ds.Chunks(tt.stream, tt.size) {
			require.ErrorContains(t, err, tt.err)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		o   Options
		err string
	}{
		{Options{}, ""},
		{Options{Days: -1}, "days: expected 1 to 730, got -1"},
		{Options{Teams: 10}, "teams: expected 1 to 9, got 10"},
		{Options{KPIInterval: time.Second}, "kpi interval: expected 1m to 1h"},
	} {
		err := tt.o.Validate()
		if tt.err == "" {
			require.NoError(t, err)
		} else {
			require.ErrorContains(t, err, tt.err)
		}
	}
}

// BenchmarkGenerate30Days times a 30-day dataset (the size other packages'
// tests use) and, in the same iterations, a 1-day one as the baseline: the
// ratio shows how the cost grows with the window (KPI samples dominate).
func BenchmarkGenerate30Days(b *testing.B) {
	var t30, t1 time.Duration
	rows := 0
	for b.Loop() {
		start := time.Now()
		ds := Generate(Options{Seed: 1, Days: 30, Now: testNow})
		t30 += time.Since(start)
		start = time.Now()
		Generate(Options{Seed: 1, Days: 1, Now: testNow})
		t1 += time.Since(start)
		rows = len(ds.KPI) + len(ds.Tasks) + len(ds.Deployments) + len(ds.Incidents) + len(ds.Pipelines)
	}
	b.ReportMetric(t30.Seconds()/float64(b.N)*1000, "ms_30days")
	b.ReportMetric(float64(rows*b.N)/t30.Seconds(), "rows/s")
	b.ReportMetric(t30.Seconds()/t1.Seconds(), "x_1day_time")
}

// BenchmarkNDJSON compares the hand-written NDJSON encoder with
// encoding/json on the same KPI rows, alternating in each iteration.
func BenchmarkNDJSON(b *testing.B) {
	ds := Generate(Options{Seed: 1, Days: 7, Now: testNow})
	n := min(50000, len(ds.KPI))
	var ours, std time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := ds.NDJSON(StreamKPI, 0, n); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		start = time.Now()
		var buf []byte
		for i := range n {
			line, _ := json.Marshal(&ds.KPI[i])
			buf = append(append(buf, line...), '\n')
		}
		std += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/ours.Seconds(), "ndjson_rows/s")
	b.ReportMetric(float64(n*b.N)/std.Seconds(), "encoding_json_rows/s")
	b.ReportMetric(std.Seconds()/ours.Seconds(), "speedup_x")
}

func TestLatestTasks(t *testing.T) {
	ds := Generate(Options{Seed: 2, Days: 10, Now: testNow, Teams: 2})
	latest := ds.LatestTasks()
	require.True(t, slices.IsSortedFunc(latest, func(a, b TaskEvent) int { return strings.Compare(a.TaskID, b.TaskID) }))
	byID := map[string]TaskEvent{}
	for _, e := range ds.Tasks {
		if prev, ok := byID[e.TaskID]; !ok || !e.TS.Before(prev.TS) {
			byID[e.TaskID] = e
		}
	}
	require.Len(t, latest, len(byID))
	for _, e := range latest {
		require.Equal(t, byID[e.TaskID], e)
	}
}

// FuzzAppendString checks the JSON string encoder against encoding/json:
// the rows are exported, so callers may put any text in them.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\x00\x1f", "<>&", "\u2028\u2029", "\xff\xfe", "ünï"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendString(nil, s)))
	})
}
