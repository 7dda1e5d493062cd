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
//	out.Release() // after the transport is done with the pieces
//
// # Notes
//
// Full-size pieces are mapped outside the Go heap where the system allows
// (allocSegment): an answer's bytes are then neither scanned by the
// collector nor counted in the heap goal it grows by GOGC, and Release
// gives them back to the pool or the system at once. So the pieces must
// not be used after Release.
type Segments struct {
	pieces [][]byte
	mapped []bool // per piece: allocSegment mapped it
	n      int
	pool   *SegmentPool
}

// piece is a full-size piece and whether it is mapped outside the heap.
type piece struct {
	b      []byte
	mapped bool
}

// NewSegments returns empty Segments whose full-size pieces come from
// pool and go back to it on Release (nil: each is freed on Release).
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
	seg := piece{b: make([]byte, 0, size)}
	if size == MaxSegment {
		seg = s.pool.get()
	}
	s.pieces = append(s.pieces, seg.b)
	s.mapped = append(s.mapped, seg.mapped)
}

// Len is the number of bytes written.
func (s *Segments) Len() int { return s.n }

// Pieces are the bytes in order; valid until Release.
func (s *Segments) Pieces() [][]byte { return s.pieces }

// Bytes returns the bytes as one slice, a copy on the heap: it stays
// valid after Release.
func (s *Segments) Bytes() []byte {
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

// Release hands the full-size pieces back to the pool (or frees them);
// the Segments are empty afterwards.
func (s *Segments) Release() {
	for i, p := range s.pieces {
		if cap(p) == MaxSegment {
			s.pool.put(piece{b: p, mapped: s.mapped[i]})
		}
	}
	s.pieces, s.mapped, s.n = nil, nil, 0
}

// SegmentPool keeps full-size pieces of Segments for the next large answer,
// up to a bound: their pages stay mapped, so the next large query writes
// into memory the process already has instead of faulting it in again
// after the runtime returned it to the system. Pieces past the bound are
// freed at once. Safe for concurrent use.
type SegmentPool struct {
	mu    sync.Mutex
	free  []piece
	keep  int // bytes kept at most
	inUse int // bytes of full-size pieces handed out and not back yet
	onUse func(inUse int)
}

// NewSegmentPool keeps up to keep bytes of free pieces (rounded down to
// whole MaxSegment pieces). onUse, when not nil, is called with the bytes
// of full-size pieces in use whenever that changes, in order (under the
// pool's lock: it must not use the pool).
func NewSegmentPool(keep int, onUse func(inUse int)) *SegmentPool {
	return &SegmentPool{keep: keep, onUse: onUse}
}

// used notes a change of the pieces in use; p.mu is held.
func (p *SegmentPool) used(delta int) {
	p.inUse += delta
	if p.onUse != nil {
		p.onUse(p.inUse)
	}
}

// Kept is the number of bytes the pool holds now.
func (p *SegmentPool) Kept() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free) * MaxSegment
}

func (p *SegmentPool) get() piece {
	if p == nil {
		return allocSegment()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.used(MaxSegment)
	if k := len(p.free); k > 0 {
		s := p.free[k-1]
		p.free[k-1] = piece{}
		p.free = p.free[:k-1]
		return s
	}
	return allocSegment()
}

func (p *SegmentPool) put(s piece) {
	if p != nil {
		p.mu.Lock()
		p.used(-MaxSegment)
		if (len(p.free)+1)*MaxSegment <= p.keep {
			s.b = s.b[:0]
			p.free = append(p.free, s)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	freeSegment(s)
}
