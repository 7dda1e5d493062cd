package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// errResultTooLarge stops reading a result whose bytes passed the cap.
var errResultTooLarge = errors.New("the result passed the data source's maxResultBytes")

// codeResultLimit is ClickHouse's TOO_MANY_ROWS_OR_BYTES, which
// max_result_bytes raises ("Limit for result exceeded").
const codeResultLimit = 396

// resultCut reports an error that ends a result at the byte cap: the cap on
// the connection, or ClickHouse's own max_result_bytes.
func resultCut(err error) bool {
	if errors.Is(err, errResultTooLarge) {
		return true
	}
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == codeResultLimit && strings.Contains(ex.Message, "Limit for result exceeded")
}

// capConn is a connection of the query pool that counts the bytes of each
// answer: every Write sends a request (a query, a ping) and starts a new
// answer, and the bytes read after it are that answer's. Past limit a Read
// fails, so the driver gives the connection up, mid-block if need be,
// before it holds more than limit bytes of one result.
//
// # Notes
//
// ClickHouse checks max_result_bytes only after a block is made, and sends
// that block whole, however large (one block of SELECT toString(range(200000))
// FROM numbers(1000) is 1.3 GB); the driver reads a block whole before
// handing it over. Counting here, under the driver, is what bounds the
// plugin's memory for such a block, and it covers every reader above the
// driver. The native protocol is not compressed (store.Options), so these
// bytes are the result's own.
type capConn struct {
	net.Conn
	limit int64
	read  atomic.Int64
}

func (c *capConn) Write(p []byte) (int, error) {
	c.read.Store(0)
	return c.Conn.Write(p)
}

func (c *capConn) Read(p []byte) (int, error) {
	left := c.limit - c.read.Load()
	if left <= 0 {
		return 0, errResultTooLarge
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// SyscallConn exposes the socket, as *net.TCPConn and *tls.Conn do, for the
// driver's check of idle connections.
func (c *capConn) SyscallConn() (syscall.RawConn, error) {
	inner := c.Conn
	if t, ok := inner.(*tls.Conn); ok {
		inner = t.NetConn()
	}
	if sc, ok := inner.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, fmt.Errorf("a %T has no socket to check", inner)
}

// cappedDialer dials like clickhouse-go does (TLS when cfg is set) and wraps
// each connection in a capConn of limit bytes.
func cappedDialer(opts *clickhouse.Options, limit int64) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		d := &net.Dialer{Timeout: opts.DialTimeout}
		var conn net.Conn
		var err error
		if opts.TLS != nil {
			conn, err = (&tls.Dialer{NetDialer: d, Config: opts.TLS}).DialContext(ctx, "tcp", addr)
		} else {
			conn, err = d.DialContext(ctx, "tcp", addr)
		}
		if err != nil {
			return nil, err
		}
		return &capConn{Conn: conn, limit: limit}, nil
	}
}
