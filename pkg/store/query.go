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

	"github.com/kpiflow/kpiflow/pkg/settings"
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
	cut       bool
	err       error
	stopWatch func() bool
	cancel    context.CancelFunc
}

// Unwrap is the driver's rows (pkg/frames reads their native blocks).
func (r *Rows) Unwrap() driver.Rows { return r.Rows }

// Next advances to the next row, noting when the result has been read to
// its end, and when it ended at the byte cap (Cut).
func (r *Rows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.err = r.Rows.Err()
	switch {
	case resultCut(r.err):
		// The rows read so far are the answer, cut; Close makes sure the
		// server stops (the cap on the connection drops it mid-block).
		r.cut, r.err = true, nil
	default:
		r.exhausted = true
	}
	return false
}

// Err is the error that ended the rows early, if any; a result cut at the
// byte cap is not one (see Cut).
func (r *Rows) Err() error {
	if r.cut {
		return nil
	}
	if r.err != nil {
		return r.err
	}
	return r.Rows.Err()
}

// Cut reports that the result passed the data source's maxResultBytes and
// was cut there: the rows read are its first ones, whole blocks of them.
func (r *Rows) Cut() bool { return r.cut }

// MaxBytes is the byte cap the result was read under (maxResultBytes).
func (r *Rows) MaxBytes() int64 { return r.st.settings.MaxResultBytes }

// Close releases the query. When rows are left unread (a row cap, a byte
// cap, an error) the query is killed on the server first, because closing
// clickhouse-go rows otherwise reads the whole rest of the result.
func (r *Rows) Close() error {
	if r.stopWatch() && !r.exhausted {
		r.st.kill(r.ID)
	}
	err := r.Rows.Close()
	r.cancel()
	if resultCut(err) {
		err = nil
	}
	return err
}

// ManagedSettings are the settings Query sets on every query, and the data
// source's custom settings: what raw SQL may not change
// (query.RawSQLPolicy).
func ManagedSettings(s settings.Settings) []string {
	names := []string{"readonly", "max_execution_time", "max_result_bytes", "result_overflow_mode"}
	for _, cs := range s.CustomSettings {
		names = append(names, cs.Setting)
	}
	return names
}

// Query runs sql (with bound args) for a: read-only (readonly=2: no writes
// or DDL, settings still allowed), attributed (see Attribution), with the
// data source's Query timeout as max_execution_time and its maxResultBytes
// as max_result_bytes. This is the one way kpiflow runs a query on
// someone's behalf: builder queries, raw SQL, variables and the team tree
// all come through it.
//
//	ctx = st.Admit(ctx)                 // once per request
//	rows, err := st.Query(ctx, who, sql, args...)
//	if err != nil { ... }
//	defer rows.Close()
//	frame, notices, err := frames.ReadAll(ctx, rows, maxRows)
//	if rows.Cut() { ... }               // cut at maxResultBytes: say so
//
// # Notes
//
// Admission: the query waits for one of the pool's poolSize connections,
// behind at most maxQueuedQueries others (served in the order their
// requests came, see Admit), for at most the Query timeout; past either it
// is a *BusyError. A query cancelled while it waits never reaches the
// server.
//
// A result is cut at maxResultBytes twice over: ClickHouse stops it with
// max_result_bytes (as an error after the block that passed it: 18.16 takes
// settings over the native protocol only as numbers, so result_overflow_mode
// = 'break' cannot be sent to it), and the query pool's connections stop
// reading at the cap themselves (capConn), which also bounds one block
// larger than the cap. Either way Rows ends early with Cut set.
//
// Cancelling ctx stops the query on the server with KILL QUERY by its id,
// sent on a pool of its own that queries cannot fill. The query itself runs
// on a context that is not cancelled with the request: clickhouse-go v2.50
// can panic with "send on closed channel" when a context is cancelled while
// a block is being handed over (clickhouse-go PR #1677), and a panic would
// end the plugin process. For the same reason the query's context has no
// deadline: clickhouse-go would turn it into its own max_execution_time
// (deadline + 5 s), overriding the setting. The server ends the query at
// max_execution_time; a KILL 10 s later is the last resort should it not.
//
// A query never runs without readonly and max_execution_time, except for a
// ClickHouse user whose profile is readonly=1 (checked on the server each
// time the settings are refused): such a user may send no setting at all,
// the server keeps its queries read-only, and kpiflow kills them at the
// Query timeout.
func (s *Store) Query(ctx context.Context, a Attribution, sql string, args ...any) (*Rows, error) {
	timeout := s.settings.QueryTimeout
	leave, err := s.gate.enter(ctx, timeout)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("query cancelled while waiting for a connection: %w", ctx.Err())
		}
		return nil, err
	}
	r := &Rows{ID: a.QueryID(), SQL: a.Comment() + sql, st: s}
	set := clickhouse.Settings{"max_execution_time": max(int(timeout/time.Second), 1), "readonly": 2,
		"max_result_bytes": int(s.settings.MaxResultBytes)}
	qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	started := time.Now()
	safety := time.AfterFunc(timeout+10*time.Second, func() { s.kill(r.ID) })
	r.cancel = func() { safety.Stop(); cancel(); leave() }
	r.stopWatch = context.AfterFunc(ctx, func() { s.kill(r.ID) })
	rows, err := s.queries.Query(clickhouse.Context(qctx, clickhouse.WithQueryID(r.ID), clickhouse.WithSettings(set)), r.SQL, args...)
	if err != nil && cannotChangeReadonly(err) && s.profileReadonly(qctx) {
		// The user's profile is readonly=1, which forbids setting anything
		// (the query's own SETTINGS too): run it as it is, and stop it at
		// the Query timeout ourselves.
		safety.Reset(max(timeout-time.Since(started), 0))
		rows, err = s.queries.Query(clickhouse.Context(qctx, clickhouse.WithQueryID(r.ID)), r.SQL, args...)
	}
	if err != nil {
		r.stopWatch()
		r.cancel()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("query %s cancelled: %w", r.ID, ctx.Err())
		}
		if serr := s.stateColumn(ctx, err, sql, args); serr != nil {
			return nil, serr
		}
		if resultCut(err) {
			return nil, fmt.Errorf("the result's first block passed the data source's maxResultBytes (%d bytes): "+
				"select fewer or narrower columns, or raise the setting: %w", s.settings.MaxResultBytes, err)
		}
		return nil, err
	}
	r.Rows = rows
	return r, nil
}

// cannotChangeReadonly reports ClickHouse refusing query settings in
// readonly mode: the user's profile is readonly=1, or the query itself asks
// for readonly = 0 (SETTINGS), which readonly=2 refuses.
func cannotChangeReadonly(err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && IsReadonly(err) && strings.Contains(ex.Message, "Cannot modify")
}

// profileReadonly asks the server whether the user's profile is readonly=1,
// sending no setting (such a user may send none). Asked each time, never
// remembered: a profile changed to readonly=0 later must not let queries
// run without the settings.
func (s *Store) profileReadonly(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, s.settings.DialTimeout+s.settings.QueryTimeout)
	defer cancel()
	var v string
	err := s.conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'readonly'").Scan(&v)
	return err == nil && v == "1"
}

// kill stops a query on the server, on the pool kept for kills. KILL ...
// ASYNC returns at once; the server then ends the result stream with an
// error, so reading stops.
func (s *Store) kill(queryID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.kills.Exec(ctx, "KILL QUERY WHERE query_id = ? ASYNC", queryID); err != nil {
		s.logger.Warn("kill ClickHouse query", "queryId", queryID, "error", err)
	}
}
