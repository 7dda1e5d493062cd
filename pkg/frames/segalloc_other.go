//go:build !unix

package frames

// allocSegment allocates a full-size piece (on the heap: no mmap here).
func allocSegment() piece { return piece{b: make([]byte, 0, MaxSegment)} }

// freeSegment leaves a piece to the collector.
func freeSegment(piece) {}
