package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

// dashboardSpan is the time range of load mode's dashboard.
const dashboardSpan = 7 * day

func (b *bench) loadMode(ctx context.Context) error {
	d := b.dataset("demo")
	if d == nil {
		d = b.sets[0]
	}
	qs := dashboardQueries()
	queries := make([]backend.DataQuery, len(qs))
	for i, q := range qs {
		queries[i] = dataQuery(string(rune('A'+i)), q, d.opts.Now, dashboardSpan, 0)
	}
	req := b.request(d, queries...)
	resp, took, err := b.pluginCall(ctx, req)
	if err != nil {
		return fmt.Errorf("warm-up dashboard request: %w", err)
	}
	if msgs := responseErrors(resp); len(msgs) > 0 {
		return fmt.Errorf("warm-up dashboard request answered errors: %s", strings.Join(msgs, "; "))
	}
	b.logf("load mode on %s: %d queries per request over %s, one request took %s ms; scenario %s; load average %s",
		d.database, len(queries), dashboardSpan, ms(took), b.cfg.scenario, loadAverage())
	if b.cfg.scenario == "cancel" {
		return b.cancelScenario(ctx, d)
	}
	fmt.Fprintln(b.out, "\n| C | requests | req/s | p50 | p95 | p99 | failed requests | peak RSS | plugin CPU | ClickHouse CPU | plugin log |")
	fmt.Fprintln(b.out, "|---|---|---|---|---|---|---|---|---|---|---|")
	var details []string
	for _, c := range b.cfg.clients {
		lr, err := b.loadLevel(ctx, req, c)
		if err != nil {
			return err
		}
		fmt.Fprintln(b.out, lr.row())
		details = append(details, lr.details()...)
	}
	fmt.Fprintln(b.out)
	for _, s := range details {
		fmt.Fprintln(b.out, s)
	}
	b.logf("load average %s", loadAverage())
	return nil
}

// levelResult is one concurrency level's figures.
type levelResult struct {
	clients   int
	elapsed   time.Duration
	latencies []time.Duration
	failed    int
	errors    map[string]int
	peak      int64
	pluginCPU float64
	chCPU     float64 // -1 when the server is not ours
	logLines  int
	logBytes  int64
	logTop    []string
	timeline  []string
}

func (b *bench) loadLevel(ctx context.Context, req *pluginv2.QueryDataRequest, clients int) (*levelResult, error) {
	pid := b.plugin.Pid()
	if err := resetPeak(pid); err != nil {
		return nil, err
	}
	st0, err := readStat(pid)
	if err != nil {
		return nil, err
	}
	ch0 := b.serverCPU()
	lines0, bytes0, msgs0 := b.logs.snapshot()
	lr := &levelResult{clients: clients, errors: map[string]int{}}

	start := time.Now()
	deadline := start.Add(b.cfg.duration)
	var mu sync.Mutex
	var upAt, firstOK time.Time
	var restartErr error
	var wg sync.WaitGroup
	if b.cfg.scenario == "restart" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := b.cfg.duration / 3
			time.Sleep(at)
			if err := b.server.Kill(); err != nil {
				restartErr = err
				return
			}
			lr.timeline = append(lr.timeline, fmt.Sprintf("ClickHouse killed at %s", at.Round(time.Millisecond)))
			time.Sleep(b.cfg.down)
			rctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if err := b.server.Restart(rctx); err != nil {
				restartErr = err
				return
			}
			mu.Lock()
			upAt = time.Now()
			mu.Unlock()
			lr.timeline = append(lr.timeline, fmt.Sprintf("ClickHouse accepting connections again at %s", upAt.Sub(start).Round(time.Millisecond)))
		}()
	}
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
				resp, took, err := b.pluginCall(cctx, req)
				cancel()
				var msgs []string
				if err != nil {
					msgs = []string{"gRPC: " + err.Error()}
				} else {
					msgs = responseErrors(resp)
				}
				now := time.Now()
				mu.Lock()
				lr.latencies = append(lr.latencies, took)
				if len(msgs) > 0 {
					lr.failed++
					for _, m := range msgs {
						lr.errors[normalizeError(m)]++
					}
				} else if !upAt.IsZero() && firstOK.IsZero() && now.Add(-took).After(upAt) {
					firstOK = now
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if restartErr != nil {
		return nil, restartErr
	}
	lr.elapsed = time.Since(start)
	if !firstOK.IsZero() {
		lr.timeline = append(lr.timeline, fmt.Sprintf("first request sent after that and fully answered at %s (%s after ClickHouse was back)",
			firstOK.Sub(start).Round(time.Millisecond), firstOK.Sub(upAt).Round(time.Millisecond)))
	} else if !upAt.IsZero() {
		lr.timeline = append(lr.timeline, "no request sent after ClickHouse came back was fully answered before the level ended")
	}
	mem, err := readMemory(pid)
	if err != nil {
		return nil, err
	}
	st1, err := readStat(pid)
	if err != nil {
		return nil, err
	}
	lr.peak, lr.pluginCPU = mem.Peak, st1.CPUSeconds-st0.CPUSeconds
	lr.chCPU = -1
	if ch1 := b.serverCPU(); ch0 >= 0 && ch1 >= 0 {
		lr.chCPU = ch1 - ch0
	}
	lines1, bytes1, msgs1 := b.logs.snapshot()
	lr.logLines, lr.logBytes = lines1-lines0, bytes1-bytes0
	for k, v := range msgs0 {
		msgs1[k] -= v
		if msgs1[k] == 0 {
			delete(msgs1, k)
		}
	}
	lr.logTop = topCounts(msgs1, 3)
	return lr, nil
}

