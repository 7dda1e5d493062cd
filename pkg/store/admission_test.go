package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func withTicket(n uint64) context.Context {
	return context.WithValue(context.Background(), ticketKey{}, n)
}

// TestGateServesRequestsInOrder: with the slots taken, waiting queries get
// them by their request's ticket, whatever order they came in.
func TestGateServesRequestsInOrder(t *testing.T) {
	g := newGate(1, 10)
	hold, err := g.enter(withTicket(1), time.Minute)
	require.NoError(t, err)
	var order []uint64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, ticket := range []uint64{5, 3, 4, 3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			leave, err := g.enter(withTicket(ticket), time.Minute)
			require.NoError(t, err)
			mu.Lock()
			order = append(order, ticket)
			mu.Unlock()
			leave()
		}()
		// Queued one after the other, in this order.
		require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.queue) == i+1 }, time.Second, time.Millisecond)
	}
	hold()
	wg.Wait()
	require.Equal(t, []uint64{3, 3, 4, 5}, order)
	require.Equal(t, 1, g.free)
}

// TestGateBusy: a full queue refuses at once; a wait past its limit is busy
// too, saying how long it waited; a cancelled wait leaves the queue.
func TestGateBusy(t *testing.T) {
	g := newGate(2, 1)
	a, err := g.enter(context.Background(), time.Minute)
	require.NoError(t, err)
	b, err := g.enter(context.Background(), time.Minute)
	require.NoError(t, err)

	waited := make(chan error, 1)
	go func() {
		_, err := g.enter(context.Background(), 100*time.Millisecond)
		waited <- err
	}()
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.queue) == 1 }, time.Second, time.Millisecond)
	start := time.Now()
	_, err = g.enter(context.Background(), time.Minute)
	var busy *BusyError
	require.True(t, errors.As(err, &busy))
	require.Zero(t, busy.Waited)
	require.Equal(t, 2, busy.Running)
	require.Equal(t, 1, busy.Waiting)
	require.Less(t, time.Since(start), 50*time.Millisecond, "refused at once")
	require.Contains(t, err.Error(), "all 2 ClickHouse connections are running queries and 1 more queries are waiting")

	err = <-waited
	require.True(t, errors.As(err, &busy))
	require.GreaterOrEqual(t, busy.Waited, 100*time.Millisecond)
	require.Contains(t, err.Error(), "no ClickHouse connection came free within")

	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err = g.enter(ctx, time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	g.mu.Lock()
	require.Zero(t, len(g.queue), "a cancelled wait leaves the queue")
	g.mu.Unlock()

	a()
	a() // twice is once
	b()
	require.Equal(t, 2, g.free)
}

// TestGateNeverLosesSlots: many queries entering, some giving up while a
// slot is handed to them, leave every slot free in the end and never more
// than size in at once.
func TestGateNeverLosesSlots(t *testing.T) {
	g := newGate(3, 1000)
	var in, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(withTicket(uint64(i%17)), time.Duration(rand.IntN(3))*time.Millisecond)
			defer cancel()
			leave, err := g.enter(ctx, time.Minute)
			if err != nil {
				require.ErrorIs(t, err, context.DeadlineExceeded)
				return
			}
			n := in.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
			in.Add(-1)
			leave()
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, peak.Load(), int64(3))
	require.Equal(t, 3, g.free)
	require.Zero(t, len(g.queue))
}
