package query

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/schema"
)

func TestNarrow(t *testing.T) {
	base := Catalog()
	tests := []struct {
		name  string
		stats []schema.TableStats
		want  []string
	}{
		{"no tables on the server", nil, nil},
		{"the tables the server has, in the catalog's order", []schema.TableStats{
			{Table: schema.TableKPIRollup1h, Rows: 7, MinTS: 10, MaxTS: 20},
			{Table: schema.TableKPISamples, Rows: 3},
			{Table: "not_ours"},
		}, []string{schema.TableKPISamples, schema.TableKPIRollup1h}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Narrow(base, tc.stats)
			var names []string
			for _, tb := range got.Tables {
				names = append(names, tb.Name)
			}
			require.Equal(t, tc.want, names)
			require.Equal(t, ServerCatalog(tc.stats), got, "the same as building the catalog per call")
		})
	}
	got := Narrow(base, []schema.TableStats{{Table: schema.TableKPIRollup1h, Rows: 7, MinTS: 10, MaxTS: 20}})
	require.Equal(t, []any{uint64(7), int64(10), int64(20)}, []any{got.Tables[0].Rows, got.Tables[0].MinTS, got.Tables[0].MaxTS})
	require.Equal(t, Catalog(), base, "narrowing leaves the base catalog as it was")
}

// BenchmarkNarrow times the per-query catalog as built once and narrowed
// (Narrow) against building it per query (ServerCatalog), in the same run.
//
//	go test -run '^$' -bench Narrow ./pkg/query/
func BenchmarkNarrow(b *testing.B) {
	stats := []schema.TableStats{{Table: schema.TableKPISamples}, {Table: schema.TableKPIRollup1h}, {Table: schema.TableDeployments}}
	base := Catalog()
	var narrow, build time.Duration
	for b.Loop() {
		t0 := time.Now()
		a := Narrow(base, stats)
		t1 := time.Now()
		c := ServerCatalog(stats)
		narrow, build = narrow+t1.Sub(t0), build+time.Since(t1)
		if len(a.Tables) != len(c.Tables) {
			b.Fatal("catalogs differ")
		}
	}
	b.ReportMetric(float64(narrow.Nanoseconds())/1000/float64(b.N), "narrow_us")
	b.ReportMetric(float64(build.Nanoseconds())/1000/float64(b.N), "build_us")
	b.ReportMetric(float64(build)/float64(narrow), "speedup_x")
}
