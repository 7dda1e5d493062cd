package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Attribution says who and what a query runs for, so an operator can find it
// in ClickHouse's system.processes and system.query_log: by query_id
// (kpiflow:<user>:<dashboard>:<panel>:<random>) and by a leading comment
// (/* kpiflow user=... dashboard=... panel=... */) in the query text.
type Attribution struct {
	User      string
	Dashboard string
	Panel     string
	Rule      string
	FromAlert bool
}

// clean keeps a header or login safe inside a query id and an SQL comment:
// letters, digits and _ . @ - survive, anything else becomes _, and long
// values are cut.
func clean(s string) string {
	const maxLen = 64
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= maxLen {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '@', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// QueryID is a unique ClickHouse query_id naming the query's origin.
func (a Attribution) QueryID() string {
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	where := clean(a.Dashboard)
	if a.Rule != "" {
		where = "rule." + clean(a.Rule)
	}
	return fmt.Sprintf("kpiflow:%s:%s:%s:%s", clean(a.User), where, clean(a.Panel), hex.EncodeToString(buf))
}

// Comment is the SQL comment put before the query text.
func (a Attribution) Comment() string {
	var b strings.Builder
	b.WriteString("/* kpiflow user=" + clean(a.User))
	if a.Dashboard != "" {
		b.WriteString(" dashboard=" + clean(a.Dashboard))
	}
	if a.Panel != "" {
		b.WriteString(" panel=" + clean(a.Panel))
	}
	if a.Rule != "" {
		b.WriteString(" rule=" + clean(a.Rule))
	}
	if a.FromAlert {
		b.WriteString(" alert=true")
	}
	b.WriteString(" */ ")
	return b.String()
}

// Rows is a running query's result: driver.Rows to read (pkg/frames reads
// it block-wise), the query's id and the text sent.
type Rows struct {
	driver.Rows
	// ID is the query's ClickHouse query_id.
	ID string
	// SQL is the text sent, attribution comment included.
	SQL string

	st        *Store
	exhausted bool
	stopWatch func() bool
	cancel    context.CancelFunc
}

// Unwrap is the driver's rows (pkg/frames reads their native blocks).
func (r *Rows) Unwrap() driver.Rows { return r.Rows }

// Next advances to the next row, noting when the result has been read to
// its end.
func (r *Rows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.exhausted = true
	return false
}

// Close releases the query. When rows are left unread (a row cap, an error)
// the query is killed on the server first, because closing clickhouse-go
// rows otherwise reads the whole rest of the result.
func (r *Rows) Close() error {
	if r.stopWatch() && !r.exhausted {
		r.st.kill(r.ID)
	}
	err := r.Rows.Close()
	r.cancel()
	return err
}

// Query runs sql (with bound args) for a: read-only (readonly=2: no writes
// or DDL, settings still allowed), attributed (see Attribution), with the
// data source's Query timeout as max_execution_time. This is the one way
// kpiflow runs a query on someone's behalf: builder queries, raw SQL,
// variables and the team tree all come through it.
//
//	rows, err := st.Query(ctx, who, sql, args...)
//	if err != nil { ... }
//	defer rows.Close()
//	frame, notices, err := frames.ReadAll(ctx, rows, maxRows)
//
// # Notes
//
// Cancelling ctx stops the query on the server with KILL QUERY by its id.
// The query itself runs on a context that is not cancelled with the request:
// clickhouse-go v2.50 can panic with "send on closed channel" when a context
// is cancelled while a block is being handed over (clickhouse-go PR #1677),
// and a panic would end the plugin process. For the same reason the query's
// context has no deadline: clickhouse-go would turn it into its own
// max_execution_time (deadline + 5 s), overriding the setting. The server
// ends the query at max_execution_time; a KILL 10 s later is the last
// resort should it not.
func (s *Store) Query(ctx context.Context, a Attribution, sql string, args ...any) (*Rows, error) {
	r := &Rows{ID: a.QueryID(), SQL: a.Comment() + sql, st: s}
	timeout := s.settings.QueryTimeout
	set := clickhouse.Settings{"max_execution_time": max(int(timeout/time.Second), 1), "readonly": 2}
	qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	safety := time.AfterFunc(timeout+10*time.Second, func() { s.kill(r.ID) })
	r.cancel = func() { safety.Stop(); cancel() }
	r.stopWatch = context.AfterFunc(ctx, func() { s.kill(r.ID) })
	rows, err := s.conn.Query(clickhouse.Context(qctx, clickhouse.WithQueryID(r.ID), clickhouse.WithSettings(set)), r.SQL, args...)
	if err != nil && cannotChangeReadonly(err) {
		// The ClickHouse user is read-only already (profile readonly=1),
		// which forbids setting anything: run it as it is.
		rows, err = s.conn.Query(clickhouse.Context(qctx, clickhouse.WithQueryID(r.ID)), r.SQL, args...)
	}
	if err != nil {
		r.stopWatch()
		r.cancel()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("query %s cancelled: %w", r.ID, ctx.Err())
		}
		return nil, err
	}
	r.Rows = rows
	return r, nil
}

// cannotChangeReadonly reports ClickHouse refusing query settings because the
// user's profile is readonly=1.
func cannotChangeReadonly(err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && IsReadonly(err) && strings.Contains(ex.Message, "Cannot modify")
}

// kill stops a query on the server. KILL ... ASYNC returns at once; the
// server then ends the result stream with an error, so reading stops.
func (s *Store) kill(queryID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.conn.Exec(ctx, "KILL QUERY WHERE query_id = ? ASYNC", queryID); err != nil {
		s.logger.Warn("kill ClickHouse query", "queryId", queryID, "error", err)
	}
}
