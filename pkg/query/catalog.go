package query

import (
	"slices"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// Catalog describes the tables builder queries read, as this build's schema
// (package schema) defines them: every table but the ledger and
// schema_migrations. Dimension columns are "String" whatever the server
// spells them (LowCardinality(String) on 19.3+). Rollups answer the
// aggregations their states can merge (see rollupMerges).
func Catalog() plan.Catalog {
	r := schema.KPIRollup()
	var c plan.Catalog
	for _, t := range schema.Tables() {
		if t.Kind == schema.KindLedger || t.Kind == schema.KindMigrations {
			continue
		}
		pt := plan.Table{Name: t.Name, Kind: plan.KindRaw, Final: t.Final(), Labels: t.Labels()}
		for _, col := range t.Columns {
			pt.Columns = append(pt.Columns, plan.Column{Name: col.Name, Type: col.Type})
		}
		if t.Kind == schema.KindRollup {
			pt.Kind, pt.ResolutionS, pt.Measure, pt.Quantiles = plan.KindRollup, int64(t.ResolutionSeconds), r.Measure, r.Quantiles
			pt.RollupOf = r.Source
			for fn := range rollupMerges() {
				pt.Funcs = append(pt.Funcs, fn)
			}
			slices.Sort(pt.Funcs)
		}
		c.Tables = append(c.Tables, pt)
	}
	return c
}

// ServerCatalog is Catalog narrowed to the tables the server has, each with
// the row count and time bounds the server reported (statistics for the
// rewrite steps).
//
//	stats, err := st.TableStats(ctx, 30*time.Second) // st *store.Store
//	env.Catalog = query.ServerCatalog(stats)
func ServerCatalog(stats []schema.TableStats) plan.Catalog { return Narrow(Catalog(), stats) }

// Narrow is ServerCatalog for a Catalog built once: per request it only
// copies the tables the server has. Building Catalog walks every table's
// schema (about 330 allocations); a data source builds it once and narrows
// it per query.
//
//	base := query.Catalog() // once
//	env.Catalog = query.Narrow(base, stats)
//
// # Notes
//
// The narrowed tables share their column and function slices with base;
// nothing in planning or SQL writing modifies a catalog's tables.
func Narrow(base plan.Catalog, stats []schema.TableStats) plan.Catalog {
	var out plan.Catalog
	for _, t := range base.Tables {
		i := slices.IndexFunc(stats, func(s schema.TableStats) bool { return s.Table == t.Name })
		if i < 0 {
			continue
		}
		t.Rows, t.MinTS, t.MaxTS = stats[i].Rows, stats[i].MinTS, stats[i].MaxTS
		out.Tables = append(out.Tables, t)
	}
	return out
}