// serverCPU is the private server's CPU seconds so far, or -1 (not ours, or
// down: a restart starts a new process, whose CPU is counted from zero).
func (b *bench) serverCPU() float64 {
	if b.server == nil || b.server.Pid() == 0 || b.cfg.scenario == "restart" {
		return -1
	}
	st, err := readStat(b.server.Pid())
	if err != nil {
		return -1
	}
	return st.CPUSeconds
}

func (lr *levelResult) row() string {
	n := len(lr.latencies)
	pct := func(p float64) string {
		if n == 0 {
			return "-"
		}
		s := slices.Clone(lr.latencies)
		slices.Sort(s)
		return s[min(n-1, int(p*float64(n)))].Round(time.Millisecond).String()
	}
	ch := "-"
	if lr.chCPU >= 0 {
		ch = fmt.Sprintf("%.1f s", lr.chCPU)
	}
	return fmt.Sprintf("| %d | %d | %.1f | %s | %s | %s | %d | %s | %.1f s | %s | %d lines, %s |",
		lr.clients, n, float64(n)/lr.elapsed.Seconds(), pct(0.50), pct(0.95), pct(0.99), lr.failed,
		mib(lr.peak), lr.pluginCPU, ch, lr.logLines, size(lr.logBytes))
}

func (lr *levelResult) details() []string {
	var out []string
	for _, t := range lr.timeline {
		out = append(out, fmt.Sprintf("C=%d: %s", lr.clients, t))
	}
	for _, e := range topCounts(lr.errors, 5) {
		out = append(out, fmt.Sprintf("C=%d error: %s", lr.clients, e))
	}
	for _, l := range lr.logTop {
		out = append(out, fmt.Sprintf("C=%d log: %s", lr.clients, l))
	}
	return out
}

// responseErrors lists the errors of a QueryData answer, one per query.
func responseErrors(resp *pluginv2.QueryDataResponse) []string {
	var out []string
	for ref, r := range resp.Responses {
		if r.Error != "" {
			out = append(out, ref+": "+r.Error)
		}
	}
	slices.Sort(out)
	return out
}

var (
	queryIDRe = regexp.MustCompile(`kpiflow:[^ ]*:[0-9a-f]{12}`)
	refIDRe   = regexp.MustCompile(`^[A-Z]: `)
	numbersRe = regexp.MustCompile(`\d+(\.\d+)?`)
)

