package live

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// Source is what a Hub needs from the layers above it; pkg/plugin fills it
// with the query pipeline's SQL writer and the store.
type Source interface {
	// Read runs p (validated against the server's catalog, as every plan)
	// and returns its result as one frame whose fields are named after p's
	// outputs.
	Read(ctx context.Context, p plan.Plan) (*data.Frame, error)
	// Now is the ClickHouse server's clock, the clock of ingested_at.
	Now(ctx context.Context) (time.Time, error)
}

// Spec says what a channel streams.
type Spec struct {
	// Table is the raw table whose new rows the channel watches; ingest on
	// the stream that writes it wakes the channel at once.
	Table string
	// Scope narrows Table to the rows the channel is about.
	Scope []plan.Filter
	// Push turns new rows into the frames every subscriber gets. rows has
	// all of Table's columns, oldest ingested_at first. Push may read
	// ClickHouse; when it fails the rows are not delivered and come again
	// at the next poll.
	Push func(ctx context.Context, rows *data.Frame) (data.Frames, error)
	// Settle pushes the same rows once more at the next poll interval, for
	// a Push that reads tables a materialized view fills just after Table
	// (the kpi rollups): the second push sees what the first may have
	// missed.
	Settle bool
}

// Logger takes what the hub cannot tell a caller (a failed poll); the SDK's
// log.Logger is one.
type Logger interface {
	Warn(msg string, args ...any)
}

// ErrUnknownChannel is a channel path no live query of this data source
// registered (or one forgotten since: the plugin restarted, or the data
// source's settings changed). Running the panel's query again registers it.
var ErrUnknownChannel = errors.New("live: unknown channel: run the panel's live query again to register it")

// Hub holds a data source's live channels.
type Hub struct {
	src  Source
	cfg  Config
	log  Logger
	seed maphash.Seed

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	channels map[string]*channel
	closed   bool
}

// channel is one registered channel. Fields after mu-guarded comment are
// guarded by the hub's mu.
type channel struct {
	hub    *Hub
	key    string
	spec   Spec
	stream string
	wake   chan struct{}

	// guarded by hub.mu
	lastUsed time.Time
	subs     map[*Subscription]struct{}
	run      *run
}

// run is one poller goroutine of a channel.
type run struct {
	ready chan struct{} // closed once the baseline is done or failed
	err   error         // the baseline's failure (Register's)
	stop  context.CancelFunc
}

// NewHub returns a hub reading through src. Close it when the data source
// goes away.
func NewHub(src Source, cfg Config, log Logger) *Hub {
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{src: src, cfg: cfg, log: log, seed: maphash.MakeSeed(), ctx: ctx, cancel: cancel, channels: map[string]*channel{}}
}

// Register makes the channel of key stream spec and returns its path. When
// the channel is not polling yet, Register reads its baseline first, so a
// query that runs after Register returns misses nothing its stream will
// not bring. Call it before running the live query.
func (h *Hub) Register(ctx context.Context, key string, spec Spec) (string, error) {
	if _, ok := schema.Lookup(spec.Table); !ok || spec.Push == nil {
		return "", fmt.Errorf("live: register %s: unknown table %q or no Push", key, spec.Table)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return "", ErrClosed
	}
	ch := h.channels[key]
	if ch == nil {
		if err := h.makeRoom(); err != nil {
			h.mu.Unlock()
			return "", err
		}
		ch = h.newChannel(key, spec)
	}
	ch.lastUsed = time.Now()
	r, starter := ch.run, false
	if r == nil {
		r = &run{ready: make(chan struct{})}
		ch.run, starter = r, true
	}
	h.mu.Unlock()

	if !starter {
		select {
		case <-r.ready:
			return Path(key), r.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	wm, err := ch.baseline(ctx)
	if err != nil {
		h.mu.Lock()
		if ch.run == r {
			ch.run = nil
		}
		h.mu.Unlock()
		r.err = fmt.Errorf("live: start the channel: %w", err)
		close(r.ready)
		return "", r.err
	}
	h.start(ch, r, wm)
	close(r.ready)
	return Path(key), nil
}

// Known reports whether path names a registered channel.
func (h *Hub) Known(path string) bool {
	key, err := ParsePath(path)
	if err != nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.channels[key]
	return ok
}

// Subscribe adds a subscriber to the channel at path, starting its poll if
// it had stopped for lack of subscribers.
func (h *Hub) Subscribe(path string) (*Subscription, error) {
	key, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	ch := h.channels[key]
	if ch == nil {
		return nil, ErrUnknownChannel
	}
	s := newSubscription(ch)
	ch.subs[s] = struct{}{}
	ch.lastUsed = time.Now()
	if ch.run == nil {
		// No Register waits for this baseline: the poller reads it, and
		// retries it while ClickHouse is away.
		r := &run{ready: make(chan struct{})}
		ch.run = r
		close(r.ready)
		h.startLocked(ch, r, nil)
	}
	return s, nil
}

// Notify wakes the channels watching the table that ingest stream just
// wrote to. It never blocks: a channel already woken stays woken once, and
// its poll reads whatever arrived meanwhile. The ingest Writer calls it
// (ingest.Notifier) right after the ledger link is written.
func (h *Hub) Notify(stream string, _ int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.channels {
		if ch.stream == stream && ch.run != nil {
			select {
			case ch.wake <- struct{}{}:
			default:
			}
		}
	}
}

// Close stops every poll and ends every subscription with ErrClosed.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for _, ch := range h.channels {
		for s := range ch.subs {
			s.end(ErrClosed)
		}
	}
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}

