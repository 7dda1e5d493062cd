package query

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// Rewriter is one step of the rewrite chain between a query's plan and its
// SQL: it gets the plan so far and the catalog of the tables the server has,
// and returns the plan to use instead (or the same one) with sentences for
// the panel's notices. It may change where the data is read from (a rollup,
// another table) and narrow what is read; it may not change what the plan
// computes (see plan.CheckRewrite).
//
//	rw := query.RewriteFunc(func(ctx context.Context, p plan.Plan, c plan.Catalog) (plan.Plan, []string, error) {
//		return p, []string{"left as it was"}, nil
//	})
//	pl := query.Pipeline{Rewriters: []query.Rewriter{query.RollupRewriter(), rw}}
//
// # Notes
//
// The host checks every returned plan with plan.Validate against the same
// catalog and with plan.CheckRewrite against the plan the step was given. A
// step that fails (an error, or a plan that does not pass those checks) is
// skipped: the query goes on with the plan it had, and the panel gets a
// notice saying why. So a step never needs to be right to be safe, only to
// be useful. Rewrite must honour ctx (the request's, with its deadline).
// The optimizer's WASM modules implement this interface without importing
// this package: the method set is all it takes.
type Rewriter interface {
	Rewrite(ctx context.Context, p plan.Plan, c plan.Catalog) (plan.Plan, []string, error)
}

// RewriteFunc adapts a function to a Rewriter.
type RewriteFunc func(ctx context.Context, p plan.Plan, c plan.Catalog) (plan.Plan, []string, error)

// Rewrite calls f.
func (f RewriteFunc) Rewrite(ctx context.Context, p plan.Plan, c plan.Catalog) (plan.Plan, []string, error) {
	return f(ctx, p, c)
}

// RollupRewriter is the rollup choice as a rewrite step in Go: a plan on
// kpi_samples moves to the coarsest rollup of the catalog that answers it
// exactly (see ChooseKPISource). Plans on other tables pass unchanged,
// without notices. The data source runs the built-in optimizer module
// instead; this serves callers without an optimizer host.
func RollupRewriter() Rewriter {
	return RewriteFunc(func(_ context.Context, p plan.Plan, c plan.Catalog) (plan.Plan, []string, error) {
		if p.Source != schema.KPIRollup().Source {
			return p, nil, nil
		}
		chosen, note := ChooseKPISource(p, c)
		return chosen, []string{note}, nil
	})
}

// Pipeline turns a parsed query into SQL: the query's builder plans it, the
// rewrite chain may move it, the host validates the result against the
// catalog, and only then is SQL written.
//
//	q, err := query.Parse("kpi", rawJSON)
//	env := query.Env{From: f, To: t, Interval: i, MaxRows: n, Catalog: query.ServerCatalog(stats)}
//	pq, err := query.Pipeline{Rewriters: []query.Rewriter{query.RollupRewriter()}}.Prepare(ctx, q, env)
//	// run pq.SQL with pq.Args, read the result into one long frame, then:
//	frames, err := pq.Shape(result)
//
// # Notes
//
// Errors: a *FieldError is bad input (the query or its time range); a
// *MissingTableError is a table the server lacks (the schema is not
// installed, or older); anything else is a kpiflow bug (a builder wrote a
// plan its own catalog refuses).
type Pipeline struct {
	// Rewriters run in order on the builder's plan.
	Rewriters []Rewriter
}

// Prepared is a query ready to run: its final plan, SQL and arguments, the
// notices for its frames and how to shape its result.
type Prepared struct {
	Plan    plan.Plan
	SQL     string
	Args    []any
	Notices []string
	// Live is how the query streams when it asks to (kpi, taskflow); nil
	// for query types without live streams.
	Live  *LiveStream
	shape func(res *data.Frame) (data.Frames, error)
	// rowwise and whole: see Built.
	rowwise bool
	whole   string
}

// Shape turns the result, read as one long frame whose fields are named
// after the plan's outputs, into the frames for Grafana.
func (p *Prepared) Shape(res *data.Frame) (data.Frames, error) {
	if res == nil {
		return nil, fmt.Errorf("shape result: no frame")
	}
	return p.shape(res)
}

// Chunks says how the result can go out block by block (QueryChunkedData,
// the Arrow endpoint): shape turns one block's rows, read as a long frame,
// into that block's frame, the same fields for every block. When the
// query's shape needs the whole result, shape is nil and reason says why,
// for a notice; run the query whole and Shape it then.
func (p *Prepared) Chunks() (shape func(block *data.Frame) (*data.Frame, error), reason string) {
	if !p.rowwise {
		return nil, p.whole
	}
	return func(block *data.Frame) (*data.Frame, error) {
		out, err := p.Shape(block)
		if err != nil {
			return nil, err
		}
		if len(out) != 1 {
			return nil, fmt.Errorf("shape a block: %d frames, expected one", len(out))
		}
		return out[0], nil
	}, ""
}

