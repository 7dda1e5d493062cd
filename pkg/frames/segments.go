package frames

import (
	"sync"
)

// Segment sizes of Segments: the first piece is small, so a small answer
// costs little; each next one doubles up to MaxSegment, the size a
// SegmentPool keeps.
const (
	firstSegment = 64 << 10
	MaxSegment   = 4 << 20
)

// Segments is bytes written in pieces (the Arrow IPC file of ArrowFile):
// a large answer is never copied to grow one slice, and its pieces can go
// to the transport as they are (Pieces).
//
//	out := frames.NewSegments(pool) // pool may be nil
//	...
//	for _, p := range out.Pieces() { send(p) }
//	out.Release() // the full-size pieces go back to the pool
type Segments struct {
	pieces [][]byte
	n      int
	pool   *SegmentPool
}

// NewSegments returns empty Segments whose full-size pieces come from
// pool and go back to it on Release (nil: plain allocations).
func NewSegments(pool *SegmentPool) *Segments { return &Segments{pool: pool} }

// Write appends p; it never fails.
func (s *Segments) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(s.pieces) == 0 || len(s.pieces[len(s.pieces)-1]) == cap(s.pieces[len(s.pieces)-1]) {
			s.grow()
		}
		last := &s.pieces[len(s.pieces)-1]
		k := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	s.n += n
	return n, nil
}

// grow adds an empty piece, twice the last one's size up to MaxSegment.
func (s *Segments) grow() {
	size := firstSegment
	if k := len(s.pieces); k > 0 {
		size = min(2*cap(s.pieces[k-1]), MaxSegment)
	}
	var p []byte
	if size == MaxSegment {
		p = s.pool.get()
	} else {
		p = make([]byte, 0, size)
	}
	s.pieces = append(s.pieces, p)
}

// Len is the number of bytes written.
func (s *Segments) Len() int { return s.n }

// Pieces are the bytes in order; valid until Release.
func (s *Segments) Pieces() [][]byte { return s.pieces }

// Bytes returns the bytes as one slice: the piece itself when there is one,
// else a copy.
func (s *Segments) Bytes() []byte {
	if len(s.pieces) == 1 {
		return s.pieces[0]
	}
	b := make([]byte, 0, s.n)
	for _, p := range s.pieces {
		b = append(b, p...)
	}
	return b
}

// readAt copies n bytes from offset off.
func (s *Segments) readAt(off, n int) []byte {
	b := make([]byte, 0, n)
	for _, p := range s.pieces {
		if off >= len(p) {
			off -= len(p)
			continue
		}
		k := min(len(p)-off, n-len(b))
		b = append(b, p[off:off+k]...)
		off = 0
		if len(b) == n {
			break
		}
	}
	return b
}

// writeAt overwrites bytes from offset off with b (within what was written).
func (s *Segments) writeAt(off int, b []byte) {
	for _, p := range s.pieces {
		if off >= len(p) {
			off -= len(p)
			continue
		}
		k := copy(p[off:], b)
		b = b[k:]
		off = 0
		if len(b) == 0 {
			return
		}
	}
}

// Release hands the full-size pieces back to the pool; the Segments are
// empty afterwards.
func (s *Segments) Release() {
	for _, p := range s.pieces {
		if cap(p) == MaxSegment {
			s.pool.put(p)
		}
	}
	s.pieces, s.n = nil, 0
}

// SegmentPool keeps full-size pieces of Segments for the next large answer,
// up to a bound: their pages stay mapped, so the next large query writes
// into memory it already has instead of faulting it in again after the
// runtime returned it to the system. Safe for concurrent use.
type SegmentPool struct {
	mu   sync.Mutex
	free [][]byte
	keep int // bytes kept at most
}

// NewSegmentPool keeps up to keep bytes of free pieces (rounded down to
// whole MaxSegment pieces).
func NewSegmentPool(keep int) *SegmentPool { return &SegmentPool{keep: keep} }

// Kept is the number of bytes the pool holds now.
func (p *SegmentPool) Kept() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free) * MaxSegment
}

func (p *SegmentPool) get() []byte {
	if p != nil {
		p.mu.Lock()
		if k := len(p.free); k > 0 {
			b := p.free[k-1]
			p.free[k-1] = nil
			p.free = p.free[:k-1]
			p.mu.Unlock()
			return b
		}
		p.mu.Unlock()
	}
	return make([]byte, 0, MaxSegment)
}

func (p *SegmentPool) put(b []byte) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if (len(p.free)+1)*MaxSegment <= p.keep {
		p.free = append(p.free, b[:0])
	}
}
