//go:build integration

package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// TestIntegrationLeaseExcludes has several pools (as several processes
// would) take one lease many times at once: never two holders at a time,
// and every take gets a new fencing token.
func TestIntegrationLeaseExcludes(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx := testCtx(t)
	const pools, takes = 4, 8
	var inside atomic.Int32
	var mu sync.Mutex
	tokens := map[uint64]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, pools)
	for p := 0; p < pools; p++ {
		st := openStore(t, db.Settings(t))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < takes; i++ {
				l, err := st.AcquireLease(ctx, "kpi", store.DefaultLeaseTTL)
				if err != nil {
					errs <- err
					return
				}
				if n := inside.Add(1); n != 1 {
					errs <- fmt.Errorf("%d holders at once", n)
				}
				mu.Lock()
				if tokens[l.Token()] {
					errs <- fmt.Errorf("token %d given twice", l.Token())
				}
				tokens[l.Token()] = true
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
				if err := l.Check(ctx); err != nil {
					errs <- err
				}
				inside.Add(-1)
				if err := l.Release(ctx); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, tokens, pools*takes)
}

// TestIntegrationLeaseExpiryAndLoss: a lease held past its expiry (its
// holder died) is taken over; a holder whose lease was taken learns it from
// Check and Release; a live holder makes others wait.
func TestIntegrationLeaseExpiryAndLoss(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx := testCtx(t)
	st := openStore(t, db.Settings(t))
	other := openStore(t, db.Settings(t))

	// A holder that died at generation 5, its lease expired 10 s ago.
	dead := fmt.Sprintf("ingest_lease_tasks_5_%d", time.Now().Add(-10*time.Second).Unix())
	require.NoError(t, db.Conn.Exec(ctx, "CREATE TABLE "+db.Name+"."+dead+" (held UInt8) ENGINE = Memory"))
	l, err := st.AcquireLease(ctx, "tasks", 3*time.Second)
	require.NoError(t, err)
	require.Equal(t, uint64(6), l.Token())

	// Held and renewed: another writer waits, past the TTL, until its context ends.
	short, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	_, err = other.AcquireLease(short, "tasks", 3*time.Second)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, l.Check(ctx))
	require.NoError(t, l.Release(ctx))
	l2, err := other.AcquireLease(ctx, "tasks", 3*time.Second)
	require.NoError(t, err)
	require.Greater(t, l2.Token(), l.Token())

	// Someone took l2's table away (as a writer does when l2 expired).
	var name string
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT name FROM system.tables WHERE database = ? AND name LIKE 'ingest_lease_tasks_%' ORDER BY length(name) DESC, name DESC LIMIT 1", db.Name).Scan(&name))
	require.NoError(t, db.Conn.Exec(ctx, "RENAME TABLE "+db.Name+"."+name+" TO "+db.Name+".ingest_lease_tasks_999_0"))
	require.ErrorIs(t, l2.Check(ctx), store.ErrLeaseLost)
	require.ErrorIs(t, l2.Release(ctx), store.ErrLeaseLost)
}
