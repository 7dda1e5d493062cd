package live

// Watermark is where a channel's stream stands: the newest ingested_at seen
// (Unix seconds, the server's clock) and how many times each row identity
// stamped within lag seconds of it has been delivered. See the package
// comment for why both are needed.
//
//	w := live.NewWatermark(now, 10, 50_000)    // after a baseline read at server time now
//	since := w.Since()                         // read rows with ingested_at >= since
//	fresh, step := w.Diff(stamps, ids, full)   // rows to deliver
//	... deliver rows fresh ...
//	w.Commit(step)                             // only once they are delivered
//
// # Notes
//
// Diff does not change the watermark: a poll whose delivery fails commits
// nothing, and the next poll finds the same rows fresh again. Memory is one
// small entry per row identity in the window, at most maxRows of them.
type Watermark struct {
	lag     int64
	maxRows int
	// newest is the newest ingested_at seen.
	newest int64
	// floor raises Since after an overflow: rows stamped below it were
	// skipped for good.
	floor int64
	seen  map[uint64]mark
}

// mark is one row identity: its ingested_at and how many rows with it were
// delivered.
type mark struct {
	at int64
	n  uint32
}

// NewWatermark starts a watermark at server time now, knowing nothing
// delivered: call Baseline with the rows visible at the start.
func NewWatermark(now, lagSeconds int64, maxRows int) *Watermark {
	return &Watermark{lag: lagSeconds, maxRows: maxRows, newest: now, seen: map[uint64]mark{}}
}

// Since is the ingested_at (inclusive) from which a poll must read.
func (w *Watermark) Since() int64 { return max(w.newest-w.lag, w.floor) }

// Newest is the newest ingested_at seen.
func (w *Watermark) Newest() int64 { return w.newest }

// Tracked is the number of row identities held.
func (w *Watermark) Tracked() int { return len(w.seen) }

// Step is the outcome of a Diff, applied by Commit.
type Step struct {
	newest   int64
	floor    int64
	counts   map[uint64]mark
	Overflow bool
}

// Diff compares the rows a poll read (stamps[i] is row i's ingested_at,
// ids[i] its identity) with what was delivered and returns the indices of
// the rows to deliver now. full says the read hit its row limit (it asked
// for one row more than maxRows, newest first): the oldest second it
// reached may be incomplete, so its rows are neither delivered nor tracked,
// and Since moves past it (Step.Overflow).
func (w *Watermark) Diff(stamps []int64, ids []uint64) (fresh []int, step Step) {
	step = Step{newest: w.newest, floor: w.floor, counts: make(map[uint64]mark, len(ids))}
	cut := int64(-1 << 62)
	if len(stamps) > w.maxRows {
		step.Overflow = true
		cut = stamps[0]
		for _, s := range stamps {
			cut = min(cut, s)
		}
		step.floor = max(step.floor, cut+1)
	}
	for i, id := range ids {
		s := stamps[i]
		if s <= cut || s < w.Since() {
			continue
		}
		m := step.counts[id]
		m.at, m.n = s, m.n+1
		step.counts[id] = m
		if m.n > w.seen[id].n {
			fresh = append(fresh, i)
		}
		step.newest = max(step.newest, s)
	}
	return fresh, step
}

// Commit records a Diff's rows as delivered and forgets identities that
// fell out of the window.
func (w *Watermark) Commit(step Step) {
	for id, m := range step.counts {
		if old, ok := w.seen[id]; !ok || m.n > old.n {
			w.seen[id] = m
		}
	}
	w.newest, w.floor = step.newest, step.floor
	since := w.Since()
	for id, m := range w.seen {
		if m.at < since {
			delete(w.seen, id)
		}
	}
}

// Baseline records rows visible when the channel starts as delivered: the
// stream is about what comes after them.
func (w *Watermark) Baseline(stamps []int64, ids []uint64) {
	_, step := w.Diff(stamps, ids)
	w.Commit(step)
}
