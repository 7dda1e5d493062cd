package ingest

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/kpiflow/kpiflow/pkg/ledger"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// VerifyRequest selects what Verify checks.
type VerifyRequest struct {
	// Stream is one stream, or "" for all.
	Stream string
	// From and To (zero: unbounded) select the batches whose rows are
	// recomputed, by the link's received_at. The chain is always checked
	// from its first link, since every link's hash depends on all before it.
	From, To time.Time
}

// StreamReport is the result for one stream.
type StreamReport struct {
	Stream string `json:"stream"`
	OK     bool   `json:"ok"`
	// Links were checked in the chain; Batches had their rows recomputed.
	Links    int   `json:"links"`
	Batches  int   `json:"batches"`
	Rows     int64 `json:"rows"`
	Erasures int   `json:"erasures"`
	// Superseded lists batches of tables that keep one row per key
	// (deployments, incidents, pipelines, teams) whose rows were partly
	// replaced by later versions of the same keys, so their content can no
	// longer be recomputed; their links are still checked.
	Superseded []string `json:"superseded,omitempty"`
	// Unledgered lists (up to 10) batch_ids with rows in the stream's table
	// but no link in the ledger: rows written around ingest, or left by an
	// insert that failed half way and was retried without Idempotency-Key.
	// They do not break the chain, but no link vouches for them.
	Unledgered []UnledgeredBatch `json:"unledgered,omitempty"`
	// Rollups lists rollup buckets (up to 1000 per rollup) whose row count
	// differs from the stream's rows in the bucket, over the days holding
	// the rows checked: a crash between the raw insert and the views, for
	// instance. They make the report not ok; POST admin/repair rebuilds them.
	Rollups []store.RollupMismatch `json:"rollups,omitempty"`
	Break   *ledger.Break          `json:"break,omitempty"`
}

// UnledgeredBatch is a batch_id stored with no ledger link.
type UnledgeredBatch struct {
	BatchID string `json:"batch_id"`
	Rows    uint64 `json:"rows"`
}

// VerifyReport is Verify's answer. Break is the first broken link found.
type VerifyReport struct {
	OK      bool           `json:"ok"`
	Streams []StreamReport `json:"streams"`
	Break   *ledger.Break  `json:"break,omitempty"`
}

// Verification reads ledger links and rows in bounded pieces.
const (
	verifyPageLinks  = 1000    // links read per query
	verifyChunkRows  = 200_000 // rows recomputed per query (32 bytes each held)
	verifyChunkLinks = 500     // batch_ids per query
	maxUnledgered    = 10      // unledgered batch_ids listed per stream
)

// Verify recomputes the ledger chain of one or all streams from the stored
// links and rows and reports the first broken link of each.
func (w *Writer) Verify(ctx context.Context, req VerifyRequest) (VerifyReport, error) {
	streams := Streams()
	if req.Stream != "" {
		if _, ok := schemaFor(req.Stream); !ok {
			return VerifyReport{}, &InputError{Field: "stream", Message: (&StreamError{Stream: req.Stream}).Error()}
		}
		streams = []string{req.Stream}
	}
	rep := VerifyReport{OK: true}
	for _, s := range streams {
		sr, err := w.verifyStream(ctx, s, req)
		if err != nil {
			return VerifyReport{}, err
		}
		if !sr.OK {
			rep.OK = false
		}
		if sr.Break != nil && rep.Break == nil {
			rep.Break = sr.Break
		}
		rep.Streams = append(rep.Streams, sr)
	}
	return rep, nil
}

func (w *Writer) verifyStream(ctx context.Context, stream string, req VerifyRequest) (StreamReport, error) {
	sch, _ := schemaFor(stream)
	sr := StreamReport{Stream: stream}
	erasures, err := w.erasures(ctx, stream)
	if err != nil {
		return sr, err
	}
	sr.Erasures = len(erasures)
	checker := ledger.NewChecker(stream, ledger.Link{})
	var last uint64
	for {
		page, err := w.links(ctx, stream, last)
		if err != nil {
			return sr, err
		}
		var chainBreak *ledger.Break
		var toCheck []ledger.Link
		for _, l := range page {
			if chainBreak = checker.Link(l); chainBreak != nil {
				break
			}
			if l.Kind == ledger.KindBatch && inWindow(l.ReceivedAt, req) {
				toCheck = append(toCheck, l)
			}
		}
		contentBreak, err := w.checkContents(ctx, sch, toCheck, erasures, &sr)
		if err != nil {
			return sr, err
		}
		sr.Links = checker.Links()
		switch {
		case contentBreak != nil && (chainBreak == nil || contentBreak.Seq < chainBreak.Seq):
			sr.Break = contentBreak
		case chainBreak != nil:
			sr.Break = chainBreak
		}
		if sr.Break != nil || len(page) < verifyPageLinks {
			break
		}
		last = page[len(page)-1].Seq
	}
	if sr.Unledgered, err = w.unledgered(ctx, sch, req); err != nil {
		return sr, err
	}
	if sr.Rollups, err = w.checkRollups(ctx, sch, req); err != nil {
		return sr, err
	}
	sr.OK = sr.Break == nil && len(sr.Rollups) == 0
	return sr, nil
}

