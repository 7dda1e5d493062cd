//go:build integration

package store_test

import (
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/store"
)

func TestIntegrationTableStats(t *testing.T) {
	db := chtest.NewDatabase(t)
	st := openStore(t, db.Settings(t))
	ctx := testCtx(t)

	stats, err := st.TableStats(ctx, store.CatalogMaxAge)
	require.NoError(t, err)
	require.Empty(t, stats, "no schema yet")
	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	stats, err = st.TableStats(ctx, store.CatalogMaxAge)
	require.NoError(t, err)
	require.Len(t, stats, len(schema.Tables()), "Migrate forgets the cached answer")

	kpi, _ := schema.Lookup(schema.TableKPISamples)
	t0 := time.Date(2026, 10, 3, 4, 5, 6, 0, time.UTC)
	require.NoError(t, st.InsertBatch(ctx, kpi.Name, kpi.InsertColumns(), func(b driver.Batch) error {
		for i := 0; i < 3; i++ {
			if err := b.Append(t0.Add(time.Duration(i)*time.Hour), "m", 1.0, "t", "", "", "", "", []string{}, []string{}, "e", "b"); err != nil {
				return err
			}
		}
		return nil
	}))
	cached, err := st.TableStats(ctx, store.CatalogMaxAge)
	require.NoError(t, err)
	require.Equal(t, stats, cached, "answered from memory")
	fresh, err := st.TableStats(ctx, 0)
	require.NoError(t, err)
	byName := map[string]schema.TableStats{}
	for _, s := range fresh {
		byName[s.Table] = s
	}
	require.Equal(t, schema.TableStats{Table: schema.TableKPISamples, Rows: 3, MinTS: t0.Unix(), MaxTS: t0.Add(2 * time.Hour).Unix()},
		byName[schema.TableKPISamples])
	require.Equal(t, uint64(3), byName[schema.TableKPIRollup1h].Rows, "the views fed the rollups")
	require.Equal(t, t0.Truncate(time.Hour).Unix(), byName[schema.TableKPIRollup1h].MinTS)
	require.Zero(t, byName[schema.TableDeployments].Rows)
}
