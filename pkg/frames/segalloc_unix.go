//go:build unix

package frames

import "syscall"

// allocSegment maps a full-size piece outside the Go heap: the collector
// neither scans it nor counts it toward its next goal, so a large answer
// being written does not let the heap grow by GOGC's headroom on top of
// it, and freeSegment gives the pages back at once.
func allocSegment() piece {
	b, err := syscall.Mmap(-1, 0, MaxSegment, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		// Out of address space or a mapping limit: the heap still works.
		return piece{b: make([]byte, 0, MaxSegment)}
	}
	return piece{b: b[:0], mapped: true}
}

// freeSegment unmaps a piece allocSegment mapped (a heap piece is left to
// the collector).
func freeSegment(s piece) {
	if s.mapped {
		_ = syscall.Munmap(s.b[:cap(s.b)])
	}
}
