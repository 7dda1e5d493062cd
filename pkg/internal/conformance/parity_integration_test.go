//go:build integration

package conformance

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/query"
)

// TestIntegrationMacroParity runs the macro corpus (MacroSQL, after the
// official ClickHouse data source's documented examples) on the 18.16 test
// server: every kpiflow query runs, and each official expansion 18.16 can
// answer (Parity) gives kpiflow's answer. The rate and counter statement
// macros, whose official spelling needs window functions, are checked
// against the same arithmetic done here on their buckets; the modern run
// (scripts/modern-clickhouse.sh) compares every official expansion on
// ClickHouse 26.7.
func TestIntegrationMacroParity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, db := chtest.MigratedStore(t)
	d, err := st.Dialect(ctx)
	require.NoError(t, err)
	batches, err := Batches(Dataset())
	require.NoError(t, err)
	require.NoError(t, Load(ctx, st, batches))
	srv, err := Dial(chtest.Addr(t), db.Name)
	require.NoError(t, err)
	defer srv.Close()

	cases, err := macroCases(d)
	require.NoError(t, err)
	got := map[string]*Table{}
	for _, c := range cases {
		tab, bound, err := srv.Query(ctx, c.SQL)
		require.NoError(t, err, "%s on ClickHouse %s:\n%s", c.Name, d.Version, bound)
		got[c.Name] = tab
	}
	parity, err := Parity(d)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(parity), 12, "the corpus has official expansions 18.16 answers")
	for _, c := range parity {
		t.Run(c.Name, func(t *testing.T) {
			want, _, err := srv.Query(ctx, c.SQL)
			require.NoError(t, err, c.SQL)
			require.NotEmpty(t, want.Rows, "a corpus query should find rows: %s", c.SQL)
			require.Empty(t, Diff(want, got[c.Reference()], Tolerance{}, nil, 5), "official %s\nkpiflow %s", c.SQL, c.Reference())
		})
	}

	t.Run("rate and counter statements", func(t *testing.T) {
		env := macroEnv(d)
		x, err := query.ExpandMacros("SELECT $__timeInterval(ts) AS t, service, sum(value) AS s, max(value) AS m FROM kpi_samples "+
			"WHERE $__timeFilter(ts) AND metric = 'requests_per_s' GROUP BY t, service ORDER BY service, t", env)
		require.NoError(t, err)
		buckets, _, err := srv.Query(ctx, x.SQL)
		require.NoError(t, err)
		require.Greater(t, len(buckets.Rows), 100)
		want := map[string][][]any{}
		for i, row := range buckets.Rows {
			var dt, ds, dm float64
			if i > 0 && buckets.Rows[i-1][1] == row[1] {
				prev := buckets.Rows[i-1]
				dt = (row[0].(float64) - prev[0].(float64)) / 1000
				ds, dm = row[2].(float64), row[3].(float64)-prev[3].(float64)
			}
			key := row[1].(string)
			rate, perSecond, increase := math.NaN(), math.NaN(), math.NaN()
			if dt != 0 {
				rate = ds / dt
				if dm >= 0 {
					perSecond, increase = dm/dt, dm
				}
			}
			want["rateColumns"] = append(want["rateColumns"], []any{row[0], key, rate})
			want["perSecondColumns"] = append(want["perSecondColumns"], []any{row[0], key, perSecond})
			want["increaseColumns"] = append(want["increaseColumns"], []any{row[0], key, increase})
		}
		for name, rows := range want {
			// The statements order by t, then the key.
			sort.SliceStable(rows, func(a, b int) bool {
				if rows[a][0] != rows[b][0] {
					return rows[a][0].(float64) < rows[b][0].(float64)
				}
				return rows[a][1].(string) < rows[b][1].(string)
			})
			tab := got[macroCaseName("$__"+name, 0)]
			require.Equal(t, []string{"t", "svc", "v"}, tab.Names, name)
			require.Len(t, tab.Rows, len(rows), name)
			for i, row := range rows {
				require.Equal(t, row[:2], tab.Rows[i][:2], "%s row %d", name, i+1)
				w, g := row[2].(float64), tab.Rows[i][2].(float64)
				require.True(t, math.IsNaN(w) && math.IsNaN(g) || math.Abs(w-g) <= 1e-9*math.Max(1, math.Abs(w)),
					"%s row %d (%v): want %v, got %v", name, i+1, row[:2], w, g)
			}
		}
	})

	t.Run("refused forms say why", func(t *testing.T) {
		env := macroEnv(d)
		for _, m := range []MacroQuery{MacroSQL()["$__lttb"][0], MacroSQL()["$__adHocFilters"][1]} {
			_, err := query.ExpandMacros(m.SQL, env)
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), fmt.Sprintf("ClickHouse %s does not have", d.Version)), err.Error())
		}
	})
}
