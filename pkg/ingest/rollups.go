package ingest

import (
	"context"
	"time"

	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// RepairRequest selects the time range admin/repair checks: zero From or To
// is the table's oldest or newest row.
type RepairRequest struct {
	From, To time.Time
}

// RepairReport is admin/repair's answer.
type RepairReport struct {
	// Mismatches are the buckets that differed before the repair.
	Mismatches []store.RollupMismatch `json:"mismatches"`
	// Rebuilt are the day ranges of each rollup recomputed from kpi_samples.
	Rebuilt []store.RebuiltRange `json:"rebuilt"`
	// Remaining are the buckets that still differ afterwards (none unless
	// something wrote to the tables around kpiflow meanwhile).
	Remaining []store.RollupMismatch `json:"remaining"`
}

// Repair compares the rollups with kpi_samples over the request's range and
// rebuilds every rollup day range that differs, holding the kpi stream's
// lock and lease so no batch is written meanwhile (see store.RebuildRollups).
func (w *Writer) Repair(ctx context.Context, req RepairRequest) (RepairReport, error) {
	sch, _ := schemaFor(schema.StreamKPI)
	_, release, err := w.exclusive(ctx, schema.StreamKPI)
	if err != nil {
		return RepairReport{}, err
	}
	defer release()
	from, to, ok, err := w.st.TimeSpan(ctx, sch.table, time.Time{}, time.Time{})
	if err != nil || !ok {
		return RepairReport{Mismatches: []store.RollupMismatch{}, Rebuilt: []store.RebuiltRange{}, Remaining: []store.RollupMismatch{}},
			w.classify("read the time range of "+sch.table, err)
	}
	if !req.From.IsZero() && req.From.After(from) {
		from = req.From
	}
	if !req.To.IsZero() && req.To.Before(to) {
		to = req.To
	}
	rep := RepairReport{Rebuilt: []store.RebuiltRange{}, Remaining: []store.RollupMismatch{}}
	if rep.Mismatches, err = w.st.RollupMismatches(ctx, sch.table, from, to); err != nil {
		return rep, w.classify("compare the rollups with "+sch.table, err)
	}
	if len(rep.Mismatches) == 0 {
		rep.Mismatches = []store.RollupMismatch{}
		return rep, nil
	}
	if rep.Rebuilt, err = w.st.RebuildRollups(ctx, sch.table, from, to); err != nil {
		return rep, w.classify("rebuild the rollups of "+sch.table, err)
	}
	if rep.Remaining, err = w.st.RollupMismatches(ctx, sch.table, from, to); err != nil {
		return rep, w.classify("check the rollups after the repair", err)
	}
	if rep.Remaining == nil {
		rep.Remaining = []store.RollupMismatch{}
	}
	return rep, nil
}