// checkRollups compares the rollups fed from the stream's table with its
// rows, over the days of the rows ingested in the request's window. It holds
// the stream's lock and lease, so no insert is half way (raw part written,
// view parts not yet) while it compares.
func (w *Writer) checkRollups(ctx context.Context, sch *streamDef, req VerifyRequest) ([]store.RollupMismatch, error) {
	if len(store.Rollups(sch.table)) == 0 {
		return nil, nil
	}
	_, release, err := w.exclusive(ctx, sch.stream)
	if err != nil {
		return nil, err
	}
	defer release()
	from, to, ok, err := w.st.TimeSpan(ctx, sch.table, req.From, req.To)
	if err != nil || !ok {
		return nil, w.classify("read the time range of "+sch.table, err)
	}
	mism, err := w.st.RollupMismatches(ctx, sch.table, from, to)
	return mism, w.classify("compare the rollups with "+sch.table, err)
}

// unledgered finds batch_ids in the stream's table that no link names. The
// scan runs in ClickHouse (one column, grouped there), restricted to the
// window by ingested_at.
func (w *Writer) unledgered(ctx context.Context, sch *streamDef, req VerifyRequest) ([]UnledgeredBatch, error) {
	found, err := w.st.UnledgeredBatches(ctx, sch.table, sch.stream, req.From, req.To, maxUnledgered)
	if err != nil {
		return nil, w.classify("look for rows of "+sch.table+" outside the ledger", err)
	}
	var out []UnledgeredBatch
	for _, b := range found {
		out = append(out, UnledgeredBatch{BatchID: b.BatchID, Rows: b.Rows})
	}
	return out, nil
}

func inWindow(t time.Time, req VerifyRequest) bool {
	return (req.From.IsZero() || !t.Before(req.From.Truncate(time.Second))) && (req.To.IsZero() || !t.After(req.To))
}

// erasures maps the seq of each erasure link of stream to its subject hash.
// Erasures are rare (one link per data-protection request).
func (w *Writer) erasures(ctx context.Context, stream string) (map[uint64][]byte, error) {
	links, err := w.st.LedgerErasures(ctx, stream)
	if err != nil {
		return nil, w.classify("read the erasure links of the "+stream+" ledger", err)
	}
	out := make(map[uint64][]byte, len(links))
	for _, l := range links {
		b, err := hex.DecodeString(l.ContentSHA256)
		if err != nil || len(b) != 32 {
			// A mangled subject hash resolves no tombstone; the link's own hash
			// check reports the change.
			continue
		}
		out[l.Seq] = b
	}
	return out, nil
}

// links reads the next page of stream's links after seq.
func (w *Writer) links(ctx context.Context, stream string, after uint64) ([]ledger.Link, error) {
	out, err := w.st.LedgerLinks(ctx, stream, after, verifyPageLinks)
	if err != nil {
		return nil, w.classify("read the "+stream+" ledger", err)
	}
	return out, nil
}

