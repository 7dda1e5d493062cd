package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/settings"
)

// TestClassifyBusy: a pool with every connection in use is busy, not an
// unreachable server (issue 17.2).
func TestClassifyBusy(t *testing.T) {
	s := settings.Settings{Host: "ch", Port: 9000, PoolSize: 10}
	for _, err := range []error{
		fmt.Errorf("run the kpi query: %w", clickhouse.ErrAcquireConnTimeout),
		fmt.Errorf("run the kpi query: %w", &BusyError{Running: 10, Waiting: 1000}),
	} {
		var ce *ConnError
		require.True(t, errors.As(Classify(s, err), &ce), "%v", err)
		require.Equal(t, CategoryBusy, ce.Category)
		require.True(t, ce.Transient())
		require.Contains(t, ce.Error(), "busy")
		require.Contains(t, ce.Error(), "jsonData.poolSize")
		require.NotContains(t, ce.Error(), "Nothing answers")
	}
}
