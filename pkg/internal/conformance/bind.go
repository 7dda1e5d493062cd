package conformance

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Server is a connection to the 18.16 test server that also records the SQL
// clickhouse-go sends: clickhouse-go binds `?` arguments on the client, and
// chDB must run exactly the text a server would get.
type Server struct {
	conn driver.Conn
	sent *sentLog
}

// Dial connects to addr (host:port) and database db, one connection at a
// time, so the recorded text is the last query's.
func Dial(addr, db string) (*Server, error) {
	sent := &sentLog{}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: []string{addr}, Auth: clickhouse.Auth{Database: db}, DialTimeout: 5 * time.Second,
		MaxOpenConns: 1, MaxIdleConns: 1,
		Logger: slog.New(sent),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to ClickHouse at %s: %w", addr, err)
	}
	return &Server{conn: conn, sent: sent}, nil
}

// Conn is the underlying connection.
func (s *Server) Conn() driver.Conn { return s.conn }

// Close closes the connection.
func (s *Server) Close() error { return s.conn.Close() }

// Query runs sql with args on the server and returns its answer and the
// text clickhouse-go sent (the SQL with the arguments bound).
func (s *Server) Query(ctx context.Context, sql string, args ...any) (*Table, string, error) {
	s.sent.reset()
	rows, err := s.conn.Query(ctx, sql, args...)
	bound := s.sent.last()
	if err != nil {
		return nil, bound, err
	}
	if bound == "" {
		_ = rows.Close()
		return nil, "", fmt.Errorf("clickhouse-go logged no query text for %s", sql)
	}
	defer rows.Close()
	t, err := FromRows(rows)
	return t, bound, err
}

// Bind returns sql with args bound the way clickhouse-go binds them for a
// query. It sends the query to the server, which may refuse it (SQL for a
// newer server): only the text is wanted.
func (s *Server) Bind(ctx context.Context, sql string, args ...any) (string, error) {
	if len(args) == 0 {
		return sql, nil
	}
	s.sent.reset()
	rows, err := s.conn.Query(ctx, sql, args...)
	if err == nil {
		_ = rows.Close()
	}
	bound := s.sent.last()
	if bound == "" {
		return "", fmt.Errorf("bind arguments: clickhouse-go sent nothing: %v", err)
	}
	return bound, nil
}

// sentLog is a slog.Handler keeping the last query clickhouse-go logged as
// sent (its debug record "sending query" carries the bound text).
type sentLog struct {
	mu    sync.Mutex
	query string
}

func (l *sentLog) reset() {
	l.mu.Lock()
	l.query = ""
	l.mu.Unlock()
}

func (l *sentLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.query
}

func (l *sentLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *sentLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "sending query" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "query" {
			l.mu.Lock()
			l.query = a.Value.String()
			l.mu.Unlock()
			return false
		}
		return true
	})
	return nil
}

func (l *sentLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *sentLog) WithGroup(string) slog.Handler      { return l }
