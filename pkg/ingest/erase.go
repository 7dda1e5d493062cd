package ingest

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/kpiflow/kpiflow/pkg/ledger"
	"github.com/kpiflow/kpiflow/pkg/schema"
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
	// PendingServers, in cluster mode, are the servers that did not answer:
	// ZooKeeper keeps the erasure for them and they apply it when they are
	// back (admin/schema shows when their replication queue is empty).
	PendingServers []string `json:"pending_servers,omitempty"`
}

// erasable is what Erase rewrites: the stream with a personal field (the
// tasks' assignee), that column, its table and the tables views copy it to.
func erasable() (stream, column string, tables []string) {
	for _, s := range schema.Streams() {
		for _, f := range s.Fields() {
			if f.Kind != schema.FieldPersonal {
				continue
			}
			tables = []string{s.Table.Name}
			for _, t := range schema.Tables() {
				if _, ok := t.Column(f.Name); ok && t.Source == s.Table.Name {
					tables = append(tables, t.Name)
				}
			}
			return s.Name, f.Name, tables
		}
	}
	// The schema has one personal column; without it there is nothing to erase.
	panic("ingest: the schema has no personal column")
}

// Erase removes one person (an assignee, as stored) from task_events and
// tasks_current and records the erasure in the tasks ledger.
//
// # Notes
//
// It holds the tasks stream's lock and lease throughout, so no batch is
// written in between, by this process or another. The erasure link is
// appended first, then the rows are rewritten with ALTER TABLE ... UPDATE
// mutations (store.ReplaceValue: on the replicated local tables ON CLUSTER
// in cluster mode) and Erase waits for them. If the mutations fail, the link stays and the rows keep the name;
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
	stream, column, tables := erasable()
	lease, release, err := w.exclusive(ctx, stream)
	if err != nil {
		return EraseResult{}, err
	}
	defer release()

	rows, err := w.st.CountValue(ctx, tables[0], column, assignee)
	if err != nil {
		return EraseResult{}, w.classify("count the rows to erase in "+tables[0], err)
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
	// In cluster mode ReplaceValue runs ON CLUSTER, reaching every replica of
	// every shard, and waits for every server.
	pending, err := w.st.ReplaceValue(ctx, tables, column, assignee, tomb)
	if err != nil {
		return EraseResult{}, w.classify("erase the "+column, err)
	}
	return EraseResult{SubjectSHA256: link.ContentSHA256, Rows: rows, LedgerSeq: link.Seq, LedgerHash: link.Hash, Tombstone: tomb,
		PendingServers: pending}, nil
}
