//go:build integration

package live_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/live"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// source is the plugin's live.Source in miniature: plans become SQL through
// the query package and run on the store; it counts the reads.
type source struct {
	st    *store.Store
	reads atomic.Int64
}

func (s *source) Read(ctx context.Context, p plan.Plan) (*data.Frame, error) {
	s.reads.Add(1)
	stats, err := s.st.TableStats(ctx, store.CatalogMaxAge)
	if err != nil {
		return nil, err
	}
	sql, args, err := query.SQL(p, query.ServerCatalog(stats))
	if err != nil {
		return nil, err
	}
	rows, err := s.st.Conn().Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	f, _, err := frames.ReadAll(ctx, rows, 0)
	return f, err
}

func (s *source) Now(ctx context.Context) (time.Time, error) { return s.st.Now(ctx) }

type testLog struct{ t testing.TB }

func (l testLog) Warn(msg string, args ...any) { l.t.Log(append([]any{msg}, args...)...) }

// eventsSpec streams the event_id of new task events of one project.
func eventsSpec(project string) live.Spec {
	return live.Spec{
		Table: schema.TableTaskEvents,
		Scope: []plan.Filter{{Column: "project", Op: plan.OpIn, Values: plan.Strings(project)}},
		Push: func(_ context.Context, rows *data.Frame) (data.Frames, error) {
			f, _ := rows.FieldByName(schema.ColEventID)
			return data.Frames{data.NewFrame("events", f)}, nil
		},
	}
}

