package plugin

import (
	"context"
	"net/http"

	"github.com/kpiflow/kpiflow/pkg/ingest"
)

// registerLedgerRoutes registers GET ledger/verify (settings.IngestRole and
// above, like ingest), POST admin/erase and POST admin/repair (Admin only).
func registerLedgerRoutes(mux *http.ServeMux, inst *Instance) {
	mux.Handle("GET /ledger/verify", inst.requireIngestRole(ingest.VerifyHandler{Verifier: instanceLedger{inst}}))
	mux.HandleFunc("/ledger/verify", methodNotAllowed(http.MethodGet))
	erase := ingest.EraseHandler{Eraser: instanceLedger{inst}, Actor: actor}
	mux.HandleFunc("POST /admin/erase", func(w http.ResponseWriter, r *http.Request) {
		if requireAdmin(w, r) {
			erase.ServeHTTP(w, r)
		}
	})
	mux.HandleFunc("/admin/erase", methodNotAllowed(http.MethodPost))
	repair := ingest.RepairHandler{Repairer: instanceLedger{inst}}
	mux.HandleFunc("POST /admin/repair", func(w http.ResponseWriter, r *http.Request) {
		if requireAdmin(w, r) {
			repair.ServeHTTP(w, r)
		}
	})
	mux.HandleFunc("/admin/repair", methodNotAllowed(http.MethodPost))
}

// instanceLedger runs verification, erasure and repair on the instance's
// Writer with the data source's timeouts.
type instanceLedger struct{ inst *Instance }

// longWork returns the Writer and a context bounded for the long ledger
// operations: verification reads every stored row of the checked batches,
// erasure waits for two mutations, a repair compares the rollups and
// rebuilds day ranges.
func (il instanceLedger) longWork(ctx context.Context) (*ingest.Writer, context.Context, context.CancelFunc, error) {
	w, err := il.inst.writer()
	if err != nil {
		return nil, ctx, func() {}, err
	}
	s := il.inst.settings
	ctx, cancel := context.WithTimeout(ctx, s.DialTimeout+4*s.QueryTimeout)
	return w, ctx, cancel, nil
}

func (il instanceLedger) Verify(ctx context.Context, req ingest.VerifyRequest) (ingest.VerifyReport, error) {
	w, ctx, cancel, err := il.longWork(ctx)
	defer cancel()
	if err != nil {
		return ingest.VerifyReport{}, err
	}
	return w.Verify(ctx, req)
}

func (il instanceLedger) Erase(ctx context.Context, assignee, actor string) (ingest.EraseResult, error) {
	w, ctx, cancel, err := il.longWork(ctx)
	defer cancel()
	if err != nil {
		return ingest.EraseResult{}, err
	}
	return w.Erase(ctx, assignee, actor)
}

func (il instanceLedger) Repair(ctx context.Context, req ingest.RepairRequest) (ingest.RepairReport, error) {
	w, ctx, cancel, err := il.longWork(ctx)
	defer cancel()
	if err != nil {
		return ingest.RepairReport{}, err
	}
	return w.Repair(ctx, req)
}
