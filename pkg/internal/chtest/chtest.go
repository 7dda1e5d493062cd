// Package chtest gives integration tests a real ClickHouse server.
//
// The test command (scripts/test.sh) starts clickhouse-server on loopback and
// exports CLICKHOUSE_ADDR; a test asks for it and gets a fresh database:
//
//	db := chtest.NewDatabase(t)       // created now, dropped when the test ends
//	s := db.Settings(t)               // settings.Settings pointing at it
//	st, db := chtest.MigratedStore(t) // or a store with kpiflow's schema on it
//
// Without CLICKHOUSE_ADDR a test is skipped, except under CI=true, where a
// missing server fails the test: CI must never pass by skipping.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// Addr returns the test server's host:port, or skips (fails under CI) the test.
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("CLICKHOUSE_ADDR")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CLICKHOUSE_ADDR is not set: CI runs integration tests through scripts/test.sh, which starts ClickHouse")
		}
		t.Skip("CLICKHOUSE_ADDR is not set: run scripts/test.sh, or start ClickHouse and export CLICKHOUSE_ADDR=host:port")
	}
	return addr
}

// Database is a database created for one test.
type Database struct {
	Name string
	Host string
	Port int
	Conn driver.Conn
}

// NewDatabase creates a uniquely named database and drops it when t ends.
func NewDatabase(t testing.TB) *Database {
	t.Helper()
	return newDatabase(t, Addr(t))
}

// NewDatabase creates a uniquely named database on the private server.
func (s *Server) NewDatabase(t testing.TB) *Database {
	t.Helper()
	return newDatabase(t, s.Addr)
}

func newDatabase(t testing.TB, addr string) *Database {
	t.Helper()
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("CLICKHOUSE_ADDR=%q: expected host:port", addr)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatalf("CLICKHOUSE_ADDR=%q: port is not a number", addr)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open ClickHouse at %s: %v", addr, err)
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	name := "kpiflow_test_" + hex.EncodeToString(buf)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database on %s: %v", addr, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
		_ = conn.Close()
	})
	return &Database{Name: name, Host: host, Port: port, Conn: conn}
}

// JSONData returns data source jsonData pointing at the database.
func (d *Database) JSONData() map[string]any {
	return map[string]any{"host": d.Host, "port": d.Port, "database": d.Name, "dialTimeout": 5, "queryTimeout": 30}
}

// Settings returns validated settings pointing at the database.
func (d *Database) Settings(t testing.TB) settings.Settings {
	t.Helper()
	s := settings.Settings{
		Host: d.Host, Port: d.Port, Protocol: settings.ProtocolNative, Database: d.Name,
		Username: settings.DefaultUsername, DialTimeout: 5 * time.Second, QueryTimeout: 30 * time.Second,
		MaxRows: settings.DefaultMaxRows, IngestRole: settings.DefaultIngestRole,
		MaxResultBytes: settings.DefaultMaxResultBytes, PoolSize: settings.DefaultPoolSize,
		MaxQueuedQueries: settings.DefaultMaxQueuedQueries,
	}
	return s
}

// MigratedStore opens a store on a new database (see NewDatabase) with
// kpiflow's schema applied; both are closed and dropped when t ends.
func MigratedStore(t testing.TB) (*store.Store, *Database) {
	t.Helper()
	db := NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, db.Settings(t))
	if err != nil {
		t.Fatalf("open a store on %s: %v", db.Name, err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("apply kpiflow's schema to %s: %v", db.Name, err)
	}
	return st, db
}

// The test server's second user, with a password, and its third, whose
// profile is readonly=1 (see scripts/clickhouse.sh; servers started before
// the third was added lack it: use StartServer).
const (
	PasswordUser = "kpiflow"
	Password     = "kpiflow-test-password"
	ReadonlyUser = "kpiflow_ro"
)
