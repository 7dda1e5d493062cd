package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
	"github.com/kpiflow/kpiflow/pkg/live"
	"github.com/kpiflow/kpiflow/pkg/query"
)

// liveProject scopes live mode's channel: the task events of one project.
const liveProject = "bench-live"

// liveMode measures issue 12's live figures through the plugin protocol:
// a live taskflow query registers a channel, -subscribers RunStream calls
// read it (plus one that never reads, which must slow nobody), and then
//
//   - ingest: -events task events sent one by one through POST ingest/tasks,
//     each timed from the ingest call's answer to its arrival at every
//     subscriber; the ingest calls' own latency is compared with the same
//     calls made before any subscriber was on (the ratio says whether fan-out
//     slows ingest);
//   - poll: -direct events inserted straight into ClickHouse with
//     clickhouse-go at random moments, each timed from the insert's return to
//     its arrival at every subscriber, against the hub's poll interval.
//
// Every subscriber must get every event exactly once.
func (b *bench) liveMode(ctx context.Context) error {
	d, st, err := b.openDatabase(ctx, "live", nil)
	if err != nil {
		return err
	}
	_ = st.Close()
	b.sets = append(b.sets, d)
	pollEvery := live.DefaultConfig().PollInterval()
	b.logf("live mode on %s: %d subscribers (+1 that never reads), %d ingested events %s apart, %d direct inserts; poll interval %s; load average %s",
		d.database, b.cfg.subscribers, b.cfg.events, b.cfg.gap, b.cfg.direct, pollEvery, loadAverage())

	// The channel: what a live task-flow panel's query registers.
	now := time.Now()
	q := dataQuery("A", map[string]any{"queryType": "taskflow", "view": "tasks", "projects": []string{liveProject}, "live": true}, now, day, 0)
	resp, _, err := b.pluginCall(ctx, b.request(d, q))
	if err != nil {
		return fmt.Errorf("live query: %w", err)
	}
	res, err := backend.FromProto().QueryDataResponse(resp)
	if err != nil {
		return fmt.Errorf("decode the live query's answer: %w", err)
	}
	r := res.Responses["A"]
	if r.Error != nil {
		return fmt.Errorf("live query: %w", r.Error)
	}
	if len(r.Frames) == 0 || r.Frames[0].Meta == nil || r.Frames[0].Meta.Channel == "" {
		return errors.New("the live query's first frame has no Meta.Channel")
	}
	parts := strings.SplitN(r.Frames[0].Meta.Channel, "/", 3)
	if len(parts) != 3 {
		return fmt.Errorf("Meta.Channel %q is not ds/<uid>/<path>", r.Frames[0].Meta.Channel)
	}
	path := parts[2]

	w := &liveWorld{b: b, d: d, seq: map[string]int{}}
	// Baseline: ingest with nobody subscribed (the channel polls already).
	pid := b.plugin.Pid()
	cpu0, err := cpuTime(pid)
	if err != nil {
		return err
	}
	before, err := w.ingest(ctx, "before", b.cfg.events/2)
	if err != nil {
		return err
	}
	cpu1, err := cpuTime(pid)
	if err != nil {
		return err
	}

	sctx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	subs := make([]*subscriber, b.cfg.subscribers)
	var wg sync.WaitGroup
	for i := range subs {
		s, err := b.plugin.OpenStream(sctx, d.ds, path)
		if err != nil {
			return err
		}
		subs[i] = &subscriber{st: s, got: map[string][]time.Time{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			subs[i].read()
		}()
	}
	// The subscriber that never reads: its frames pile up in gRPC's window,
	// then in its bounded queue, where they are coalesced (or it is dropped).
	if _, err := b.plugin.OpenStream(sctx, d.ds, path); err != nil {
		return err
	}
	// Every subscription is on once a first event reaches all of them.
	warm, err := w.ingest(ctx, "warm-up", 1)
	if err != nil {
		return err
	}
	if err := waitAll(ctx, subs, warm.ids, 30*time.Second); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	cpu2, err := cpuTime(pid)
	if err != nil {
		return err
	}
	ingested, err := w.ingest(ctx, "ingest", b.cfg.events)
	if err != nil {
		return err
	}
	if err := waitAll(ctx, subs, ingested.ids, 30*time.Second); err != nil {
		return err
	}
	cpu3, err := cpuTime(pid)
	if err != nil {
		return err
	}
	direct, err := w.insertDirect(ctx, b.cfg.direct, pollEvery)
	if err != nil {
		return err
	}
	waitErr := waitAll(ctx, subs, append(slices.Clone(ingested.ids), direct.ids...), 30*time.Second)
	time.Sleep(2 * pollEvery) // what comes late would be a duplicate
	stopStreams()
	wg.Wait()

	fmt.Fprintln(b.out, "\n| path | events | subscribers | samples | p50 | p90 | p99 | max | missing | duplicates |")
	fmt.Fprintln(b.out, "|---|---|---|---|---|---|---|---|---|---|")
	fmt.Fprintln(b.out, ingested.row("ingest accepted → frame", subs, true))
	fmt.Fprintln(b.out, ingested.row("ingest sent → frame", subs, false))
	fmt.Fprintln(b.out, direct.row("direct insert returned → frame", subs, true))
	fmt.Fprintln(b.out)
	p99 := func(xs []time.Duration) time.Duration { return percentile(xs, 0.99) }
	fmt.Fprintf(b.out, "ingest call (POST ingest/tasks, 1 event): p50 %s / p99 %s with no subscriber, p50 %s / p99 %s with %d (+1 stalled): p50 ratio %.2fx, p99 ratio %.2fx\n",
		ms(percentile(before.took, 0.5)), ms(p99(before.took)), ms(percentile(ingested.took, 0.5)), ms(p99(ingested.took)), b.cfg.subscribers,
		float64(percentile(ingested.took, 0.5))/float64(percentile(before.took, 0.5)), float64(p99(ingested.took))/float64(p99(before.took)))
	perEvent := func(cpu time.Duration, n int) time.Duration { return cpu / time.Duration(n) }
	fmt.Fprintf(b.out, "plugin CPU per ingested event: %s ms with no subscriber, %s ms with %d (%.2fx); first to last subscriber per event: p50 %s ms, p99 %s ms\n",
		ms(perEvent(cpu1-cpu0, len(before.ids))), ms(perEvent(cpu3-cpu2, len(ingested.ids))), b.cfg.subscribers,
		float64(perEvent(cpu3-cpu2, len(ingested.ids)))/float64(perEvent(cpu1-cpu0, len(before.ids))),
		ms(percentile(ingested.spread(subs), 0.5)), ms(percentile(ingested.spread(subs), 0.99)))
	fmt.Fprintf(b.out, "direct insert → frame, in poll intervals (%s): p50 %.2f, p99 %.2f, max %.2f (target under 2)\n", pollEvery,
		float64(percentile(direct.latencies(subs, true), 0.5))/float64(pollEvery),
		float64(p99(direct.latencies(subs, true)))/float64(pollEvery),
		float64(slices.Max(append(direct.latencies(subs, true), 0)))/float64(pollEvery))
	b.logf("load average %s", loadAverage())
	return waitErr
}

// liveWorld writes the events live mode times.
type liveWorld struct {
	b   *bench
	d   *dataset
	seq map[string]int
}

// sent is a batch of events and when each was sent and accepted.
type sent struct {
	ids        []string
	sent, done []time.Time
	took       []time.Duration // the write call's own latency
}

func (s *sent) add(id string, t0, t1 time.Time) {
	s.ids = append(s.ids, id)
	s.sent, s.done = append(s.sent, t0), append(s.done, t1)
	s.took = append(s.took, t1.Sub(t0))
}

func (w *liveWorld) nextID(kind string) string {
	w.seq[kind]++
	return fmt.Sprintf("%s-%d", kind, w.seq[kind])
}

func taskEventJSON(id string, ts time.Time) string {
	return fmt.Sprintf(`{"ts": %d, "task_id": %q, "event_id": %q, "project": %q, "team": "bench", "title": "Task %s", "state": "Doing", "state_category": "in_progress"}`,
		ts.UnixMilli(), id, id, liveProject, id)
}

// ingest sends n events, one per POST ingest/tasks call, -gap apart.
func (w *liveWorld) ingest(ctx context.Context, kind string, n int) (*sent, error) {
	out := &sent{}
	h := map[string]string{"Content-Type": "application/json"}
	for range n {
		id := w.nextID(kind)
		t0 := time.Now()
		res, err := w.b.plugin.Call(ctx, w.d.ds, "POST", "ingest/tasks", h, []byte("["+taskEventJSON(id, t0)+"]"))
		t1 := time.Now()
		if err != nil {
			return nil, err
		}
		if res.Status != 200 {
			return nil, fmt.Errorf("ingest %s: %d %s", id, res.Status, res.Body)
		}
		out.add(id, t0, t1)
		if err := sleep(ctx, w.b.cfg.gap); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// insertDirect inserts n events straight into ClickHouse, as another writer
// would, each after a random pause of up to two poll intervals, so the
// inserts fall at every phase of the poll.
func (w *liveWorld) insertDirect(ctx context.Context, n int, poll time.Duration) (*sent, error) {
	out := &sent{}
	for range n {
		if err := sleep(ctx, time.Duration(rand.Int64N(int64(2*poll)))); err != nil {
			return nil, err
		}
		id := w.nextID("direct")
		t0 := time.Now()
		batch, err := w.d.raw.PrepareBatch(ctx, "INSERT INTO task_events (ts, task_id, event_id, project, team, title, state, state_category)")
		if err != nil {
			return nil, fmt.Errorf("insert %s straight into ClickHouse: %w", id, err)
		}
		if err := batch.Append(t0, id, id, liveProject, "bench", "Task "+id, "Doing", "in_progress"); err != nil {
			_ = batch.Abort()
			return nil, fmt.Errorf("insert %s straight into ClickHouse: %w", id, err)
		}
		if err := batch.Send(); err != nil {
			return nil, fmt.Errorf("insert %s straight into ClickHouse: %w", id, err)
		}
		out.add(id, t0, time.Now())
	}
	return out, nil
}

// latencies are, for every subscriber and event, the time from the event's
// write (its answer when fromDone, else its request) to its first arrival.
// An event that arrived before the write call returned counts 0.
func (s *sent) latencies(subs []*subscriber, fromDone bool) []time.Duration {
	var out []time.Duration
	for _, sub := range subs {
		sub.mu.Lock()
		for i, id := range s.ids {
			at := sub.got[id]
			if len(at) == 0 {
				continue
			}
			from := s.sent[i]
			if fromDone {
				from = s.done[i]
			}
			out = append(out, max(at[0].Sub(from), 0))
		}
		sub.mu.Unlock()
	}
	return out
}

// spread is, per event, the time between its first and its last arrival
// among the subscribers: the fan-out's own share.
func (s *sent) spread(subs []*subscriber) []time.Duration {
	var out []time.Duration
	for _, id := range s.ids {
		var lo, hi time.Time
		for _, sub := range subs {
			sub.mu.Lock()
			if at := sub.got[id]; len(at) > 0 {
				if lo.IsZero() || at[0].Before(lo) {
					lo = at[0]
				}
				if at[0].After(hi) {
					hi = at[0]
				}
			}
			sub.mu.Unlock()
		}
		if !lo.IsZero() {
			out = append(out, hi.Sub(lo))
		}
	}
	return out
}

func (s *sent) row(what string, subs []*subscriber, fromDone bool) string {
	lat := s.latencies(subs, fromDone)
	var missing, dups int
	for _, sub := range subs {
		sub.mu.Lock()
		for _, id := range s.ids {
			switch n := len(sub.got[id]); {
			case n == 0:
				missing++
			case n > 1:
				dups += n - 1
			}
		}
		sub.mu.Unlock()
	}
	maxLat := time.Duration(0)
	if len(lat) > 0 {
		maxLat = slices.Max(lat)
	}
	return fmt.Sprintf("| %s | %d | %d | %d | %s ms | %s ms | %s ms | %s ms | %d | %d |", what, len(s.ids), len(subs), len(lat),
		ms(percentile(lat, 0.5)), ms(percentile(lat, 0.9)), ms(percentile(lat, 0.99)), ms(maxLat), missing, dups)
}

// subscriber is one RunStream call's reader: the packets as they came,
// and, once decoded (decodeAll), when each task id arrived.
type subscriber struct {
	st      *plugintest.Stream
	mu      sync.Mutex
	packets [][]byte
	at      []time.Time
	err     error
	got     map[string][]time.Time
}

// read keeps every packet undecoded, so that 100 decoders in this process
// do not compete with the plugin for the cores while it is measured.
func (s *subscriber) read() {
	for {
		pkt, at, err := s.st.Recv()
		s.mu.Lock()
		if err != nil {
			s.err = err
			s.mu.Unlock()
			return
		}
		s.packets, s.at = append(s.packets, pkt), append(s.at, at)
		s.mu.Unlock()
	}
}

// decodeAll decodes the packets received so far, in order, into got.
func (s *subscriber) decodeAll() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, pkt := range s.packets {
		f, err := s.st.Decode(pkt)
		if err != nil {
			return err
		}
		s.record(f, s.at[i])
	}
	s.packets, s.at = nil, nil
	return nil
}

// record notes the task ids of an events frame (mu held).
func (s *subscriber) record(f *data.Frame, at time.Time) {
	if f.Name != query.EventsFrameName {
		return
	}
	fld, _ := f.FieldByName("task_id")
	if fld == nil {
		return
	}
	for i := 0; i < fld.Len(); i++ {
		var id string
		switch v := fld.At(i).(type) {
		case string:
			id = v
		case *string:
			if v != nil {
				id = *v
			}
		}
		s.got[id] = append(s.got[id], at)
	}
}

// waitAll waits until every subscriber has every id, decoding what came
// (call it once the events it waits for are written).
func waitAll(ctx context.Context, subs []*subscriber, ids []string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		missing, firstErr := 0, error(nil)
		for _, s := range subs {
			if err := s.decodeAll(); err != nil {
				return err
			}
			s.mu.Lock()
			for _, id := range ids {
				if len(s.got[id]) == 0 {
					missing++
				}
			}
			if s.err != nil && firstErr == nil {
				firstErr = s.err
			}
			s.mu.Unlock()
		}
		switch {
		case missing == 0:
			return nil
		case firstErr != nil:
			return fmt.Errorf("%d events missing; a stream ended: %w", missing, firstErr)
		case time.Now().After(deadline):
			return fmt.Errorf("%d (subscriber, event) pairs still missing after %s", missing, limit)
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// percentile is the p-quantile of xs (nearest rank), 0 for none.
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}
