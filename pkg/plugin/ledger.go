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

// instanceLedger runs verification and erasure on the instance's Writer with
// the data source's timeouts.
type instanceLedger struct{ inst *Instance }

func (il instanceLedger) Verify(ctx context.Context, req ingest.VerifyRequest) (ingest.VerifyReport, error) {
	w, err := il.inst.writer()
	if err != nil {
		return ingest.VerifyReport{}, err
	}
	s := il.inst.settings
	// Verification reads every stored row of the checked batches.
	ctx, cancel := context.WithTimeout(ctx, s.DialTimeout+4*s.QueryTimeout)
	defer cancel()
	return w.Verify(ctx, req)
}

func (il instanceLedger) Erase(ctx context.Context, assignee, actor string) (ingest.EraseResult, error) {
	w, err := il.inst.writer()
	if err != nil {
		return ingest.EraseResult{}, err
	}
	s := il.inst.settings
	// Erasure waits for two mutations rewriting task_events and tasks_current.
	ctx, cancel := context.WithTimeout(ctx, s.DialTimeout+4*s.QueryTimeout)
	defer cancel()
	return w.Erase(ctx, assignee, actor)
}

func (il instanceLedger) Repair(ctx context.Context, req ingest.RepairRequest) (ingest.RepairReport, error) {
	w, err := il.inst.writer()
	if err != nil {
		return ingest.RepairReport{}, err
	}
	s := il.inst.settings
	// A repair compares the rollups, then deletes and rebuilds day ranges.
	ctx, cancel := context.WithTimeout(ctx, s.DialTimeout+4*s.QueryTimeout)
	defer cancel()
	return w.Repair(ctx, req)
}
