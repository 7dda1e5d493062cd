package ingest

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/kpiflow/kpiflow/pkg/ledger"
)

// EraseResult is the answer to an erasure.
type EraseResult struct {
	// SubjectSHA256 is the subject hash recorded in the ledger (see package
	// ledger), never the name.
	SubjectSHA256 string `json:"subject_sha256"`
	// Rows is the number of task_events rows whose assignee was erased.
	Rows       uint64 `json:"rows"`
	LedgerSeq  uint64 `json:"ledger_seq"`
	LedgerHash string `json:"ledger_hash"`
	// Tombstone is what the assignee now reads in task_events and tasks_current.
	Tombstone string `json:"tombstone"`
}

// The tables holding the personal field Erase erases.
const (
	erasedEvents  = "task_events"
	erasedCurrent = "tasks_current"
)

// Erase removes one person (an assignee, as stored) from task_events and
// tasks_current and records the erasure in the tasks ledger.
//
// # Notes
//
// It holds the tasks stream's lock and lease throughout, so no batch is
// written in between, by this process or another. The erasure link is appended first, then the rows are rewritten
// with ALTER TABLE ... UPDATE mutations (which 18.16 has) and Erase waits for
// them. If the mutations fail, the link stays and the rows keep the name;
// verification still passes, and erasing again finishes the job. Events that
// arrive later with the same name are new data and are stored.
func (w *Writer) Erase(ctx context.Context, assignee, actor string) (EraseResult, error) {
	n, problem := checkText([]byte(assignee))
	switch {
	case assignee == "":
		return EraseResult{}, &InputError{Field: "assignee", Message: "required: the name as stored in task_events.assignee"}
	case problem != "":
		return EraseResult{}, &InputError{Field: "assignee", Message: problem}
	case n > DefaultMaxDimLen:
		return EraseResult{}, &InputError{Field: "assignee", Message: fmt.Sprintf("%d characters, longer than any stored assignee", n)}
	case ledger.IsReserved(assignee):
		return EraseResult{}, &InputError{Field: "assignee", Message: "this value is already a tombstone of an earlier erasure"}
	}
	const stream = "tasks"
	lease, release, err := w.exclusive(ctx, stream)
	if err != nil {
		return EraseResult{}, err
	}
	defer release()

	var rows uint64
	if err := w.st.Conn().QueryRow(ctx, "SELECT count() FROM task_events WHERE assignee = ?", assignee).Scan(&rows); err != nil {
		return EraseResult{}, w.classify("count the rows to erase in task_events", err)
	}
	head, err := w.head(ctx, stream)
	if err != nil {
		return EraseResult{}, err
	}
	subject := ledger.SubjectHash(assignee)
	link := ledger.Next(head, stream, ledger.KindErasure, "erasure-"+randomBatchID()[2:], uint32(min(rows, 1<<32-1)),
		hex.EncodeToString(subject[:]), w.now(), actor)
	if err := w.checkLease(ctx, lease, stream); err != nil {
		return EraseResult{}, err
	}
	if err := w.appendLink(ctx, link); err != nil {
		return EraseResult{}, err
	}
	tomb := ledger.Tombstone(link.Seq)
	for _, t := range []string{erasedEvents, erasedCurrent} {
		if err := w.st.Conn().Exec(ctx, fmt.Sprintf("ALTER TABLE %s UPDATE assignee = ? WHERE assignee = ?", t), tomb, assignee); err != nil {
			return EraseResult{}, w.classify("erase the assignee from "+t, err)
		}
	}
	if err := w.st.WaitMutations(ctx, erasedEvents, erasedCurrent); err != nil {
		return EraseResult{}, w.classify("erase the assignee", err)
	}
	return EraseResult{SubjectSHA256: link.ContentSHA256, Rows: rows, LedgerSeq: link.Seq, LedgerHash: link.Hash, Tombstone: tomb}, nil
}
