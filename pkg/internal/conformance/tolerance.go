package conformance

import (
	"fmt"
	"strings"

	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// TDigestRank is how far in rank a rollup quantile may be from its level:
// a p90 read from t-digest states must lie between the group's exact values
// at levels 0.85 and 0.95. ClickHouse's t-digest is an estimate whose
// centroids depend on the order states merge in, and its code changed
// between 18.16 and 26.x (18.16 interpolates between centroids where 26.x
// returns a centroid), so the two servers' estimates differ while both are
// within this band.
const TDigestRank = 0.05

// Why texts of the tolerances.
const (
	whyTDigest = "t-digest estimate: between the exact values at levels ±0.05"
	whyLast    = "last of tied timestamps: any of the values at the group's latest timestamp"
)

// tolerance is the tolerance of a builder plan's answer: quantiles read from
// rollups (t-digest) and "last" (argMax by time, which picks any of the
// values sharing the latest timestamp, on every ClickHouse version: several
// series of one team can have samples at the same instant).
func tolerance(p plan.Plan, cat plan.Catalog) (Tolerance, error) {
	src, _ := cat.Table(p.Source)
	for _, a := range p.Aggregations {
		var tol Tolerance
		var lo, hi plan.Aggregation
		var rewrite func(sql string) (string, error)
		switch {
		case a.Func == plan.FuncQuantile && src.Kind == plan.KindRollup:
			q := a.Args[0]
			lo = plan.Aggregation{Func: plan.FuncQuantile, Column: src.Measure, Args: []float64{max(q-TDigestRank, 0.001)}, Alias: "lo"}
			hi = plan.Aggregation{Func: plan.FuncQuantile, Column: src.Measure, Args: []float64{min(q+TDigestRank, 0.999)}, Alias: "hi"}
			tol.Why = whyTDigest
			rewrite = func(sql string) (string, error) {
				// The plan has no exact-rank quantile; the band query is the
				// test's, so it is respelled here.
				sql, err := replaceOnce(sql, fmt.Sprintf("quantile(%s)(", level(lo.Args[0])), fmt.Sprintf("quantileExactLow(%s)(", level(lo.Args[0])))
				if err != nil {
					return "", err
				}
				return replaceOnce(sql, fmt.Sprintf("quantile(%s)(", level(hi.Args[0])), fmt.Sprintf("quantileExactHigh(%s)(", level(hi.Args[0])))
			}
		case a.Func == plan.FuncLast && a.Column == schema.KPIRollup().Measure: // kpi's "last", on kpi_samples or a rollup
			lo = plan.Aggregation{Func: plan.FuncLast, Column: "value", Alias: "lo"}
			hi = plan.Aggregation{Func: plan.FuncLast, Column: "value", Alias: "hi"}
			tol.Why = whyLast
			rewrite = func(sql string) (string, error) {
				sql, err := replaceOnce(sql, "argMax(`value`, `ts`) AS `lo`", "argMax(`value`, (`ts`, -`value`)) AS `lo`")
				if err != nil {
					return "", err
				}
				return replaceOnce(sql, "argMax(`value`, `ts`) AS `hi`", "argMax(`value`, (`ts`, `value`)) AS `hi`")
			}
		default:
			continue
		}
		band := p
		if src.Kind == plan.KindRollup {
			// The same groups from the raw samples the rollup summarises.
			r := schema.KPIRollup()
			band.Source, band.TimeColumn = r.Source, r.SourceTime
		}
		band.Aggregations = []plan.Aggregation{lo, hi}
		sql, args, err := query.SQL(band, cat)
		if err != nil {
			return Tolerance{}, fmt.Errorf("band query for %s: %w", a.Alias, err)
		}
		if sql, err = rewrite(sql); err != nil {
			return Tolerance{}, fmt.Errorf("band query for %s: %w", a.Alias, err)
		}
		tol.Column, tol.BandSQL, tol.BandArgs = a.Alias, sql, args
		return tol, nil
	}
	return Tolerance{}, nil
}

func level(l float64) string { return fmt.Sprintf("%g", l) }

func replaceOnce(s, old, repl string) (string, error) {
	if strings.Count(s, old) != 1 {
		return "", fmt.Errorf("expected %q once in %s", old, s)
	}
	return strings.Replace(s, old, repl, 1), nil
}
