//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// liveEnv is a running plugin with a migrated data source, for live tests.
type liveEnv struct {
	t   *testing.T
	ctx context.Context
	p   *plugintest.Plugin
	db  *chtest.Database
	ds  plugintest.DataSource
}

func newLiveEnv(t *testing.T, p *plugintest.Plugin, db *chtest.Database) *liveEnv {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	ds := p.DataSource(t, db.JSONData(), nil)
	res := p.CallResource(ctx, t, ds.WithRole("Admin"), "POST", "admin/migrate", nil, nil)
	require.Equal(t, 200, res.Status, string(res.Body))
	return &liveEnv{t: t, ctx: ctx, p: p, db: db, ds: ds}
}

// task is one task event as the ingest API takes it.
type task struct {
	ID, Project, State, Category, EventID string
	TS                                    time.Time
}

func (tk task) json() string {
	s := fmt.Sprintf(`{"ts": %d, "task_id": %q, "project": %q, "team": "team-a", "title": "Task %s", "state": %q, "state_category": %q`,
		tk.TS.UnixMilli(), tk.ID, tk.Project, tk.ID, tk.State, tk.Category)
	if tk.EventID != "" {
		s += fmt.Sprintf(`, "event_id": %q`, tk.EventID)
	}
	return s + "}"
}

// ingestTasks sends events through the plugin's ingest API; key, when set,
// is the Idempotency-Key. It returns the HTTP status.
func (e *liveEnv) ingestTasks(key string, tasks ...task) plugintest.Response {
	e.t.Helper()
	parts := make([]string, len(tasks))
	for i, tk := range tasks {
		parts[i] = tk.json()
	}
	h := map[string]string{"Content-Type": "application/json"}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return e.p.CallResource(e.ctx, e.t, e.ds, "POST", "ingest/tasks", h, []byte("["+strings.Join(parts, ",")+"]"))
}

// insertTasks writes events straight to ClickHouse, as another writer would.
func (e *liveEnv) insertTasks(ctx context.Context, tasks ...task) error {
	b, err := e.db.Conn.PrepareBatch(ctx, "INSERT INTO "+e.db.Name+".task_events (ts, task_id, project, team, title, state, state_category, event_id)")
	if err != nil {
		return err
	}
	for _, tk := range tasks {
		if err := b.Append(tk.TS, tk.ID, tk.Project, "team-a", "Task "+tk.ID, tk.State, tk.Category, tk.EventID); err != nil {
			_ = b.Abort()
			return err
		}
	}
	return b.Send()
}

func (e *liveEnv) queryLive(headers map[string]string, queryType string, body map[string]any, from, to time.Time) backend.DataResponse {
	e.t.Helper()
	body["refId"], body["queryType"] = "A", queryType
	raw, err := json.Marshal(body)
	require.NoError(e.t, err)
	resp := e.p.QueryData(e.ctx, e.t, e.ds, headers, backend.DataQuery{RefID: "A", QueryType: queryType, JSON: raw,
		TimeRange: backend.TimeRange{From: from, To: to}, Interval: time.Minute, MaxDataPoints: 1000})
	r := resp.Responses["A"]
	require.NoError(e.t, r.Error, "%s", raw)
	return r
}

// collector reads a RunStream call in the background.
type collector struct {
	mu     sync.Mutex
	frames []*data.Frame
	at     []time.Time
	err    error
	cancel context.CancelFunc
}

func (e *liveEnv) run(ds plugintest.DataSource, path string) *collector {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	s := e.p.RunStream(ctx, e.t, ds, path)
	c := &collector{cancel: cancel}
	e.t.Cleanup(cancel)
	go func() {
		for {
			f, err := s.Next()
			c.mu.Lock()
			if err != nil {
				c.err = err
				c.mu.Unlock()
				return
			}
			c.frames = append(c.frames, f)
			c.at = append(c.at, time.Now())
			c.mu.Unlock()
		}
	}()
	return c
}

// column reads one string column of every frame received, in order.
func (c *collector) column(name string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, f := range c.frames {
		fld, _ := f.FieldByName(name)
		if fld == nil {
			continue
		}
		for i := 0; i < fld.Len(); i++ {
			v := fld.At(i)
			if x, ok := v.(*float64); ok && x != nil {
				v = *x
			}
			out = append(out, fmt.Sprint(deref(v)))
		}
	}
	return out
}

