package ingest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/ledger"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// Notifier hears about rows as soon as they are stored, for live streams.
// Notify must not block: a slow subscriber must never slow ingest.
type Notifier interface {
	Notify(stream string, rows int)
}

// NopNotifier notifies nobody.
type NopNotifier struct{}

// Notify does nothing.
func (NopNotifier) Notify(string, int) {}

// Result is the answer to an accepted request.
type Result struct {
	// Accepted rows were stored; Duplicates were dropped because their
	// event_id was already stored (or repeated within the request).
	Accepted   int    `json:"accepted"`
	Duplicates int    `json:"duplicates"`
	BatchID    string `json:"batch_id"`
	// LedgerHash is the hash of the batch's ledger link ("" when nothing was
	// accepted, since no link is written then).
	LedgerHash string `json:"ledger_hash"`
	// Replayed is true when the Idempotency-Key named a batch already stored:
	// nothing was written and the earlier batch's figures are returned.
	Replayed bool `json:"replayed,omitempty"`
}

// UnavailableError is ClickHouse being unreachable or refusing writes: HTTP
// 503 with Retry-After. Nothing of the batch was stored, or the retry
// (with the same Idempotency-Key or event_ids) stores it exactly once.
type UnavailableError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *UnavailableError) Error() string {
	return "ClickHouse cannot take writes now, retry later: " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// KeyReuseError is an Idempotency-Key sent again with rows its first batch
// did not hold (HTTP 409).
type KeyReuseError struct {
	Key string
	// Index is the first row that the earlier batch did not hold.
	Index int
}

func (e *KeyReuseError) Error() string {
	return fmt.Sprintf("Idempotency-Key %q was already used for a different batch (row %d was not in it): "+
		"use a new key for new data, or resend the original batch unchanged", e.Key, e.Index)
}

// ConfigError is ClickHouse refusing kpiflow because of the data source's
// configuration (wrong password, unknown database, a user that may not
// write): HTTP 500 without Retry-After, since a retry fails the same way
// until an administrator changes Setting.
type ConfigError struct {
	// Setting names the data source settings to change.
	Setting string
	Err     error
}

func (e *ConfigError) Error() string {
	return "ClickHouse refuses kpiflow's configuration (change " + e.Setting + "; retrying will not help): " + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// DefaultRetryAfter is the Retry-After of a 503.
const DefaultRetryAfter = 5 * time.Second

// retryAdvice says why a retry may succeed after ClickHouse exception code.
func retryAdvice(code int32) (string, bool) {
	switch code {
	case 60:
		return "a kpiflow table is missing: apply the schema with POST admin/migrate or turn on autoMigrate", true
	case 159, 209:
		return "the write timed out", true
	case 202, 203:
		return "ClickHouse has too many queries at once", true
	case 210:
		return "network error", true
	case 241:
		return "ClickHouse is out of memory", true
	case 242:
		return "the table is read only (replica or disk problem)", true
	case 252:
		return "too many parts: inserts come faster than ClickHouse merges them", true
	}
	return "", false
}

// Writer stores decoded batches: it drops duplicates, inserts the rest in one
// ClickHouse batch and appends a link to the stream's ledger chain. It
// serialises writes per stream, so seq numbers and the duplicate check are
// consistent.
//
//	w := ingest.NewWriter(st, ingest.NopNotifier{})
//	res, err := w.Write(ctx, batch, r.Header.Get("Idempotency-Key"), "user:alice")
//
// # Notes
//
// Writes of one stream are serialised within the process by a mutex and
// across processes sharing the server (several Grafana replicas, the kpiflow
// CLI beside Grafana) by the stream's lease in ClickHouse (store.Lease): the
// duplicate check, the insert and the ledger link of one batch run while no
// other writer of the stream runs.
type Writer struct {
	st     *store.Store
	notify Notifier
	locks  map[string]*sync.Mutex
	// written is the last link this Writer appended to each stream, read
	// and set under the stream's lock (see head).
	written map[string]*ledger.Link
	now     func() time.Time
}

// NewWriter returns a Writer storing through st. A nil Notifier is NopNotifier.
func NewWriter(st *store.Store, n Notifier) *Writer {
	if n == nil {
		n = NopNotifier{}
	}
	w := &Writer{st: st, notify: n, locks: make(map[string]*sync.Mutex), written: make(map[string]*ledger.Link), now: time.Now}
	for _, s := range Streams() {
		w.locks[s] = &sync.Mutex{}
		w.written[s] = &ledger.Link{}
	}
	return w
}

// exclusive makes the caller the only writer of stream: within this process
// (a mutex) and among every process sharing the server (the stream's lease,
// see store.Lease). The returned release ends both; the lease's Check tells
// whether it is still held before anything is committed.
func (w *Writer) exclusive(ctx context.Context, stream string) (*store.Lease, func(), error) {
	mu := w.locks[stream]
	mu.Lock()
	lease, err := w.st.AcquireLease(ctx, stream, store.DefaultLeaseTTL)
	if err != nil {
		mu.Unlock()
		return nil, nil, w.classify("become the only writer of the "+stream+" stream", err)
	}
	return lease, func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		// A lease lost or not freed expires by itself; the write's outcome
		// was decided before this.
		_ = lease.Release(ctx)
		mu.Unlock()
	}, nil
}

// checkLease is called right before a ledger link is appended: a writer
// whose lease expired (it stalled for longer than the TTL) must not extend a
// chain another writer may be extending too.
func (w *Writer) checkLease(ctx context.Context, lease *store.Lease, stream string) error {
	if err := lease.Check(ctx); err != nil {
		return w.classify("keep the "+stream+" writer lease", err)
	}
	return nil
}

// BatchID is the batch_id a request with Idempotency-Key key gets on stream:
// derived from the key so a retry finds the earlier batch in the ledger.
func BatchID(stream, key string) string {
	sum := sha256.Sum256([]byte("kpiflow/idempotency/v1\x00" + stream + "\x00" + key))
	return "k-" + hex.EncodeToString(sum[:16])
}

func randomBatchID() string {
	var buf [16]byte
	_, _ = rand.Read(buf[:])
	return "r-" + hex.EncodeToString(buf[:])
}

// Write stores b. idemKey ("" for none) names the batch; actor is who sent it
// (recorded in the ledger).
//
// # Notes
//
// The rows go in one INSERT, which ClickHouse applies part by part (one part
// per month partition). If the server fails half way, or after the insert but
// before the ledger link, some rows may be stored without a link. A retry
// with the same Idempotency-Key finds them under its batch_id and covers them
// with its link (see duplicates); a retry without a key stores only the rest
// (the stored rows are duplicates), leaving those rows outside the ledger.
// Clients that care about the ledger send a key.
func (w *Writer) Write(ctx context.Context, b *Batch, idemKey, actor string) (Result, error) {
	stream := b.Stream()
	lease, release, err := w.exclusive(ctx, stream)
	if err != nil {
		return Result{}, err
	}
	defer release()

	batchID := randomBatchID()
	if idemKey != "" {
		batchID = BatchID(stream, idemKey)
		link, found, err := w.findLink(ctx, stream, batchID)
		if err != nil {
			return Result{}, err
		}
		if found {
			// A true retry holds only rows that are stored already; a row
			// that is not means the key was reused for another batch, which
			// must not be dropped silently as a "replay".
			state, _, err := w.duplicates(ctx, b, batchID)
			if err != nil {
				return Result{}, err
			}
			for i, st := range state {
				if st == rowNew {
					return Result{}, &KeyReuseError{Key: idemKey, Index: i}
				}
			}
			return Result{Accepted: int(link.RowCount), Duplicates: max(0, b.Len()-int(link.RowCount)),
				BatchID: batchID, LedgerHash: link.Hash, Replayed: true}, nil
		}
	}
	// The ledger head is read beside the duplicate check (both under the
	// stream's lock): two round trips overlap instead of adding up.
	type headResult struct {
		link ledger.Link
		err  error
	}
	headc := make(chan headResult, 1)
	go func() {
		l, err := w.head(ctx, stream)
		headc <- headResult{l, err}
	}()
	state, dups, err := w.duplicates(ctx, b, batchID)
	hr := <-headc
	if err != nil {
		return Result{}, err
	}
	res := Result{BatchID: batchID, Duplicates: dups}
	insert, resumed := make([]bool, b.Len()), 0
	var content ledger.Content
	for i, st := range state {
		switch st {
		case rowNew:
			insert[i] = true
		case rowResumed:
			resumed++
		default:
			continue
		}
		content.Add(b.rowHash[i])
	}
	res.Accepted = content.Len()
	if res.Accepted == 0 {
		return res, nil
	}
	if hr.err != nil {
		return Result{}, hr.err
	}
	link := ledger.Next(hr.link, stream, ledger.KindBatch, batchID, uint32(res.Accepted), content.Sum(stream), w.now(), actor)
	// Only the rows no earlier attempt stored go in: a resumed row is
	// already there (and has fed the views, or repair rebuilds them).
	if toInsert := res.Accepted - resumed; toInsert > 0 {
		toStore := b
		if toInsert < b.Len() {
			toStore = b.subset(insert)
		}
		if err := w.insertRows(ctx, toStore, batchID); err != nil {
			return Result{}, err
		}
	}
	if resumed > 0 {
		// An earlier attempt stored rows and died: maybe after the raw
		// part and before the views wrote theirs. What the views fill from
		// the table (rollups, tasks_current) is checked and repaired for
		// the batch before the link vouches for it.
		if err := w.st.RepairViews(ctx, b.Table(), batchID, time.Unix(b.minTime, 0), time.Unix(b.maxTime, 0)); err != nil {
			return Result{}, w.classify("repair what the views fill from "+b.Table(), err)
		}
	}
	if err := w.checkLease(ctx, lease, stream); err != nil {
		return Result{}, err
	}
	if err := w.appendLink(ctx, link); err != nil {
		return Result{}, err
	}
	res.LedgerHash = link.Hash
	w.notify.Notify(stream, res.Accepted)
	return res, nil
}

// classify turns a ClickHouse failure into an UnavailableError when a retry
// may succeed, and wraps it with what was being done.
func (w *Writer) classify(doing string, err error) error {
	if err == nil {
		return nil
	}
	err = store.Classify(w.st.Settings(), fmt.Errorf("%s: %w", doing, err))
	var ce *store.ConnError
	if errors.As(err, &ce) {
		if !ce.Transient() {
			return &ConfigError{Setting: ce.Setting(), Err: err}
		}
		return &UnavailableError{RetryAfter: DefaultRetryAfter, Err: err}
	}
	if errors.Is(err, store.ErrLeaseLost) {
		return &UnavailableError{RetryAfter: DefaultRetryAfter, Err: err}
	}
	if store.IsReadonly(err) {
		return &ConfigError{Setting: "jsonData.username", Err: fmt.Errorf(
			"%w (the ClickHouse user %q is readonly: use a user that may write)", err, w.st.Settings().Username)}
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		if advice, ok := retryAdvice(ex.Code); ok {
			return &UnavailableError{RetryAfter: DefaultRetryAfter, Err: fmt.Errorf("%w (%s)", err, advice)}
		}
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "connection reset") {
		return &UnavailableError{RetryAfter: DefaultRetryAfter, Err: err}
	}
	return err
}

// head is the stream's last link (the zero Link for an empty stream). The
// caller holds the stream's lock.
//
// In cluster mode a link this Writer appended may be missing from every
// server that answers now: acknowledged by one replica of the ledger's
// shard, which went down before the other fetched it (seen in the cluster
// suite with a replica stopped during ingest). The chain then goes on from
// the link this Writer remembers, and the servers hold it again once that
// replica is back. A head of 0 is trusted: the ledger was emptied (a new
// database), not merely behind. On one server what it answers is the head:
// a link it lacks was never stored.
func (w *Writer) head(ctx context.Context, stream string) (ledger.Link, error) {
	l, err := w.st.LedgerHead(ctx, stream)
	if err != nil {
		return ledger.Link{}, w.classify("read the head of the "+stream+" ledger", err)
	}
	if last := w.written[stream]; w.st.Settings().Cluster != "" && l.Seq > 0 && last.Seq > l.Seq {
		return ledger.Link{Stream: stream, Seq: last.Seq, Hash: last.Hash}, nil
	}
	return l, nil
}

// findLink looks the batch up in the ledger, on every replica in cluster
// mode (store.ReadReplicas): a retry through another Grafana replica must
// find a link written a moment ago.
func (w *Writer) findLink(ctx context.Context, stream, batchID string) (ledger.Link, bool, error) {
	l, found, err := w.st.LedgerLink(ctx, stream, batchID)
	if err != nil {
		return l, false, w.classify("look up the Idempotency-Key in the ledger", err)
	}
	return l, found, nil
}

// Row states after the duplicate check.
const (
	rowDuplicate uint8 = iota // event_id already stored, or repeated in the batch
	rowNew                    // to insert
	rowResumed                // stored by an earlier attempt of this same batch (same Idempotency-Key)
)

// duplicates gives each row its state. It asks ClickHouse once, sending the
// batch's event_ids (and key values) as an external table and restricting the
// scan to the batch's time range and key values, so it reads only the
// partitions and index ranges the batch touches, never the whole table.
//
// A row already stored under this batchID was written by an earlier attempt
// of the same Idempotency-Key whose ledger link was not written (the insert
// went through, then ClickHouse went away): it is counted as accepted and
// covered by this attempt's link instead of being inserted again.
func (w *Writer) duplicates(ctx context.Context, b *Batch, batchID string) ([]uint8, int, error) {
	sch := b.sch
	n := b.Len()
	state := make([]uint8, n)
	seen := make(map[string]struct{}, n)
	ids := b.cols[sch.col(schema.ColEventID)].str
	dups := 0
	for i, id := range ids {
		if _, ok := seen[id]; ok {
			dups++
			continue
		}
		seen[id] = struct{}{}
		state[i] = rowNew
	}
	if n == 0 {
		return state, dups, nil
	}
	q := store.EventLookup{Table: sch.table, EventIDs: ids, KeyColumns: sch.keyCols}
	if sch.timeCol != "" {
		q.TimeColumn, q.From, q.To = sch.timeCol, b.minTime, b.maxTime
	}
	for _, k := range sch.keyCols {
		q.KeyValues = append(q.KeyValues, b.cols[sch.col(k)].str)
	}
	// Every replica in cluster mode (store.StoredEvents): a row stored a
	// moment ago by another writer may not have reached the other replica of
	// its shard yet.
	stored := make(map[string]bool)
	err := w.st.StoredEvents(ctx, q, func(id, bid string) { stored[id] = stored[id] || bid == batchID })
	if err != nil {
		return nil, 0, w.classify("check the batch for event_ids already stored in "+sch.table, err)
	}
	if len(stored) > 0 {
		for i, id := range ids {
			ours, ok := stored[id]
			if !ok || state[i] != rowNew {
				continue
			}
			if ours {
				state[i] = rowResumed
			} else {
				state[i] = rowDuplicate
				dups++
			}
		}
	}
	return state, dups, nil
}

func (w *Writer) insertRows(ctx context.Context, b *Batch, batchID string) error {
	cols := b.sch.insertColumns()
	values := b.columnValues()
	ids := make([]string, b.Len())
	for i := range ids {
		ids[i] = batchID
	}
	values = append(values, ids)
	err := w.st.InsertBatch(ctx, b.sch.table, cols, func(batch driver.Batch) error {
		for i, v := range values {
			if err := batch.Column(i).Append(v); err != nil {
				return fmt.Errorf("column %s: %w", cols[i], err)
			}
		}
		return nil
	})
	if err != nil {
		return w.classify(fmt.Sprintf("store %d rows in %s", b.Len(), b.sch.table), err)
	}
	return nil
}

func (w *Writer) appendLink(ctx context.Context, l ledger.Link) error {
	if err := w.st.AppendLink(ctx, l); err != nil {
		return w.classify(fmt.Sprintf("append link %d to the %s ledger", l.Seq, l.Stream), err)
	}
	*w.written[l.Stream] = l
	return nil
}
