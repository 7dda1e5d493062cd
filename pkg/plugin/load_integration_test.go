//go:build integration

package plugin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// slowSQL runs for n half-seconds on almost no CPU: one row per block, each
// sleeping half a second.
func slowSQL(n int) string {
	return fmt.Sprintf("SELECT count() FROM (SELECT sleepEachRow(0.5) FROM system.numbers LIMIT %d SETTINGS max_block_size = 1)", n)
}

// running counts the server's queries from dashboard dash.
func running(ctx context.Context, t *testing.T, db *chtest.Database, dash string) int {
	t.Helper()
	var n uint64
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT count() FROM system.processes WHERE query_id LIKE ?", "kpiflow:%:"+dash+":%").Scan(&n))
	return int(n)
}

// sendSlow sends n requests of one slow raw SQL query each from dashboard
// dash on ctx, and returns a channel with each request's error text ("" for
// an answer without one).
func sendSlow(ctx context.Context, p *plugintest.Plugin, ds plugintest.DataSource, dash string, n, halfSeconds int) <-chan string {
	out := make(chan string, n)
	raw, _ := json.Marshal(map[string]string{"rawSql": slowSQL(halfSeconds)})
	for range n {
		go func() {
			s := ds.Settings
			req := &backend.QueryDataRequest{
				PluginContext: backend.PluginContext{OrgID: 1, PluginID: plugintest.PluginID, User: ds.User, DataSourceInstanceSettings: &s},
				Headers:       map[string]string{"X-Dashboard-Uid": dash},
				Queries:       []backend.DataQuery{{RefID: "A", QueryType: "sql", JSON: raw}},
			}
			resp, err := p.Data.QueryData(ctx, plugintest.ToProtoQueryData(req))
			switch {
			case err != nil:
				out <- err.Error()
			case resp.Responses["A"].Error != "":
				out <- resp.Responses["A"].Error
			default:
				out <- ""
			}
		}()
	}
	return out
}

// TestIntegrationCancelWithPoolFull: with the pool full (12 queries sent, 10
// connections), cancelling the requests stops every query on the server at
// once (issue 17.1). KILL QUERY used to wait for a connection of the same
// full pool and time out, so the 10 running queries went on for the whole
// query timeout.
func TestIntegrationCancelWithPoolFull(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ds := p.DataSource(t, db.JSONData(), nil)
	bg, done := context.WithTimeout(context.Background(), 2*time.Minute)
	defer done()
	dash := "full-" + db.Name[len(db.Name)-6:]

	ctx, cancel := context.WithCancel(bg)
	answers := sendSlow(ctx, p, ds, dash, 12, 200) // 100 s each, beyond the 60 s timeout
	require.Eventually(t, func() bool { return running(bg, t, db, dash) == 10 }, 20*time.Second, 50*time.Millisecond,
		"the pool's 10 connections never all ran a query")
	start := time.Now()
	cancel()
	require.Eventually(t, func() bool { return running(bg, t, db, dash) == 0 }, 5*time.Second, 50*time.Millisecond,
		"queries still run on the server after their requests were cancelled with the pool full")
	t.Logf("all gone from system.processes %v after the cancel", time.Since(start))
	for range 12 {
		select {
		case msg := <-answers:
			require.Contains(t, msg, "context canceled")
		case <-time.After(10 * time.Second):
			t.Fatal("a cancelled request did not return")
		}
	}
	// The pool serves the next query.
	r := p.QueryData(bg, t, ds, nil, rawQuery("A", "SELECT count() FROM (SELECT number FROM system.numbers LIMIT 5)", backend.TimeRange{}, nil)).Responses["A"]
	require.Equal(t, uint64(5), count(t, r))
}