// insertEvents writes task events straight to ClickHouse, as a writer other
// than kpiflow's ingest would; at, when set, is their ingested_at.
func insertEvents(t testing.TB, st *store.Store, project string, at *time.Time, ids ...string) {
	t.Helper()
	cols := []string{"ts", "task_id", "project", "state_category", schema.ColEventID}
	if at != nil {
		cols = append(cols, schema.ColIngestedAt)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := st.InsertBatch(ctx, schema.TableTaskEvents, cols, func(b driver.Batch) error {
		for _, id := range ids {
			vals := []any{time.Now().Add(-time.Hour), "T-" + id, project, schema.CategoryTodo, id}
			if at != nil {
				vals = append(vals, *at)
			}
			if err := b.Append(vals...); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
}

// collect reads event ids from sub until want are in or the time is up.
func collect(ctx context.Context, t testing.TB, sub *live.Subscription, want int) []string {
	t.Helper()
	var got []string
	for len(got) < want {
		frames, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("after %v of %d rows: %v", got, want, err)
		}
		for _, f := range frames {
			for i := 0; i < f.Rows(); i++ {
				got = append(got, f.Fields[0].At(i).(string))
			}
		}
	}
	return got
}

// quiet checks that nothing more arrives for d.
func quiet(t testing.TB, sub *live.Subscription, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	frames, err := sub.Next(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "unexpected frames %v", frames)
}

func TestIntegrationLiveWatermark(t *testing.T) {
	st, _ := chtest.MigratedStore(t)
	src := &source{st: st}
	cfg := live.DefaultConfig().WithPollInterval(100 * time.Millisecond)
	hub := live.NewHub(src, cfg, testLog{t})
	defer hub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	insertEvents(t, st, "p", nil, "before")
	key := live.Key("test-events", plan.Plan{Source: schema.TableTaskEvents, Filters: eventsSpec("p").Scope})
	path, err := hub.Register(ctx, key, eventsSpec("p"))
	require.NoError(t, err)
	sub, err := hub.Subscribe(path)
	require.NoError(t, err)
	defer sub.Close()

	t.Run("rows written straight to ClickHouse arrive once, rows out of scope and rows from before the start never", func(t *testing.T) {
		insertEvents(t, st, "p", nil, "a1", "a2")
		insertEvents(t, st, "other", nil, "x1")
		require.ElementsMatch(t, []string{"a1", "a2"}, collect(ctx, t, sub, 2))
		quiet(t, sub, 500*time.Millisecond)
	})
	t.Run("a row stamped in the same second as delivered ones arrives", func(t *testing.T) {
		now, err := st.Now(ctx)
		require.NoError(t, err)
		insertEvents(t, st, "p", &now, "s1")
		require.Equal(t, []string{"s1"}, collect(ctx, t, sub, 1))
		insertEvents(t, st, "p", &now, "s2")
		require.Equal(t, []string{"s2"}, collect(ctx, t, sub, 1))
		quiet(t, sub, 300*time.Millisecond)
	})
	t.Run("identical rows are both delivered", func(t *testing.T) {
		now, err := st.Now(ctx)
		require.NoError(t, err)
		ts := time.Unix(now.Unix()-3600, 0)
		dup := func() {
			err := st.InsertBatch(ctx, schema.TableTaskEvents, []string{"ts", "task_id", "project", "state_category", schema.ColEventID, schema.ColIngestedAt},
				func(b driver.Batch) error { return b.Append(ts, "T-d", "p", schema.CategoryTodo, "d", now) })
			require.NoError(t, err)
		}
		dup()
		require.Equal(t, []string{"d"}, collect(ctx, t, sub, 1))
		dup()
		require.Equal(t, []string{"d"}, collect(ctx, t, sub, 1))
		quiet(t, sub, 300*time.Millisecond)
	})
	t.Run("a row that becomes visible late, but within the lag, arrives", func(t *testing.T) {
		now, err := st.Now(ctx)
		require.NoError(t, err)
		newer := now.Add(2 * time.Second)
		insertEvents(t, st, "p", &newer, "n1")
		require.Equal(t, []string{"n1"}, collect(ctx, t, sub, 1))
		late := newer.Add(-cfg.Lag() + 2*time.Second)
		insertEvents(t, st, "p", &late, "late")
		require.Equal(t, []string{"late"}, collect(ctx, t, sub, 1))
		// Older than the window: the documented limit.
		tooLate := newer.Add(-cfg.Lag() - 5*time.Second)
		insertEvents(t, st, "p", &tooLate, "too-late")
		quiet(t, sub, 500*time.Millisecond)
	})
}

func TestIntegrationLiveOnePollPerChannel(t *testing.T) {
	st, _ := chtest.MigratedStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reads := func(subscribers int) int64 {
		src := &source{st: st}
		hub := live.NewHub(src, live.DefaultConfig().WithPollInterval(100*time.Millisecond), testLog{t})
		defer hub.Close()
		spec := eventsSpec("one-poll")
		path, err := hub.Register(ctx, live.Key("test-events", plan.Plan{Source: schema.TableTaskEvents, Filters: spec.Scope}), spec)
		require.NoError(t, err)
		var subs []*live.Subscription
		for range subscribers {
			s, err := hub.Subscribe(path)
			require.NoError(t, err)
			subs = append(subs, s)
		}
		start := src.reads.Load()
		insertEvents(t, st, "one-poll", nil, fmt.Sprint("e", subscribers))
		for _, s := range subs {
			require.Len(t, collect(ctx, t, s, 1), 1)
		}
		time.Sleep(time.Second)
		for _, s := range subs {
			s.Close()
		}
		return src.reads.Load() - start
	}
	one, many := reads(1), reads(50)
	t.Logf("reads in about a second: %d with one subscriber, %d with 50", one, many)
	// About ten polls a second either way; a few more with one subscriber
	// would be noise, fifty times more a poll per subscriber.
	require.Less(t, many, 3*one+5)
}

func TestIntegrationLiveNotifyAndSlowSubscribers(t *testing.T) {
	st, _ := chtest.MigratedStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// An hour between polls: only Notify can bring rows in time.
	cfg := live.DefaultConfig().WithPollInterval(time.Hour).WithQueue(2, 3)
	hub := live.NewHub(&source{st: st}, cfg, testLog{t})
	defer hub.Close()
	spec := eventsSpec("notify")
	path, err := hub.Register(ctx, live.Key("test-events", plan.Plan{Source: schema.TableTaskEvents, Filters: spec.Scope}), spec)
	require.NoError(t, err)
	reader, err := hub.Subscribe(path)
	require.NoError(t, err)
	slow, err := hub.Subscribe(path)
	require.NoError(t, err)

	var got []string
	for i := range 6 {
		id := fmt.Sprint("n", i)
		insertEvents(t, st, "notify", nil, id)
		// Notify for another stream wakes nothing; for tasks it wakes the
		// channel, and never waits, whatever the slow subscriber does.
		hub.Notify(schema.StreamKPI, 1)
		hub.Notify(schema.StreamTasks, 1)
		got = append(got, collect(ctx, t, reader, 1)...)
	}
	require.Equal(t, []string{"n0", "n1", "n2", "n3", "n4", "n5"}, got)
	var slowGot []string
	var err2 error
	for err2 == nil {
		var fr data.Frames
		fr, err2 = slow.Next(ctx)
		for _, f := range fr {
			for i := 0; i < f.Rows(); i++ {
				slowGot = append(slowGot, f.Fields[0].At(i).(string))
			}
		}
	}
	require.ErrorIs(t, err2, live.ErrSlow, "the subscriber that never read was dropped")
	require.Empty(t, slowGot, "a dropped subscriber's queue is let go")
}

// TestIntegrationLiveClickHouseRestart kills a private ClickHouse under a
// running channel while rows are written, starts it again, and checks that
// every row stored comes exactly once.
func TestIntegrationLiveClickHouseRestart(t *testing.T) {
	srv := chtest.StartServer(t)
	db := srv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, db.Settings(t))
	require.NoError(t, err)
	defer st.Close()
	_, err = st.Migrate(ctx)
	require.NoError(t, err)

	hub := live.NewHub(&source{st: st}, live.DefaultConfig().WithPollInterval(100*time.Millisecond), testLog{t})
	defer hub.Close()
	spec := eventsSpec("restart")
	path, err := hub.Register(ctx, live.Key("test-events", plan.Plan{Source: schema.TableTaskEvents, Filters: spec.Scope}), spec)
	require.NoError(t, err)
	sub, err := hub.Subscribe(path)
	require.NoError(t, err)
	defer sub.Close()

	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			frames, err := sub.Next(ctx)
			if err != nil {
				return
			}
			mu.Lock()
			for _, f := range frames {
				for i := 0; i < f.Rows(); i++ {
					got = append(got, f.Fields[0].At(i).(string))
				}
			}
			mu.Unlock()
		}
	}()

	write := func(from, to int) {
		for i := from; i < to; i++ {
			// Failures while the server is away are fine: what counts is
			// what got stored.
			wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
			_ = st.InsertBatch(wctx, schema.TableTaskEvents, []string{"ts", "task_id", "project", "state_category", schema.ColEventID},
				func(b driver.Batch) error {
					return b.Append(time.Now(), fmt.Sprint("T-", i), "restart", schema.CategoryInProgress, fmt.Sprint("r", i))
				})
			wcancel()
			time.Sleep(10 * time.Millisecond)
		}
	}
	write(0, 30)
	require.NoError(t, srv.Kill())
	write(30, 35) // refused: the server is down
	srv.Restart(t)
	write(35, 80)

	var stored []string
	require.Eventually(t, func() bool {
		rows, err := st.Conn().Query(ctx, "SELECT event_id FROM task_events WHERE project = 'restart'")
		if err != nil {
			return false
		}
		defer rows.Close()
		stored = stored[:0]
		for rows.Next() {
			var id string
			if rows.Scan(&id) == nil {
				stored = append(stored, id)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(stored)
	}, time.Minute, 200*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	require.ElementsMatch(t, stored, got, "every stored row exactly once")
	require.GreaterOrEqual(t, len(stored), 70)
}