// normalizeError makes one message of errors that differ only by query id,
// refId or numbers, so they are counted together.
func normalizeError(msg string) string {
	msg = refIDRe.ReplaceAllString(msg, "")
	msg = queryIDRe.ReplaceAllString(msg, "kpiflow:…")
	msg = numbersRe.ReplaceAllString(msg, "N")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

// slowSQL runs for up to the query timeout while using almost no CPU: one
// row per block, each sleeping half a second.
const slowSQL = "SELECT count() FROM (SELECT sleepEachRow(0.5) FROM system.numbers LIMIT %d SETTINGS max_block_size = 1)"

// cancelScenario sends n slow queries at once (n from -inflight; the pool
// holds 10 connections), waits until the server runs them, cancels every
// request, and watches system.processes until the queries are gone: a
// cancelled panel must stop its query on the server even with the pool full.
func (b *bench) cancelScenario(ctx context.Context, d *dataset) error {
	rowsLimit := 200 // 100 s, beyond the 60 s query timeout
	if b.cfg.smoke {
		rowsLimit = 20
	}
	for _, n := range b.cfg.inflight {
		q := map[string]any{"queryType": "sql", "format": "table", "rawSql": fmt.Sprintf(slowSQL, rowsLimit)}
		req := b.request(d, dataQuery("A", q, d.opts.Now, day, 0))
		cctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[string]int{}
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _, err := b.pluginCall(cctx, req)
				msg := "answered"
				if err != nil {
					msg = "gRPC: " + err.Error()
				} else if errs := responseErrors(resp); len(errs) > 0 {
					msg = errs[0]
				}
				mu.Lock()
				outcomes[normalizeError(msg)]++
				mu.Unlock()
			}()
		}
		lines0, _, msgs0 := b.logs.snapshot()
		running, err := b.waitRunning(ctx, d, min(n, 10), 10*time.Second)
		if err != nil {
			cancel()
			return err
		}
		cancelAt := time.Now()
		cancel()
		wg.Wait()
		var timeline []string
		last := running
		stopped := time.Duration(-1)
		for time.Since(cancelAt) < 75*time.Second {
			cur, err := b.countRunning(ctx, d)
			if err != nil {
				return err
			}
			if cur != last {
				timeline = append(timeline, fmt.Sprintf("%d running at +%s", cur, time.Since(cancelAt).Round(10*time.Millisecond)))
				last = cur
			}
			if cur == 0 {
				stopped = time.Since(cancelAt)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		lines1, _, msgs1 := b.logs.snapshot()
		for k, v := range msgs0 {
			msgs1[k] -= v
			if msgs1[k] == 0 {
				delete(msgs1, k)
			}
		}
		result := "still running 75 s after the cancel"
		if stopped >= 0 {
			result = fmt.Sprintf("all stopped on the server %s after the cancel", stopped.Round(10*time.Millisecond))
		}
		fmt.Fprintf(b.out, "\ncancel with %d in flight (pool of 10): %d running on the server when cancelled; %s\n", n, running, result)
		fmt.Fprintf(b.out, "  server: %s\n", strings.Join(timeline, ", "))
		fmt.Fprintf(b.out, "  clients saw: %s\n", strings.Join(topCounts(outcomes, 3), "; "))
		fmt.Fprintf(b.out, "  plugin log: %d lines: %s\n", lines1-lines0, strings.Join(topCounts(msgs1, 3), "; "))
	}
	return nil
}

// countRunning counts the plugin's queries the server is running
// (attributed query ids start with kpiflow:).
func (b *bench) countRunning(ctx context.Context, d *dataset) (int, error) {
	var n uint64
	err := d.raw.QueryRow(ctx, "SELECT count() FROM system.processes WHERE query_id LIKE 'kpiflow:%'").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count running queries: %w", err)
	}
	return int(n), nil
}

func (b *bench) waitRunning(ctx context.Context, d *dataset, want int, wait time.Duration) (int, error) {
	deadline := time.Now().Add(wait)
	for {
		n, err := b.countRunning(ctx, d)
		if err != nil || n >= want {
			return n, err
		}
		if time.Now().After(deadline) {
			return n, errors.New("the slow queries did not all start on the server within " + wait.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