// TestIntegrationBusy: admission control (issue 17.2, 17.3). No more queries
// run on the server than the pool has connections; a query past the queue
// limit is answered at once, as busy (its own category with advice), not as
// an unreachable server after the dial timeout.
func TestIntegrationBusy(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	bg, done := context.WithTimeout(context.Background(), 2*time.Minute)
	defer done()

	t.Run("pool size bounds what runs", func(t *testing.T) {
		jd := db.JSONData()
		jd["poolSize"] = 3
		ds := p.DataSource(t, jd, nil)
		dash := "pool3-" + db.Name[len(db.Name)-6:]
		answers := sendSlow(bg, p, ds, dash, 9, 2) // 1 s each
		peak := 0
		for got := 0; got < 9; {
			select {
			case msg := <-answers:
				require.Empty(t, msg, "every query waits for a connection and is answered")
				got++
			case <-time.After(20 * time.Millisecond):
				peak = max(peak, running(bg, t, db, dash))
			}
		}
		require.LessOrEqual(t, peak, 3, "more queries ran at once than poolSize allows")
		require.Positive(t, peak)
	})

	t.Run("past the queue it is busy at once", func(t *testing.T) {
		jd := db.JSONData()
		jd["poolSize"] = 2
		jd["maxQueuedQueries"] = 1
		jd["dialTimeout"] = 1
		ds := p.DataSource(t, jd, nil)
		dash := "busy-" + db.Name[len(db.Name)-6:]
		ctx, cancel := context.WithCancel(bg)
		defer cancel()
		slow := sendSlow(ctx, p, ds, dash, 3, 200) // two run, one waits
		require.Eventually(t, func() bool { return running(bg, t, db, dash) == 2 }, 20*time.Second, 50*time.Millisecond)
		time.Sleep(200 * time.Millisecond) // the third is queued
		start := time.Now()
		r := p.QueryData(bg, t, ds, nil, rawQuery("A", "SELECT 1", backend.TimeRange{}, nil)).Responses["A"]
		took := time.Since(start)
		require.Error(t, r.Error)
		msg := r.Error.Error()
		require.Contains(t, msg, "busy")
		require.Contains(t, msg, "poolSize")
		require.NotContains(t, msg, "Nothing answers")
		require.Equal(t, backend.StatusTooManyRequests, r.Status)
		require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
		require.Less(t, took, time.Second, "refused at once, not after the dial timeout")
		// The health check is not queued behind dashboards.
		res := p.CheckHealth(bg, t, ds)
		require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
		cancel()
		for range 3 {
			<-slow
		}
	})
}

// lineCounter counts the plugin's log lines and those holding a text.
type lineCounter struct {
	mu    sync.Mutex
	lines []string
}

func (c *lineCounter) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		c.lines = append(c.lines, sc.Text())
	}
	return len(b), nil
}

func (c *lineCounter) count(substr string) (n, all int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n, len(c.lines)
}

// TestIntegrationLogFloodDuringOutage: with ClickHouse unreachable, a busy
// dashboard used to log every failing query (the SDK's "Partial data
// response error", one line per query of every request: 66,869 lines in
// 10 s). Repeated errors are now logged a few times per interval, then
// counted in one summary line (issue 17.4).
func TestIntegrationLogFloodDuringOutage(t *testing.T) {
	bin := os.Getenv("KPIFLOW_PLUGIN_BIN")
	if bin == "" {
		var err error
		bin, err = plugintest.Build(t.TempDir())
		require.NoError(t, err)
	}
	logs := &lineCounter{}
	p, err := plugintest.Launch(plugintest.Options{Binary: bin, Log: logs, LogLevel: hclog.Info})
	require.NoError(t, err)
	t.Cleanup(p.Kill)
	ds := p.DataSource(t, map[string]any{"host": "127.0.0.1", "port": closedPort(t), "dialTimeout": 1}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const requests, perRequest = 100, 5
	var failed atomic.Int64
	var wg sync.WaitGroup
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qs := make([]backend.DataQuery, perRequest)
			for k := range qs {
				qs[k] = rawQuery(fmt.Sprintf("Q%d", k), fmt.Sprintf("SELECT %d", i), backend.TimeRange{}, nil)
			}
			for _, r := range p.QueryData(ctx, t, ds, nil, qs...).Responses {
				if r.Error != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int64(requests*perRequest), failed.Load(), "every query fails while the server is down")
	time.Sleep(11 * time.Second) // one summary interval (10 s) passes
	partial, all := logs.count("Partial data response error")
	summaries, _ := logs.count("suppressed")
	t.Logf("%d failing queries: %d log lines, %d of them 'Partial data response error', %d summaries", requests*perRequest, all, partial, summaries)
	require.LessOrEqual(t, partial, 20, "failing queries are not logged one line each")
	require.Positive(t, summaries, "the suppressed lines are counted in a summary")
	require.Less(t, all, 100)
}
