package frames

import (
	"encoding/binary"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// newString is the column of String, read in bulk: each value becomes a Go
// string pointing into the block's own bytes (the ch-go column behind
// clickhouse-go's String keeps every value of a block in one buffer, which
// no one changes once decoded), so a String column costs no copy and no
// allocation per value.
func newString() *typed[string] { return newTyped[string](stringDecoder{}) }

// newText is the column of FixedString, UUID, IPv4 and IPv6: their ScanRow
// takes a *string directly (UUID and IP addresses as their canonical text).
func newText() *typed[string] { return newTyped[string](nil) }

type stringDecoder struct{}

func (stringDecoder) decode(dst []string, col chcol.Interface, from, to int, _ *encoder) bool {
	s, ok := col.(*chcol.String)
	if !ok {
		return false
	}
	cs, ok := innerField[proto.ColStr](s, "col")
	if !ok || len(cs.Pos) != col.Rows() {
		return false
	}
	for i, p := range cs.Pos[from:to] {
		if p.End > p.Start {
			dst[i] = unsafe.String(&cs.Buf[p.Start], p.End-p.Start)
		} else {
			dst[i] = ""
		}
	}
	return true
}

// decodeStrings decodes rows [from, to) of rows length-prefixed strings in b
// (String's native encoding: the length as unsigned LEB128, then the bytes)
// into dst, as strings sharing b's memory (b must never change). It returns
// the offset after the last of the rows values, or -1 when b is not rows
// such strings.
func decodeStrings(dst []string, b []byte, rows, from, to int) int {
	off := 0
	for i := 0; i < rows; i++ {
		n, w := binary.Uvarint(b[off:])
		if w <= 0 || n > uint64(len(b)-off-w) {
			return -1
		}
		off += w
		if i >= from && i < to {
			if n == 0 {
				dst[i-from] = ""
			} else {
				dst[i-from] = unsafe.String(&b[off], int(n))
			}
		}
		off += int(n)
	}
	return off
}