// Channels is the number of registered channels and how many of them poll.
func (h *Hub) Channels() (registered, polling int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.channels {
		if ch.run != nil {
			polling++
		}
	}
	return len(h.channels), polling
}

func (h *Hub) newChannel(key string, spec Spec) *channel {
	t, _ := schema.Lookup(spec.Table)
	ch := &channel{hub: h, key: key, spec: spec, stream: t.Stream, wake: make(chan struct{}, 1), subs: map[*Subscription]struct{}{}}
	h.channels[key] = ch
	return ch
}

// makeRoom forgets the least recently used channel without subscribers when
// the hub is full (mu held).
func (h *Hub) makeRoom() error {
	if len(h.channels) < h.cfg.maxChannels {
		return nil
	}
	var oldest *channel
	for _, ch := range h.channels {
		if len(ch.subs) == 0 && (oldest == nil || ch.lastUsed.Before(oldest.lastUsed)) {
			oldest = ch
		}
	}
	if oldest == nil {
		return fmt.Errorf("live: %d channels have subscribers, the most a data source holds", len(h.channels))
	}
	if oldest.run != nil && oldest.run.stop != nil {
		oldest.run.stop()
	}
	oldest.run = nil
	delete(h.channels, oldest.key)
	return nil
}

func (h *Hub) start(ch *channel, r *run, wm *Watermark) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.startLocked(ch, r, wm)
}

// startLocked starts r's poller (mu held).
func (h *Hub) startLocked(ch *channel, r *run, wm *Watermark) {
	if h.closed {
		return
	}
	ctx, stop := context.WithCancel(h.ctx)
	r.stop = stop
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer stop()
		ch.poller(ctx, r, wm)
	}()
}

// unsubscribe removes s; the poller stops once the channel has been idle
// for the idle timeout.
func (ch *channel) unsubscribe(s *Subscription) {
	ch.hub.mu.Lock()
	defer ch.hub.mu.Unlock()
	delete(ch.subs, s)
	ch.lastUsed = time.Now()
}

// deliver offers frames to every subscriber.
func (ch *channel) deliver(frames data.Frames) {
	ch.hub.mu.Lock()
	subs := make([]*Subscription, 0, len(ch.subs))
	for s := range ch.subs {
		subs = append(subs, s)
	}
	ch.hub.mu.Unlock()
	p := newPush(frames)
	for _, s := range subs {
		if !s.offer(p, ch.hub.cfg.queueFrames, ch.hub.cfg.maxQueuedRows) {
			ch.unsubscribe(s)
		}
	}
}

// idle reports, for the poller r, whether it should stop: no subscribers
// for the idle timeout. It then detaches r from the channel under the same
// lock that Subscribe takes, so a new subscriber starts a new poller.
func (ch *channel) idle(r *run) bool {
	ch.hub.mu.Lock()
	defer ch.hub.mu.Unlock()
	if ch.run != r {
		return true
	}
	if len(ch.subs) > 0 || time.Since(ch.lastUsed) < ch.hub.cfg.idleTimeout {
		return false
	}
	ch.run = nil
	return true
}
