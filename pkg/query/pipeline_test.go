package query

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

func parseKPI(t *testing.T, body string) Query {
	t.Helper()
	q, err := Parse(TypeKPI, []byte(body))
	require.NoError(t, err)
	return q
}

func TestPipelineFallsBackOnABadStep(t *testing.T) {
	q := parseKPI(t, `{"metrics":["m"],"aggregation":"avg","interval":"1h"}`)
	steps := map[string]struct {
		step   RewriteFunc
		notice string
	}{
		"error": {func(context.Context, plan.Plan, plan.Catalog) (plan.Plan, []string, error) {
			return plan.Plan{}, nil, errors.New("module timed out")
		}, "module timed out"},
		"unknown table": {func(_ context.Context, p plan.Plan, _ plan.Catalog) (plan.Plan, []string, error) {
			p.Source = "nope"
			return p, []string{"moved"}, nil
		}, `plan.source: unknown table "nope"`},
		"wider range": {func(_ context.Context, p plan.Plan, _ plan.Catalog) (plan.Plan, []string, error) {
			p.TimeRange.From -= 3600
			return p, nil, nil
		}, "plan.time_range.from: widened"},
		"dropped filter": {func(_ context.Context, p plan.Plan, _ plan.Catalog) (plan.Plan, []string, error) {
			p.Filters = nil
			return p, nil, nil
		}, "plan.filters[0]"},
		"changes its input, then fails": {func(_ context.Context, p plan.Plan, _ plan.Catalog) (plan.Plan, []string, error) {
			p.Filters[0].Values[0] = plan.String("other")
			p.Aggregations[0].Func = plan.FuncMax
			return p, nil, errors.New("gave up")
		}, "gave up"},
	}
	want, err := Pipeline{Rewriters: []Rewriter{RollupRewriter()}}.Prepare(context.Background(), q, testEnv())
	require.NoError(t, err)
	for name, s := range steps {
		t.Run(name, func(t *testing.T) {
			got, err := Pipeline{Rewriters: []Rewriter{RollupRewriter(), s.step}}.Prepare(context.Background(), q, testEnv())
			require.NoError(t, err)
			require.Equal(t, want.SQL, got.SQL, "the query runs on the plan it had")
			require.Equal(t, want.Args, got.Args)
			require.Equal(t, want.Notices[0], got.Notices[0])
			require.Len(t, got.Notices, 2)
			require.Contains(t, got.Notices[1], "Plan rewrite step 2 was skipped")
			require.Contains(t, got.Notices[1], s.notice)
		})
	}
}

func TestPipelineAcceptsAGoodStep(t *testing.T) {
	q := parseKPI(t, `{"metrics":["m"],"aggregation":"sum","interval":"1h"}`)
	var seen plan.Catalog
	narrow := RewriteFunc(func(_ context.Context, p plan.Plan, c plan.Catalog) (plan.Plan, []string, error) {
		seen = c
		p.TimeRange.From += 3600
		p.Filters = append(p.Filters, plan.Filter{Column: "team", Op: plan.OpNe, Values: plan.Strings("x")})
		return p, []string{"narrowed"}, nil
	})
	got, err := Pipeline{Rewriters: []Rewriter{RollupRewriter(), narrow}}.Prepare(context.Background(), q, testEnv())
	require.NoError(t, err)
	require.Equal(t, schema.TableKPIRollup1h, got.Plan.Source, "the second step sees the first one's plan")
	require.Equal(t, "narrowed", got.Notices[1])
	require.Contains(t, got.SQL, "`team` != ?")
	require.Equal(t, testEnv().Catalog, seen)
}

func TestPipelineUsesTheServersCatalog(t *testing.T) {
	q := parseKPI(t, `{"metrics":["m"],"aggregation":"avg","interval":"1d"}`)
	env := testEnv()
	env.Catalog = ServerCatalog([]schema.TableStats{
		{Table: schema.TableKPISamples, Rows: 10, MinTS: 100, MaxTS: 200},
		{Table: schema.TableKPIRollup1h, Rows: 5},
	})
	got, err := pipeline().Prepare(context.Background(), q, env)
	require.NoError(t, err)
	require.Equal(t, schema.TableKPIRollup1h, got.Plan.Source, "the 1d rollup is not on the server")
	kpi, ok := env.Catalog.Table(schema.TableKPISamples)
	require.True(t, ok)
	require.Equal(t, uint64(10), kpi.Rows)
	require.Equal(t, int64(200), kpi.MaxTS)

	env.Catalog = ServerCatalog([]schema.TableStats{{Table: schema.TableKPIRollup1d}})
	_, err = pipeline().Prepare(context.Background(), q, env)
	var missing *MissingTableError
	require.ErrorAs(t, err, &missing)
	require.Equal(t, schema.TableKPISamples, missing.Table)
	require.ErrorContains(t, err, "POST admin/migrate")

	dora, err := Parse(TypeDORA, []byte(`{"metric":"change_failure_rate"}`))
	require.NoError(t, err)
	env.Catalog = ServerCatalog([]schema.TableStats{{Table: schema.TableDeployments}})
	_, err = pipeline().Prepare(context.Background(), dora, env)
	require.ErrorAs(t, err, &missing)
	require.Equal(t, schema.TableIncidents, missing.Table, "the in-column-of filter reads incidents")
}

func TestPipelineStepsHonourTheContext(t *testing.T) {
	q := parseKPI(t, `{"metrics":["m"],"aggregation":"avg","interval":"1h"}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := pipeline().Prepare(ctx, q, testEnv())
	require.NoError(t, err)
	require.Equal(t, schema.TableKPISamples, got.Plan.Source)
	require.Contains(t, got.Notices[0], "context canceled")
}

func TestRollupRewriterLeavesOtherTablesAlone(t *testing.T) {
	q, err := Parse(TypeTaskflow, []byte(`{"view":"wip"}`))
	require.NoError(t, err)
	got, err := pipeline().Prepare(context.Background(), q, testEnv())
	require.NoError(t, err)
	require.Equal(t, []string{"Work in progress: current tasks in todo and in_progress per state (tasks_current FINAL)."}, got.Notices)
}
