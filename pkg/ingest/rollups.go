package ingest

import (
	"context"
	"time"

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

// rollupStream is the stream whose table feeds the rollups.
const rollupStream = "kpi"

// Repair compares the rollups with kpi_samples over the request's range and
// rebuilds every rollup day range that differs, holding the kpi stream's
// lock and lease so no batch is written meanwhile (see store.RebuildRollups).
func (w *Writer) Repair(ctx context.Context, req RepairRequest) (RepairReport, error) {
	sch, _ := schemaFor(rollupStream)
	_, release, err := w.exclusive(ctx, rollupStream)
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
	rep.Mismatches, rep.Rebuilt, err = w.repairRollups(ctx, sch.table, from, to)
	if err != nil {
		return rep, err
	}
	if len(rep.Rebuilt) > 0 {
		if rep.Remaining, err = w.st.RollupMismatches(ctx, sch.table, from, to); err != nil {
			return rep, w.classify("check the rollups after the repair", err)
		}
	}
	if rep.Mismatches == nil {
		rep.Mismatches = []store.RollupMismatch{}
	}
	if rep.Remaining == nil {
		rep.Remaining = []store.RollupMismatch{}
	}
	return rep, nil
}

// repairRollups rebuilds the rollup buckets of table that differ from it
// between from and to. The caller holds the stream's lease.
func (w *Writer) repairRollups(ctx context.Context, table string, from, to time.Time) ([]store.RollupMismatch, []store.RebuiltRange, error) {
	mism, err := w.st.RollupMismatches(ctx, table, from, to)
	if err != nil || len(mism) == 0 {
		return mism, nil, w.classify("compare the rollups with "+table, err)
	}
	rebuilt, err := w.st.RebuildRollups(ctx, mism)
	if err != nil {
		return mism, rebuilt, w.classify("rebuild the rollups of "+table, err)
	}
	return mism, rebuilt, nil
}
