package store

import (
	"context"
	"fmt"
	"time"

	"github.com/kpiflow/kpiflow/pkg/schema"
)

// CatalogMaxAge is how long TableStats answers from memory: long enough
// that a dashboard's queries share one read, short enough that a schema
// migrated by someone else is seen soon.
const CatalogMaxAge = 30 * time.Second

// statsCache is the last TableStats answer.
type statsCache struct {
	at    time.Time
	stats []schema.TableStats
}

// TableStats lists kpiflow's tables the server has, with their row counts
// and the time span of their rows (from the parts' min/max index; 0 where
// the table's partition key holds no time). An answer younger than maxAge is
// reused; pass 0 to ask the server.
//
//	stats, err := st.TableStats(ctx, store.CatalogMaxAge)
//	env.Catalog = query.ServerCatalog(stats)
//
// # Notes
//
// In cluster mode the plain name is the Distributed table and the figures
// are the connected node's local table's: rows of one shard, which is what
// optimizer statistics need (proportions, not totals).
func (s *Store) TableStats(ctx context.Context, maxAge time.Duration) ([]schema.TableStats, error) {
	s.mu.Lock()
	cached := s.stats
	s.mu.Unlock()
	if cached.stats != nil && time.Since(cached.at) < maxAge {
		return cached.stats, nil
	}
	names, err := s.tableNames(ctx)
	if err != nil {
		return nil, err
	}
	parts, err := s.partStats(ctx)
	if err != nil {
		return nil, err
	}
	out := []schema.TableStats{}
	for _, t := range schema.Tables() {
		if _, ok := names[t.Name]; !ok {
			continue
		}
		st, ok := parts[t.Name+localSuffix]
		if !ok {
			st = parts[t.Name]
		}
		st.Table = t.Name
		out = append(out, st)
	}
	s.mu.Lock()
	s.stats = statsCache{at: time.Now(), stats: out}
	s.mu.Unlock()
	return out, nil
}

// partStats sums the active parts of each table of the database.
func (s *Store) partStats(ctx context.Context) (map[string]schema.TableStats, error) {
	rows, err := s.conn.Query(ctx, `SELECT table, sum(rows), toInt64(min(toUInt32(min_time))), toInt64(max(toUInt32(max_time)))
FROM system.parts WHERE database = ? AND active GROUP BY table`, s.settings.Database)
	if err != nil {
		return nil, Classify(s.settings, fmt.Errorf("read table statistics: %w", err))
	}
	defer rows.Close()
	out := map[string]schema.TableStats{}
	for rows.Next() {
		var st schema.TableStats
		if err := rows.Scan(&st.Table, &st.Rows, &st.MinTS, &st.MaxTS); err != nil {
			return nil, fmt.Errorf("read table statistics: %w", err)
		}
		out[st.Table] = st
	}
	if err := rows.Err(); err != nil {
		return nil, Classify(s.settings, fmt.Errorf("read table statistics: %w", err))
	}
	return out, nil
}

// forgetStats drops the cached TableStats after a change of the schema.
func (s *Store) forgetStats() {
	s.mu.Lock()
	s.stats = statsCache{}
	s.mu.Unlock()
}
