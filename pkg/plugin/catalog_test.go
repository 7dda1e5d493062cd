package plugin

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// query cannot import store, so it describes the schema itself; this keeps
// the two descriptions equal (names, columns in order, types, rollup widths).
func TestQueryCatalogMatchesStoreTables(t *testing.T) {
	for _, ct := range query.Catalog().Tables {
		t.Run(ct.Name, func(t *testing.T) {
			st, ok := store.LookupTable(ct.Name)
			require.True(t, ok, "store has no table %s", ct.Name)
			var want []plan.Column
			for _, c := range st.Columns {
				want = append(want, plan.Column{Name: c.Name, Type: c.Type})
			}
			require.Equal(t, want, ct.Columns)
			require.Equal(t, int64(st.ResolutionSeconds), ct.ResolutionS)
			require.Equal(t, st.Engine == "ReplacingMergeTree", ct.Final, "FINAL for ReplacingMergeTree tables")
			require.Equal(t, st.Kind == store.KindRollup, ct.Kind == plan.KindRollup)
		})
	}
}
