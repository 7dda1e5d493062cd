package optimizer

import (
	"context"
	"errors"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// Step is one module of the chain as a rewrite step of the query pipeline:
// its Rewrite method is query.Rewriter's, so the data source puts the
// host's steps in its pipeline without this package importing query.
//
//	for _, s := range h.Steps() { rewriters = append(rewriters, s) }
//	pl := query.Pipeline{Rewriters: rewriters}
//
// # Notes
//
// A module that changed the plan, left notes or could not run (still
// loading, switched off, busy) answers a notice and the plan to go on with.
// A module that failed, or whose plan the host refused, answers an error
// (the pipeline then keeps the plan it had and says so); its notice text is
// the error's.
type Step struct {
	m *module
}

// Steps returns the chain in order, one step per module.
func (h *Host) Steps() []*Step {
	out := make([]*Step, len(h.modules))
	for i, m := range h.modules {
		out[i] = &Step{m: m}
	}
	return out
}

// Rewrite runs the module on p against catalog c.
func (s *Step) Rewrite(ctx context.Context, p plan.Plan, c plan.Catalog) (plan.Plan, []string, error) {
	next, n := s.m.run(ctx, p, c)
	switch {
	case n == nil:
		return next, nil, nil
	case n.Kind == NoticeFailed:
		return p, nil, errors.New(n.failure())
	}
	return next, []string{n.Text()}, nil
}