func (c *collector) waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	require.Eventually(t, ok, 30*time.Second, 20*time.Millisecond, "waiting for %s (stream error: %v)", what, c.err)
}

func TestIntegrationLiveThroughPluginProtocol(t *testing.T) {
	p := plugintest.Start(t)
	e := newLiveEnv(t, p, chtest.NewDatabase(t))
	now := time.Now()
	res := e.ingestTasks("", task{ID: "L-1", Project: "live", State: "Backlog", Category: "todo", TS: now.Add(-48 * time.Hour)})
	require.Equal(t, 200, res.Status, string(res.Body))

	tasksQuery := func() map[string]any {
		return map[string]any{"view": "tasks", "projects": []string{"live"}, "live": true}
	}
	r := e.queryLive(nil, "taskflow", tasksQuery(), now.Add(-7*24*time.Hour), now)
	require.Len(t, r.Frames, 2, "the events frame, then the view")
	events, view := r.Frames[0], r.Frames[1]
	require.Equal(t, "events", events.Name)
	require.Equal(t, 0, events.Rows())
	require.True(t, strings.HasPrefix(events.Meta.Channel, "ds/"+e.ds.Settings.UID+"/live/"), events.Meta.Channel)
	require.Equal(t, 1, view.Rows())
	path := plugintest.ChannelPath(t, events)

	t.Run("every view of a scope shares the channel; another scope has its own", func(t *testing.T) {
		cfd := e.queryLive(nil, "taskflow", map[string]any{"view": "cfd", "projects": []string{"live"}, "live": true}, now.Add(-7*24*time.Hour), now)
		require.Equal(t, events.Meta.Channel, cfd.Frames[0].Meta.Channel)
		other := e.queryLive(nil, "taskflow", map[string]any{"view": "tasks", "projects": []string{"other"}, "live": true}, now.Add(-time.Hour), now)
		require.NotEqual(t, events.Meta.Channel, other.Frames[0].Meta.Channel)
	})
	t.Run("an alert rule's query gets no channel, a dora query says live is not for it", func(t *testing.T) {
		alert := e.queryLive(map[string]string{"FromAlert": "true"}, "taskflow", tasksQuery(), now.Add(-time.Hour), now)
		for _, f := range alert.Frames {
			require.Empty(t, f.Meta.Channel)
		}
		dora := e.queryLive(nil, "dora", map[string]any{"metric": "deployment_frequency", "live": true}, now.Add(-7*24*time.Hour), now)
		require.Empty(t, dora.Frames[0].Meta.Channel)
		require.Contains(t, notices(dora), "Live updates are available for kpi and taskflow queries")
	})
	t.Run("SubscribeStream checks the channel and the user's role; PublishStream is refused", func(t *testing.T) {
		require.Equal(t, backend.SubscribeStreamStatusOK, p.SubscribeStream(e.ctx, t, e.ds, path).Status)
		require.Equal(t, backend.SubscribeStreamStatusOK, p.SubscribeStream(e.ctx, t, e.ds.WithRole("Viewer"), path).Status)
		require.Equal(t, backend.SubscribeStreamStatusPermissionDenied, p.SubscribeStream(e.ctx, t, e.ds.WithRole("None"), path).Status)
		for _, bad := range []string{"live/aaaaaaaaaaaaaaaaaaaaaaaaaa", "live/../etc", "other", ""} {
			require.Equal(t, backend.SubscribeStreamStatusNotFound, p.SubscribeStream(e.ctx, t, e.ds, bad).Status, bad)
		}
		require.Equal(t, backend.PublishStreamStatusPermissionDenied, p.PublishStream(e.ctx, t, e.ds, path, []byte(`{}`)).Status)
	})
	t.Run("RunStream pushes events from the plugin's ingest at once and from other writers within two polls", func(t *testing.T) {
		c := e.run(e.ds, path)
		time.Sleep(300 * time.Millisecond) // the subscription is on
		sent := time.Now()
		res := e.ingestTasks("", task{ID: "L-1", Project: "live", State: "In Progress", Category: "in_progress", TS: time.Now()},
			task{ID: "X-1", Project: "elsewhere", State: "Done", Category: "done", TS: time.Now()})
		require.Equal(t, 200, res.Status, string(res.Body))
		c.waitFor(t, "the ingested event", func() bool { return len(c.column("task_id")) == 1 })
		require.Equal(t, []string{"in_progress"}, c.column("state_category"))
		t.Logf("ingest call → frame: %s", c.at[0].Sub(sent))

		sent = time.Now()
		require.NoError(t, e.insertTasks(e.ctx, task{ID: "L-2", Project: "live", State: "Backlog", Category: "todo", TS: time.Now(), EventID: "direct-1"}))
		c.waitFor(t, "the event written straight to ClickHouse", func() bool { return len(c.column("task_id")) == 2 })
		require.Equal(t, []string{"L-1", "L-2"}, c.column("task_id"))
		require.Equal(t, "direct-1", c.column("event_id")[1])
		t.Logf("insert straight to ClickHouse → frame: %s", c.at[1].Sub(sent))
	})
	t.Run("a kpi query streams the buckets new samples fall in, with the values a fresh query gives", func(t *testing.T) {
		bucket := time.Now().Truncate(time.Minute)
		res := p.CallResource(e.ctx, t, e.ds, "POST", "ingest/kpi", map[string]string{"Content-Type": "application/json"},
			kpiJSON(bucket, `"metric": "deploys", "value": 1, "team": "a"`, `"metric": "deploys", "value": 3, "team": "b"`))
		require.Equal(t, 200, res.Status, string(res.Body))
		q := func() map[string]any {
			return map[string]any{"metrics": []string{"deploys"}, "aggregation": "sum", "groupBy": []string{"team"}, "interval": "1m", "live": true}
		}
		r := e.queryLive(nil, "kpi", q(), bucket.Add(-time.Hour), bucket.Add(time.Minute))
		require.Len(t, r.Frames, 1, "one frame in Grafana Live's labels layout")
		f := r.Frames[0]
		require.Equal(t, []string{"labels", "time", "sum"}, fieldNames(f))
		require.Equal(t, 2, f.Rows())
		require.Equal(t, `{metric="deploys", team="a"}`, f.Fields[0].At(0))
		c := e.run(e.ds, plugintest.ChannelPath(t, f))
		time.Sleep(300 * time.Millisecond)

		res = p.CallResource(e.ctx, t, e.ds, "POST", "ingest/kpi", map[string]string{"Content-Type": "application/json"},
			kpiJSON(bucket.Add(10*time.Second), `"metric": "deploys", "value": 5, "team": "a"`))
		require.Equal(t, 200, res.Status, string(res.Body))
		c.waitFor(t, "the bucket again", func() bool { return len(c.column("labels")) > 0 })
		require.Contains(t, c.column("sum"), "6", "team a's bucket now sums 1 + 5")

		q2 := q()
		delete(q2, "live")
		snap := e.queryLive(nil, "kpi", q2, bucket.Add(-time.Hour), bucket.Add(time.Minute))
		got := series(t, snap.Frames)
		require.Equal(t, 6.0, got[seriesKey("deploys", map[string]string{"team": "a"})][bucket.Unix()])
	})
	t.Run("one poll per channel however many RunStream calls", func(t *testing.T) {
		pollsBetween := func(from, to time.Time) uint64 {
			require.NoError(t, e.db.Conn.Exec(e.ctx, "SYSTEM FLUSH LOGS"))
			var n uint64
			require.NoError(t, e.db.Conn.QueryRow(e.ctx,
				"SELECT count() FROM system.query_log WHERE type = 1 AND query_id LIKE ? AND event_time >= ? AND event_time < ?",
				"kpiflow:live:"+e.ds.Settings.UID+":%", from, to).Scan(&n))
			return n
		}
		// The channels opened above keep polling; count them all, first
		// with one subscriber each, then with twenty more on one channel.
		t0 := time.Now().Truncate(time.Second).Add(time.Second)
		time.Sleep(time.Until(t0.Add(3 * time.Second)))
		for range 20 {
			e.run(e.ds, path)
		}
		t1 := time.Now().Truncate(time.Second).Add(time.Second)
		time.Sleep(time.Until(t1.Add(3 * time.Second)))
		before, after := pollsBetween(t0, t0.Add(3*time.Second)), pollsBetween(t1, t1.Add(3*time.Second))
		t.Logf("live polls in 3 s: %d before, %d with 20 more subscribers", before, after)
		require.Greater(t, before, uint64(0))
		require.Less(t, after, 2*before+3)
	})
}

