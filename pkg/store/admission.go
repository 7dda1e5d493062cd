package store

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// BusyError is a query refused because every connection of the query pool
// is in use: the queue of waiting queries was full, or it waited the Query
// timeout for a connection. Classify makes it a ConnError of CategoryBusy.
type BusyError struct {
	// Running is the pool's size (all of it in use), Waiting the queries
	// queued when this one was refused.
	Running, Waiting int
	// Waited is how long the query waited (0: refused at once, the queue
	// being full).
	Waited time.Duration
}

func (e *BusyError) Error() string {
	if e.Waited > 0 {
		return fmt.Sprintf("no ClickHouse connection came free within %s: all %d are running queries and %d more queries are waiting",
			e.Waited.Round(time.Millisecond), e.Running, e.Waiting)
	}
	return fmt.Sprintf("all %d ClickHouse connections are running queries and %d more queries are waiting, the most allowed",
		e.Running, e.Waiting)
}

// gate admits queries to the query pool: at most size run at once, the others
// wait in a queue of at most maxQueue, served in ticket order: the order
// their requests arrived in (Store.Admit), then the order they asked. A
// dashboard's request thus finishes before later ones take its connections,
// instead of every request in flight progressing a little and all of them
// finishing late.
type gate struct {
	size     int
	maxQueue int

	mu      sync.Mutex
	free    int
	queue   waiters
	seq     uint64
	tickets atomic.Uint64
}

func newGate(size, maxQueue int) *gate {
	return &gate{size: size, maxQueue: maxQueue, free: size}
}

// waiter is one queued query; ready is closed when it is given a slot.
type waiter struct {
	ticket, seq uint64
	ready       chan struct{}
	index       int // in the heap; -1 once granted or gone
}

// waiters is a min-heap by (ticket, seq).
type waiters []*waiter

func (w waiters) Len() int { return len(w) }
func (w waiters) Less(i, j int) bool {
	return w[i].ticket < w[j].ticket || w[i].ticket == w[j].ticket && w[i].seq < w[j].seq
}
func (w waiters) Swap(i, j int) {
	w[i], w[j] = w[j], w[i]
	w[i].index, w[j].index = i, j
}
func (w *waiters) Push(x any) {
	x.(*waiter).index = len(*w)
	*w = append(*w, x.(*waiter))
}
func (w *waiters) Pop() any {
	old := *w
	x := old[len(old)-1]
	old[len(old)-1] = nil
	x.index = -1
	*w = old[:len(old)-1]
	return x
}

// ticketKey keeps a request's ticket in its context.
type ticketKey struct{}

// ticket is ctx's ticket (Store.Admit), or a new one: a query on its own
// is a request of its own.
func (g *gate) ticket(ctx context.Context) uint64 {
	if t, ok := ctx.Value(ticketKey{}).(uint64); ok {
		return t
	}
	return g.tickets.Add(1)
}

// enter waits for a slot and returns the function that gives it back. It
// waits at most wait; a full queue, or waiting that long, is a *BusyError,
// and ctx ending is ctx's error.
func (g *gate) enter(ctx context.Context, wait time.Duration) (func(), error) {
	ticket := g.ticket(ctx)
	g.mu.Lock()
	if g.free > 0 && len(g.queue) == 0 {
		g.free--
		g.mu.Unlock()
		return g.releaser(), nil
	}
	if len(g.queue) >= g.maxQueue {
		n := len(g.queue)
		g.mu.Unlock()
		return nil, &BusyError{Running: g.size, Waiting: n}
	}
	g.seq++
	w := &waiter{ticket: ticket, seq: g.seq, ready: make(chan struct{})}
	heap.Push(&g.queue, w)
	g.mu.Unlock()

	start := time.Now()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var err error
	select {
	case <-w.ready:
		return g.releaser(), nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
	}
	g.mu.Lock()
	if w.index < 0 {
		// Granted while giving up: hand the slot on.
		g.mu.Unlock()
		g.release()
	} else {
		heap.Remove(&g.queue, w.index)
		g.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	n := len(g.queue)
	g.mu.Unlock()
	return nil, &BusyError{Running: g.size, Waiting: n, Waited: time.Since(start)}
}

// releaser returns a function that gives the slot back once, however often
// it is called.
func (g *gate) releaser() func() {
	var once sync.Once
	return func() { once.Do(g.release) }
}

// release gives a slot to the first waiter, or back to the pool.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) > 0 {
		w := heap.Pop(&g.queue).(*waiter)
		close(w.ready)
		return
	}
	g.free++
}

// Admit marks ctx as one request: the queries run with it are served in the
// order requests were admitted, ahead of later requests' queries, when they
// have to wait for a connection. Call it once per incoming request (Grafana's
// QueryData); a query without it counts as a request of its own.
//
//	ctx = st.Admit(ctx)
//	rows, err := st.Query(ctx, who, sql)
func (s *Store) Admit(ctx context.Context) context.Context {
	if _, ok := ctx.Value(ticketKey{}).(uint64); ok {
		return ctx
	}
	return context.WithValue(ctx, ticketKey{}, s.gate.tickets.Add(1))
}
