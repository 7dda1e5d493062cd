package store

import (
	"context"
	"fmt"
	"time"
)

// Now is the server's clock: what DEFAULT now() stamps ingested_at with, so
// what live streams compare ingested_at to (never this process's clock).
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var now time.Time
	if err := s.conn.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		return time.Time{}, Classify(s.settings, fmt.Errorf("read the ClickHouse server's clock: %w", err))
	}
	return now, nil
}
