package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/settings"
)

// Store is a connection pool to one ClickHouse server and database.
//
// # Notes
//
// It holds three pools to the configured server: queries run on someone's
// behalf (Query) have their own, of the data source's poolSize, behind an
// admission gate and with each result's bytes capped; KILL QUERY has a
// small one of its own, so a cancellation never waits behind the queries it
// is meant to stop; and kpiflow's own work (ingest, migrations, the ledger,
// the catalog) has one that dashboards cannot fill. In cluster mode it
// also keeps a small pool per server of the cluster (cluster.go).
type Store struct {
	conn     driver.Conn
	queries  driver.Conn
	kills    driver.Conn
	gate     *gate
	settings settings.Settings
	logger   Logger

	mu        sync.Mutex
	dialect   *dialect.Dialect
	stats     statsCache
	databases databasesCache
	// orphans maps a lease name to the table of a lease this pool held but
	// could not free (the server went away): only this pool may take it
	// back before it expires, as nobody else can hold it.
	orphans map[string]string

	// nodes are pools to single servers of the cluster (cluster.go).
	nodes nodePools
}

// Logger takes what the store cannot report to a caller (a KILL QUERY that
// failed); the SDK's log.Logger is one.
type Logger interface {
	Warn(msg string, args ...any)
}

type nopLogger struct{}

func (nopLogger) Warn(string, ...any) {}

// Option changes how Open sets the store up.
type Option func(*Store)

// WithLogger sends the store's warnings to l (by default they are dropped).
func WithLogger(l Logger) Option { return func(s *Store) { s.logger = l } }

// The pools' sizes besides the query pool's (settings.PoolSize).
const (
	// internalConns serve ingest, migrations, the ledger and the catalog.
	internalConns = 10
	// killConns serve KILL QUERY: two, so one slow kill does not hold up
	// the next.
	killConns = 2
	// resultSlack is what an answer may carry beyond the result's own
	// bytes before the cap stops it: headers, progress, the profile, an
	// exception's text.
	resultSlack = 1 << 20
)

// Open creates the pools. It does not connect: the first call that needs the
// server does, so an unreachable server surfaces as a classified error there.
// Zero PoolSize and MaxResultBytes (settings built by hand) take the
// defaults of settings.Parse.
func Open(ctx context.Context, s settings.Settings, opts ...Option) (*Store, error) {
	if s.PoolSize <= 0 {
		s.PoolSize = settings.DefaultPoolSize
	}
	if s.MaxResultBytes <= 0 {
		s.MaxResultBytes = settings.DefaultMaxResultBytes
	}
	st := &Store{settings: s, logger: nopLogger{}, gate: newGate(s.PoolSize, s.MaxQueuedQueries)}
	for _, o := range opts {
		o(st)
	}
	pools := []struct {
		conn  *driver.Conn
		size  int
		capTo int64
	}{{&st.conn, internalConns, 0}, {&st.queries, s.PoolSize, s.MaxResultBytes + resultSlack}, {&st.kills, killConns, 0}}
	for _, p := range pools {
		chOpts, err := Options(s)
		if err != nil {
			st.closePools()
			return nil, err
		}
		chOpts.MaxOpenConns, chOpts.MaxIdleConns = p.size, min(p.size, chOpts.MaxIdleConns)
		if p.capTo > 0 {
			chOpts.MaxIdleConns = p.size
			chOpts.DialContext = cappedDialer(chOpts, p.capTo)
		}
		if *p.conn, err = clickhouse.Open(chOpts); err != nil {
			st.closePools()
			return nil, fmt.Errorf("open ClickHouse connection pool for %s: %w", s.Addr(), err)
		}
	}
	return st, nil
}

// Options turns settings into clickhouse-go options: those of the query pool
// (poolSize connections), less its cap on result bytes (Open adds it).
func Options(s settings.Settings) (*clickhouse.Options, error) {
	poolSize := s.PoolSize
	if poolSize <= 0 {
		poolSize = settings.DefaultPoolSize
	}
	opts := &clickhouse.Options{
		Addr: []string{s.Addr()},
		Auth: clickhouse.Auth{
			Database: s.Database,
			Username: s.Username,
			Password: s.Password,
		},
		Protocol:    clickhouse.Native,
		DialTimeout: s.DialTimeout,
		ReadTimeout: s.QueryTimeout + s.DialTimeout,
		Settings:    clickhouse.Settings{},
		ClientInfo: clickhouse.ClientInfo{
			Products: []struct{ Name, Version string }{{Name: "kpiflow", Version: "1"}},
		},
		MaxOpenConns: poolSize,
		MaxIdleConns: 5,
	}
	if s.Protocol == settings.ProtocolHTTP {
		opts.Protocol = clickhouse.HTTP
	}
	for _, cs := range s.CustomSettings {
		opts.Settings[cs.Setting] = settingValue(cs.Value)
	}
	if s.TLS.Enabled {
		cfg, err := tlsConfig(s.TLS)
		if err != nil {
			return nil, err
		}
		opts.TLS = cfg
	}
	return opts, nil
}

// settingValue types a custom setting's text. Servers before 19.x (such as
// 18.16) take settings over the native protocol only as integers, so numbers
// and booleans must not travel as strings; newer servers accept all three.
func settingValue(v string) any {
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	}
	return v
}

func tlsConfig(t settings.TLS) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: t.SkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // skip verify is the user's explicit choice
	if t.CACert != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(t.CACert)) {
			return nil, &settings.FieldError{Field: "secureJsonData.tlsCACert", Message: "no certificate could be read from the PEM text"}
		}
		cfg.RootCAs = pool
	}
	if t.ClientCert != "" || t.ClientKey != "" {
		pair, err := tls.X509KeyPair([]byte(t.ClientCert), []byte(t.ClientKey))
		if err != nil {
			return nil, &settings.FieldError{Field: "secureJsonData.tlsClientCert", Message: "client certificate and key do not form a pair: " + err.Error()}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// Conn is the pool for kpiflow's own reads and writes (ingest, the ledger),
// for the packages that read and write through it. Queries on someone's
// behalf go through Query instead.
func (s *Store) Conn() driver.Conn { return s.conn }

// Settings returns the settings the pool was opened with.
func (s *Store) Settings() settings.Settings { return s.settings }

// Dialect returns the server's dialect, asking the server for its version the
// first time and remembering the answer for the life of the pool.
func (s *Store) Dialect(ctx context.Context) (dialect.Dialect, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dialect != nil {
		return *s.dialect, nil
	}
	var raw string
	if err := s.conn.QueryRow(ctx, "SELECT version()").Scan(&raw); err != nil {
		return dialect.Dialect{}, Classify(s.settings, fmt.Errorf("ask ClickHouse for its version: %w", err))
	}
	v, err := dialect.ParseVersion(raw)
	if err != nil {
		return dialect.Dialect{}, err
	}
	d := dialect.For(v)
	s.dialect = &d
	return d, nil
}

// Ping checks that the server answers with the configured credentials.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return Classify(s.settings, fmt.Errorf("ping ClickHouse: %w", err))
	}
	return nil
}

// Close closes the pools; in-flight queries end with an error.
func (s *Store) Close() error {
	s.nodes.close()
	if err := s.closePools(); err != nil {
		return fmt.Errorf("close ClickHouse connection pool: %w", err)
	}
	return nil
}

func (s *Store) closePools() error {
	var errs []error
	for _, c := range []driver.Conn{s.conn, s.queries, s.kills} {
		if c == nil {
			continue
		}
		if err := c.Close(); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