// MissingTableError is a plan reading a table the server does not have.
type MissingTableError struct {
	Table string
}

func (e *MissingTableError) Error() string {
	return fmt.Sprintf("kpiflow's table %s is not in the database: apply the schema with POST admin/migrate (Grafana Admin) or turn on autoMigrate in the data source settings", e.Table)
}

// Prepare plans q with env, runs the rewrite chain and writes the SQL.
func (pl Pipeline) Prepare(ctx context.Context, q Query, env Env) (*Prepared, error) {
	built, err := q.Build(env)
	if err != nil {
		return nil, err
	}
	prep, err := pl.preparePlan(ctx, q.Base().QueryType, built.Plan, built.Notices, env.Catalog)
	if err != nil {
		return nil, err
	}
	prep.shape, prep.rowwise, prep.whole = built.shape, built.rowwise, built.whole
	if prep.whole == "" {
		prep.whole = fmt.Sprintf("The %s query shapes its whole result, so it answers in one chunk.", q.Base().QueryType)
	}
	if built.live != nil {
		prep.Live = built.live(prep.Plan)
	}
	return prep, nil
}

// preparePlan checks a builder's plan against the catalog, runs the rewrite
// chain on it and writes its SQL; notices start with the builder's.
func (pl Pipeline) preparePlan(ctx context.Context, queryType string, p plan.Plan, builderNotices []string, c plan.Catalog) (*Prepared, error) {
	for _, t := range p.Tables() {
		if _, ok := c.Table(t); !ok {
			return nil, &MissingTableError{Table: t}
		}
	}
	if err := p.Validate(c); err != nil {
		return nil, fmt.Errorf("the %s builder planned what its catalog refuses: %w", queryType, err)
	}
	cur, notices := p, append([]string(nil), builderNotices...)
	for i, r := range pl.Rewriters {
		next, notes, err := rewrite(ctx, r, cur, c)
		if err != nil {
			notices = append(notices, fmt.Sprintf("Plan rewrite step %d was skipped, the query runs on the plan it had: %v", i+1, err))
			continue
		}
		cur = next
		notices = append(notices, notes...)
	}
	sql, args, err := SQL(cur, c)
	if err != nil {
		return nil, fmt.Errorf("write the SQL of a validated plan: %w", err)
	}
	return &Prepared{Plan: cur, SQL: sql, Args: args, Notices: notices}, nil
}

// PreparedForecast is a forecast ready to run: its reads, each prepared like
// any query's, and how their results become frames.
type PreparedForecast struct {
	Reads []*Prepared
	built *ForecastBuilt
}

// Frames computes the forecast from the reads' results (one long frame per
// read, in order) and returns its frames and notices: the reads' own
// (table choices) first, then the forecast's (method, parameters, backtest).
func (pf *PreparedForecast) Frames(results []*data.Frame) (data.Frames, []string, error) {
	out, notices, err := pf.built.Frames(results)
	if err != nil {
		return nil, nil, err
	}
	var all []string
	for _, r := range pf.Reads {
		all = append(all, r.Notices...)
	}
	return out, append(all, notices...), nil
}

// PrepareForecast plans a forecast's reads with env and prepares each one
// through the pipeline (the rollup choice moves a kpi_trend read too).
func (pl Pipeline) PrepareForecast(ctx context.Context, q *ForecastQuery, env Env) (*PreparedForecast, error) {
	built, err := q.Build(env)
	if err != nil {
		return nil, err
	}
	pf := &PreparedForecast{built: built}
	for _, p := range built.Plans {
		prep, err := pl.preparePlan(ctx, TypeForecast, p, nil, env.Catalog)
		if err != nil {
			return nil, err
		}
		pf.Reads = append(pf.Reads, prep)
	}
	return pf, nil
}

// rewrite runs one step and checks what it returns.
func rewrite(ctx context.Context, r Rewriter, p plan.Plan, c plan.Catalog) (next plan.Plan, notes []string, err error) {
	if err := ctx.Err(); err != nil {
		return p, nil, err
	}
	// The step sees a copy: whatever it does to it, p stays the fallback.
	next, notes, err = r.Rewrite(ctx, p.Clone(), c)
	if err != nil {
		return p, nil, err
	}
	if err := next.Validate(c); err != nil {
		return p, nil, err
	}
	if err := plan.CheckRewrite(&p, &next); err != nil {
		return p, nil, err
	}
	return next, notes, nil
}
