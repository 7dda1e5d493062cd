package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// ReplaceValue rewrites column from old to value in every row of the tables
// that holds old, with one ALTER TABLE ... UPDATE mutation per table (18.16
// has them; it has no lightweight updates), and waits until every server
// that answers has applied them. Erasure uses it.
//
//	pending, err := st.ReplaceValue(ctx, []string{"task_events", "tasks_current"}, "assignee", "Ann Example", "[erased #42]")
//
// # Notes
//
// In cluster mode the mutation runs ON CLUSTER on each table's _local
// table: one replica of each shard takes it and ZooKeeper hands it to the
// others, so it reaches every replica of every shard. A server that is down
// applies it when it is back: pending names those servers (the distributed
// DDL then ends with a timeout after the servers' distributed_ddl_task_timeout,
// which here means "queued for them", not a failure).
func (s *Store) ReplaceValue(ctx context.Context, tables []string, column, old, value string) (pending []string, err error) {
	g, err := newDDLGen(dialect.Dialect{}, s.settings)
	if err != nil {
		return nil, err
	}
	var stmts, locals []string
	for _, name := range tables {
		t, ok := schema.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("update %q: not a kpiflow table", name)
		}
		if _, ok := t.Column(column); !ok {
			return nil, fmt.Errorf("update %s: no column %q", name, column)
		}
		stmts = append(stmts, g.updateValue(name, column))
		locals = append(locals, g.storage(name))
	}
	// At once: with a server down each ON CLUSTER statement waits the whole
	// distributed_ddl_task_timeout.
	errs := make([]error, len(stmts))
	var wg sync.WaitGroup
	for i, stmt := range stmts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.conn.Exec(ctx, stmt, value, old)
		}()
	}
	wg.Wait()
	queued := false
	for i, err := range errs {
		switch {
		case err == nil:
		case isDDLQueued(err):
			queued = true
		default:
			return nil, Classify(s.settings, fmt.Errorf("update %s of %s: %w", column, tables[i], err))
		}
	}
	down, err := s.waitMutations(ctx, locals, value)
	if err != nil {
		return nil, err
	}
	if queued && len(down) == 0 {
		// The DDL timed out on servers that answer now: they are slow, not
		// down, and nothing says they took the mutation.
		return nil, fmt.Errorf("update %s: ON CLUSTER DDL did not finish on every server within distributed_ddl_task_timeout although all answer: run the erasure again", column)
	}
	return down, nil
}

// isDDLQueued reports whether err is ON CLUSTER DDL that some servers did
// not run within distributed_ddl_task_timeout: ZooKeeper keeps the task, and
// they run it when they are back.
func isDDLQueued(err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == codeTimeoutExceeded && strings.Contains(ex.Message, "unfinished hosts")
}

// WaitMutations waits until the tables (as stored: _local in cluster mode)
// have no mutation left to do, on every server of the cluster that answers
// (18.16 has no mutations_sync setting).
func (s *Store) WaitMutations(ctx context.Context, tables ...string) error {
	_, err := s.waitMutations(ctx, tables, "")
	return err
}

// waitMutations polls system.mutations until the tables have none left to
// do and, when marker is not "", each has a finished mutation whose command
// holds marker, on every server of the cluster that answers. A replica that
// did not run the ALTER itself gets the mutation through ZooKeeper a moment
// later: no mutation listed yet is not the same as done. It returns the
// servers that do not answer.
func (s *Store) waitMutations(ctx context.Context, tables []string, marker string) ([]string, error) {
	const query = `SELECT countIf(is_done = 0), uniqExactIf(table, is_done = 1 AND position(command, ?) > 0)
FROM system.mutations WHERE database = ? AND has(?, table)`
	want := uint64(len(tables))
	if marker == "" {
		want = 0
	}
	count := func(conn driver.Conn) func(context.Context) (uint64, error) {
		return func(ctx context.Context) (uint64, error) {
			var running, done uint64
			if err := conn.QueryRow(ctx, query, marker, s.settings.Database, tables).Scan(&running, &done); err != nil {
				return 0, Classify(s.settings, err)
			}
			return running + want - min(done, want), nil
		}
	}
	if s.settings.Cluster == "" {
		return nil, pollMutations(ctx, count(s.conn), s.settings.Addr())
	}
	nodes, errs, err := s.onEveryNode(ctx, func(n NodeState, conn driver.Conn) error {
		return pollMutations(ctx, count(conn), n.Addr())
	})
	if err != nil {
		return nil, err
	}
	var down []string
	for i, err := range errs {
		var ce *ConnError
		switch {
		case err == nil:
		case errors.As(err, &ce) && ce.Category == CategoryUnreachable:
			down = append(down, nodes[i].Addr())
		default:
			return nil, err
		}
	}
	return down, nil
}

// pollMutations calls count (mutations still to do) until it answers 0,
// every 100 ms.
func pollMutations(ctx context.Context, count func(context.Context) (uint64, error), where string) error {
	for {
		n, err := count(ctx)
		if err != nil {
			return fmt.Errorf("wait for mutations on %s: %w", where, err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for mutations on %s (%d still running; they finish in the background): %w", where, n, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
