package ledger

import "fmt"

// Break is the first link of a stream whose chain or content does not
// recompute.
type Break struct {
	Stream  string `json:"stream"`
	Seq     uint64 `json:"seq"`
	BatchID string `json:"batch_id"`
	// What is the column that differs: seq, prev_hash, hash or content_sha256.
	What     string `json:"what"`
	Expected string `json:"expected"`
	Found    string `json:"found"`
	Message  string `json:"message"`
}

func (b *Break) Error() string {
	return fmt.Sprintf("ledger %s broken at seq %d (batch %s): %s", b.Stream, b.Seq, b.BatchID, b.Message)
}

// Checker walks one stream's links in seq order and checks the chain.
//
//	c := ledger.NewChecker("kpi", prev) // prev: the link before the first one checked, or the zero Link
//	for each link in seq order { if brk := c.Link(l); brk != nil { return brk } }
type Checker struct {
	stream string
	prev   Link
	links  int
}

// NewChecker checks stream from the link after prev (the zero Link to start
// at the beginning, seq 1).
func NewChecker(stream string, prev Link) *Checker {
	return &Checker{stream: stream, prev: prev}
}

// Links is the number of links checked so far.
func (c *Checker) Links() int { return c.links }

// Link checks the next link's place in the chain and its own hash.
func (c *Checker) Link(l Link) *Break {
	brk := func(what, expected, found, msg string) *Break {
		return &Break{Stream: c.stream, Seq: l.Seq, BatchID: l.BatchID, What: what, Expected: expected, Found: found, Message: msg}
	}
	if l.Stream != c.stream {
		return brk("stream", c.stream, l.Stream, "link belongs to another stream")
	}
	if l.Seq != c.prev.Seq+1 {
		return brk("seq", fmt.Sprint(c.prev.Seq+1), fmt.Sprint(l.Seq),
			fmt.Sprintf("links are missing or repeated: expected seq %d after %d", c.prev.Seq+1, c.prev.Seq))
	}
	if l.PrevHash != c.prev.Hash {
		return brk("prev_hash", c.prev.Hash, l.PrevHash, "prev_hash is not the hash of the link before")
	}
	if l.Kind != KindBatch && l.Kind != KindErasure {
		return brk("kind", KindBatch+"|"+KindErasure, l.Kind, "unknown link kind")
	}
	if h := l.ComputeHash(); h != l.Hash {
		return brk("hash", h, l.Hash, "the link's columns do not match its hash (the link was changed)")
	}
	c.prev = l
	c.links++
	return nil
}

// CheckContent compares a batch link's stored content_sha256 with the one
// recomputed from its stored rows.
func CheckContent(l Link, recomputed string, rows int) *Break {
	if recomputed == l.ContentSHA256 && rows == int(l.RowCount) {
		return nil
	}
	msg := "the batch's stored rows do not hash to the link's content_sha256 (a row was changed)"
	if rows != int(l.RowCount) {
		msg = fmt.Sprintf("the link covers %d rows but %d are stored under its batch_id (rows were added or removed)", l.RowCount, rows)
	}
	return &Break{Stream: l.Stream, Seq: l.Seq, BatchID: l.BatchID, What: "content_sha256",
		Expected: l.ContentSHA256, Found: recomputed, Message: msg}
}
