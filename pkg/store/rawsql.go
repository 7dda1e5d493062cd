package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// databasesCache is the last Databases answer.
type databasesCache struct {
	at    time.Time
	names []string
}

// Databases lists the server's databases; an answer younger than maxAge is
// reused (CatalogMaxAge suits raw SQL checks: a database created since is
// still refused where SQL names a table, see query.RawSQLPolicy).
func (s *Store) Databases(ctx context.Context, maxAge time.Duration) ([]string, error) {
	s.mu.Lock()
	cached := s.databases
	s.mu.Unlock()
	if cached.names != nil && time.Since(cached.at) < maxAge {
		return cached.names, nil
	}
	rows, err := s.conn.Query(ctx, "SELECT name FROM system.databases")
	if err != nil {
		return nil, Classify(s.settings, fmt.Errorf("list the server's databases: %w", err))
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list the server's databases: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, Classify(s.settings, fmt.Errorf("list the server's databases: %w", err))
	}
	s.mu.Lock()
	s.databases = databasesCache{at: time.Now(), names: names}
	s.mu.Unlock()
	return names, nil
}

// StateColumnError is a result column of aggregate function states
// (AggregateFunction(...), such as a rollup's columns read as they are),
// which neither the driver nor a panel can read.
type StateColumnError struct {
	Column, Type string
}

func (e *StateColumnError) Error() string {
	return fmt.Sprintf("column %q is %s, the state of an aggregate function, which cannot be shown: "+
		"finish it with the function's -Merge form (countMerge(%s) for countState, sumMerge for sumState, "+
		"quantilesTDigestMerge(0.5)(…) for quantilesTDigestState …) or finalizeAggregation(%s)",
		e.Column, e.Type, e.Column, e.Column)
}

// stateColumn explains a driver that could not read a result's columns: it
// asks the server for the result's columns (DESCRIBE TABLE (sql), which
// plans the query without running it) and returns a *StateColumnError for
// the first of aggregate function states, or nil.
func (s *Store) stateColumn(ctx context.Context, err error, sql string, args []any) error {
	var unsupported *column.UnsupportedColumnTypeError
	if !errors.As(err, &unsupported) || !strings.Contains(err.Error(), "AggregateFunction(") {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.settings.DialTimeout+s.settings.QueryTimeout)
	defer cancel()
	rows, derr := s.conn.Query(ctx, "DESCRIBE TABLE ("+sql+")", args...)
	if derr != nil {
		return nil
	}
	defer rows.Close()
	// name, type, then more columns the newer the server.
	cols := make([]string, len(rows.Columns()))
	dest := make([]any, len(cols))
	for i := range cols {
		dest[i] = &cols[i]
	}
	for len(cols) >= 2 && rows.Next() {
		if rows.Scan(dest...) != nil {
			return nil
		}
		if typ := strings.ReplaceAll(cols[1], "SimpleAggregateFunction(", ""); strings.Contains(typ, "AggregateFunction(") {
			return &StateColumnError{Column: cols[0], Type: cols[1]}
		}
	}
	return nil
}