// checkContents recomputes the content hash of each link from the rows stored
// under its batch_id, a chunk of links per query, and returns the first
// (lowest seq) break.
func (w *Writer) checkContents(ctx context.Context, sch *streamDef, links []ledger.Link, erasures map[uint64][]byte, sr *StreamReport) (*ledger.Break, error) {
	for len(links) > 0 {
		n, rows := 0, 0
		for n < len(links) && n < verifyChunkLinks && (n == 0 || rows+int(links[n].RowCount) <= verifyChunkRows) {
			rows += int(links[n].RowCount)
			n++
		}
		chunk := links[:n]
		links = links[n:]
		contents, brk, err := w.hashStoredRows(ctx, sch, chunk, erasures)
		if err != nil {
			return nil, err
		}
		for _, l := range chunk {
			if brk != nil && brk.Seq <= l.Seq {
				return brk, nil
			}
			c := contents[l.BatchID]
			if c == nil {
				c = &ledger.Content{}
			}
			sr.Batches++
			sr.Rows += int64(c.Len())
			if sch.replacing && c.Len() < int(l.RowCount) {
				sr.Superseded = append(sr.Superseded, l.BatchID)
				continue
			}
			if b := ledger.CheckContent(l, c.Sum(sch.stream), c.Len()); b != nil {
				return b, nil
			}
		}
	}
	return nil, nil
}

// hashStoredRows reads the rows of the chunk's batches and returns the row
// hashes per batch_id. A tombstone that no later erasure link explains is
// returned as a break.
func (w *Writer) hashStoredRows(ctx context.Context, sch *streamDef, chunk []ledger.Link, erasures map[uint64][]byte) (map[string]*ledger.Content, *ledger.Break, error) {
	bySeq := make(map[string]ledger.Link, len(chunk))
	ids := make([]string, len(chunk))
	for i, l := range chunk {
		bySeq[l.BatchID] = l
		ids[i] = l.BatchID
	}
	cols := sch.insertColumns()
	cols = cols[:len(cols)-1] // without batch_id, read first instead
	rows, err := w.st.BatchRows(ctx, sch.table, cols, ids)
	if err != nil {
		return nil, nil, w.classify("read the rows of "+sch.table+" to verify the ledger", err)
	}
	defer rows.Close()

	one := newBatch(sch)
	var batchID string
	holders := []any{&batchID}
	var fill []func()
	for ci, c := range sch.cols {
		d := &one.cols[ci]
		switch c.kind {
		case kFloat:
			v := new(float64)
			holders = append(holders, v)
			fill = append(fill, func() { d.f = append(d.f, *v) })
		case kTime:
			v := new(time.Time)
			holders = append(holders, v)
			fill = append(fill, func() { d.t = append(d.t, *v) })
		case kNullTime:
			v := new(*time.Time)
			holders = append(holders, v)
			fill = append(fill, func() { d.nt = append(d.nt, *v) })
		case kList:
			v := new([]string)
			holders = append(holders, v)
			fill = append(fill, func() { d.list = append(d.list, *v) })
		case kLabels:
			k, v := new([]string), new([]string)
			holders = append(holders, k, v)
			fill = append(fill, func() { d.list = append(d.list, *k); d.vals = append(d.vals, *v) })
		default:
			v := new(string)
			holders = append(holders, v)
			fill = append(fill, func() { d.str = append(d.str, *v) })
		}
	}
	hasher := ledger.NewRowHasher(sch.stream)
	contents := make(map[string]*ledger.Content, len(chunk))
	var first *ledger.Break
	for rows.Next() {
		if err := rows.Scan(holders...); err != nil {
			return nil, nil, fmt.Errorf("read a row of %s: %w", sch.table, err)
		}
		one.truncate(0)
		for _, f := range fill {
			f()
		}
		one.n = 1
		link := bySeq[batchID]
		var tombstoneErr string
		content, _ := one.contentHash(hasher, 0, func(v string) ([]byte, error) {
			if v == "" {
				return nil, nil
			}
			seq, ok := ledger.ParseTombstone(v)
			if !ok {
				s := ledger.SubjectHash(v)
				return s[:], nil
			}
			sub, ok := erasures[seq]
			if !ok || seq <= link.Seq {
				tombstoneErr = fmt.Sprintf("a row holds %q but the ledger has no erasure link %d recorded after this batch", v, seq)
				return make([]byte, 32), nil
			}
			return sub, nil
		})
		if tombstoneErr != "" && (first == nil || link.Seq < first.Seq) {
			first = &ledger.Break{Stream: sch.stream, Seq: link.Seq, BatchID: link.BatchID, What: "content_sha256",
				Expected: link.ContentSHA256, Message: tombstoneErr}
		}
		c := contents[batchID]
		if c == nil {
			c = &ledger.Content{}
			contents[batchID] = c
		}
		c.Add(ledger.RowHash(content, one.EventID(0)))
	}
	if err := rows.Err(); err != nil {
		return nil, nil, w.classify("read the rows of "+sch.table+" to verify the ledger", err)
	}
	return contents, first, nil
}
