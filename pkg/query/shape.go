package query

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// Built is a builder's output: the plan on the raw tables, its notices and
// how to turn the result into the frames Grafana gets. Pipeline.Prepare
// takes it from there.
type Built struct {
	Plan plan.Plan
	// Notices are sentences for the frames' notices (the table chosen and why,
	// approximations, definitions applied).
	Notices []string
	shape   func(res *data.Frame) (data.Frames, error)
	// live makes the query's LiveStream from its final plan (nil for query
	// types that do not stream).
	live func(final plan.Plan) *LiveStream
	// rowwise says shape maps any run of the result's rows to one frame on
	// its own (renames, per-row values), so block by block gives the whole;
	// whole says why a query's shape needs the whole result instead.
	rowwise bool
	whole   string
}
