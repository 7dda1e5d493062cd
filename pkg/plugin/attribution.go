package plugin

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
	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/kpiflow/kpiflow/pkg/store"
)

// attribution says who and what a query runs for, so an operator can find it
// in ClickHouse's system.processes and system.query_log: by query_id
// (kpiflow:<user>:<dashboard>:<panel>:<random>) and by a leading comment
// (/* kpiflow user=... dashboard=... panel=... */) in the query text.
type attribution struct {
	User      string
	Dashboard string
	Panel     string
	Rule      string
	FromAlert bool
}

type headersKey struct{}

// withRequestHeaders keeps a QueryData request's headers in ctx, so handlers
// registered through perQuery (which see one query, not the request) can
// attribute their queries.
func withRequestHeaders(ctx context.Context, headers map[string]string) context.Context {
	return context.WithValue(ctx, headersKey{}, headers)
}

// header looks a request header up by name, ignoring case and the "http_"
// prefix the SDK gives forwarded HTTP headers.
func header(headers map[string]string, name string) string {
	for k, v := range headers {
		if len(k) > 5 && strings.EqualFold(k[:5], "http_") {
			k = k[5:]
		}
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// attributionFor collects the Grafana user and the dashboard, panel or alert
// rule from the plugin context and the request headers Grafana sends.
func attributionFor(ctx context.Context, pc backend.PluginContext) attribution {
	h, _ := ctx.Value(headersKey{}).(map[string]string)
	a := attribution{
		Dashboard: header(h, "X-Dashboard-Uid"),
		Panel:     header(h, "X-Panel-Id"),
		Rule:      header(h, "X-Rule-Uid"),
		FromAlert: strings.EqualFold(header(h, "FromAlert"), "true"),
	}
	if pc.User != nil {
		a.User = pc.User.Login
		if a.User == "" {
			a.User = pc.User.Email
		}
	}
	return a
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

// queryID is a unique ClickHouse query_id naming the query's origin.
func (a attribution) queryID() string {
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	where := clean(a.Dashboard)
	if a.Rule != "" {
		where = "rule." + clean(a.Rule)
	}
	return fmt.Sprintf("kpiflow:%s:%s:%s:%s", clean(a.User), where, clean(a.Panel), hex.EncodeToString(buf))
}

// comment is the SQL comment put before the query text.
func (a attribution) comment() string {
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

// runningQuery is a query started by startQuery.
type runningQuery struct {
	Rows driver.Rows
	// ID is the query's ClickHouse query_id.
	ID string
	// SQL is the text sent, attribution comment included.
	SQL string

	inst      *Instance
	st        *store.Store
	stopWatch func() bool
	cancel    context.CancelFunc
}

// startQuery runs sql (with bound args) attributed to the request's user,
// dashboard and panel, with the data source's query timeout, and read-only
// when readOnly is set (readonly=2: no writes or DDL, settings still allowed).
//
// Cancelling ctx stops the query on the server with KILL QUERY by its id. The
// query itself runs on a context that is not cancelled with the request:
// clickhouse-go v2.50 can panic with "send on closed channel" when a context
// is cancelled while a block is being handed over (clickhouse-go PR #1677),
// and a panic would end the plugin process. The server ends the query at
// max_execution_time (the Query timeout setting); a KILL 10 s later is the
// last resort should it not.
//
//	rq, err := inst.startQuery(ctx, st, pc, true, sql, args...)
//	defer rq.Close(false)
func (inst *Instance) startQuery(ctx context.Context, st *store.Store, pc backend.PluginContext, readOnly bool, sql string, args ...any) (*runningQuery, error) {
	a := attributionFor(ctx, pc)
	rq := &runningQuery{ID: a.queryID(), SQL: a.comment() + sql, inst: inst, st: st}
	timeout := st.Settings().QueryTimeout
	set := clickhouse.Settings{"max_execution_time": max(int(timeout/time.Second), 1)}
	if readOnly {
		set["readonly"] = 2
	}
	// No deadline on qctx: clickhouse-go turns a context deadline into
	// max_execution_time (deadline + 5 s), overriding the setting above.
	qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	safety := time.AfterFunc(timeout+10*time.Second, rq.kill)
	rq.cancel = func() { safety.Stop(); cancel() }
	rq.stopWatch = context.AfterFunc(ctx, rq.kill)
	rows, err := st.Conn().Query(clickhouse.Context(qctx, clickhouse.WithQueryID(rq.ID), clickhouse.WithSettings(set)), rq.SQL, args...)
	if err != nil && readOnly && cannotChangeReadonly(err) {
		// The ClickHouse user is read-only already (profile readonly=1),
		// which forbids setting anything: run it as it is.
		rows, err = st.Conn().Query(clickhouse.Context(qctx, clickhouse.WithQueryID(rq.ID)), rq.SQL, args...)
	}
	if err != nil {
		rq.stopWatch()
		rq.cancel()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("query %s cancelled: %w", rq.ID, ctx.Err())
		}
		return nil, err
	}
	rq.Rows = rows
	return rq, nil
}

// cannotChangeReadonly reports ClickHouse refusing query settings because the
// user's profile is readonly=1.
func cannotChangeReadonly(err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && store.IsReadonly(err) && strings.Contains(ex.Message, "Cannot modify")
}

// kill stops the query on the server. KILL ... ASYNC returns at once; the
// server then ends the result stream with an error, so reading stops.
func (rq *runningQuery) kill() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rq.st.Conn().Exec(ctx, "KILL QUERY WHERE query_id = ? ASYNC", rq.ID); err != nil {
		rq.inst.logger.Warn("kill ClickHouse query", "queryId", rq.ID, "error", err)
	}
}

// Close releases the query. Pass readAll false when rows are left unread (a
// row cap, an error): the query is killed first, because closing
// clickhouse-go rows otherwise reads the whole rest of the result.
func (rq *runningQuery) Close(readAll bool) {
	if rq.stopWatch() && !readAll {
		rq.kill()
	}
	if rq.Rows != nil {
		_ = rq.Rows.Close()
	}
	rq.cancel()
}