// TestIntegrationLiveClickHouseRestart kills a private ClickHouse while a
// live stream runs and rows are written through the plugin's ingest (with
// retries, as a client would) and straight to ClickHouse, then starts it
// again: the stream, read through RunStream over gRPC, must carry every
// stored event exactly once.
func TestIntegrationLiveClickHouseRestart(t *testing.T) {
	srv := chtest.StartServer(t)
	p := plugintest.Start(t)
	e := newLiveEnv(t, p, srv.NewDatabase(t))
	now := time.Now()
	r := e.queryLive(nil, "taskflow", map[string]any{"view": "wip", "projects": []string{"r"}, "live": true}, now.Add(-time.Hour), now)
	c := e.run(e.ds, plugintest.ChannelPath(t, r.Frames[0]))
	time.Sleep(300 * time.Millisecond)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	writer := func(name string, write func(i int) bool) {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for attempt := 0; !write(i); attempt++ {
				// A client retries what failed; the server may be down.
				require.Less(t, attempt, 200, "%s %d never stored", name, i)
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wg.Add(2)
	// A retry resends the same batch under the same Idempotency-Key, so the
	// event's time is fixed once per event, not per attempt (a changed row
	// under a used key is rightly a 409).
	ingestedEvent, ingestedAt := -1, time.Time{}
	go writer("ingest", func(i int) bool {
		id := fmt.Sprint("ing-", i)
		if i != ingestedEvent {
			ingestedEvent, ingestedAt = i, time.Now()
		}
		res := e.ingestTasks(id, task{ID: id, Project: "r", State: "Doing", Category: "in_progress", TS: ingestedAt, EventID: id})
		if res.Status != 200 && res.Status != 503 {
			t.Errorf("ingest %s: %d %s", id, res.Status, res.Body)
		}
		return res.Status == 200
	})
	go writer("direct", func(i int) bool {
		id := fmt.Sprint("dir-", i)
		ctx, cancel := context.WithTimeout(e.ctx, 3*time.Second)
		defer cancel()
		// A failed insert may still have stored its row (the answer was
		// lost); the comparison below is with what ClickHouse holds, and
		// the retry writes the same row, so both copies must come.
		return e.insertTasks(ctx, task{ID: id, Project: "r", State: "Doing", Category: "in_progress", TS: time.Now(), EventID: id}) == nil
	})
	time.Sleep(2 * time.Second)
	require.NoError(t, srv.Kill())
	time.Sleep(time.Second)
	srv.Restart(t)
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()

	var stored []string
	rows, err := e.db.Conn.Query(e.ctx, "SELECT event_id FROM "+e.db.Name+".task_events WHERE project = 'r'")
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		stored = append(stored, id)
	}
	require.NoError(t, rows.Close())
	c.waitFor(t, fmt.Sprintf("%d stored events", len(stored)), func() bool { return len(c.column("event_id")) >= len(stored) })
	time.Sleep(2 * time.Second)
	got := c.column("event_id")
	require.ElementsMatch(t, stored, got, "each stored event exactly once")
	var ingested, direct int
	for _, id := range stored {
		if strings.HasPrefix(id, "ing-") {
			ingested++
		} else {
			direct++
		}
	}
	t.Logf("%d events through ingest and %d straight to ClickHouse across the restart, each streamed once", ingested, direct)
	// A busy machine writes few; what matters is rows on both sides of the
	// restart, which the timing gives.
	require.GreaterOrEqual(t, ingested, 3)
	require.GreaterOrEqual(t, direct, 3)
	require.NoError(t, ignoreEOF(c.err))
}

func ignoreEOF(err error) error {
	if err == nil || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "context canceled") {
		return nil
	}
	return err
}
