package ledger

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Link kinds, as stored in ingest_ledger.kind.
const (
	KindBatch   = "batch"
	KindErasure = "erasure"
)

// Domain tags keep the hashes of rows, contents, links and subjects apart, so
// that no value of one kind can be passed off as another.
const (
	tagContent = "kpiflow/row-content/v1\x00"
	tagRow     = "kpiflow/row/v1\x00"
	tagBatch   = "kpiflow/batch-content/v1\x00"
	tagLink    = "kpiflow/link/v1\x00"
	tagSubject = "kpiflow/personal/v1\x00"
)

// Field type tags in the canonical encoding.
const (
	fString   byte = 's'
	fFloat    byte = 'f'
	fTime     byte = 't'
	fNullTime byte = 'n'
	fStrings  byte = 'a'
	fPersonal byte = 'p'
)

// RowHasher builds the canonical encoding of one row at a time.
//
//	h := ledger.NewRowHasher("tasks")
//	for each row { h.Reset(); h.Time("ts", sec); h.Personal("assignee", name); ...; id := h.ContentHash() }
//
// # Notes
//
// Fields must be added in the stream's fixed column order, with the values
// as ClickHouse stores them (times in whole seconds). A RowHasher reuses its
// buffer and is not safe for concurrent use.
type RowHasher struct {
	buf    []byte
	prefix int
}

// NewRowHasher returns a hasher for rows of stream.
func NewRowHasher(stream string) *RowHasher {
	h := &RowHasher{buf: make([]byte, 0, 512)}
	h.buf = append(h.buf, tagContent...)
	h.buf = appendString(h.buf, stream)
	h.prefix = len(h.buf)
	return h
}

// Reset starts a new row.
func (h *RowHasher) Reset() { h.buf = h.buf[:h.prefix] }

func (h *RowHasher) field(tag byte, name string) {
	h.buf = append(h.buf, tag)
	h.buf = appendString(h.buf, name)
}

// String adds a text field.
func (h *RowHasher) String(name, v string) {
	h.field(fString, name)
	h.buf = appendString(h.buf, v)
}

// Float adds a Float64 field.
func (h *RowHasher) Float(name string, v float64) {
	h.field(fFloat, name)
	h.buf = binary.BigEndian.AppendUint64(h.buf, math.Float64bits(v))
}

// Time adds a DateTime field as Unix seconds.
func (h *RowHasher) Time(name string, unix int64) {
	h.field(fTime, name)
	h.buf = binary.BigEndian.AppendUint64(h.buf, uint64(unix))
}

// NullTime adds a Nullable(DateTime) field.
func (h *RowHasher) NullTime(name string, unix int64, valid bool) {
	h.field(fNullTime, name)
	if !valid {
		h.buf = append(h.buf, 0)
		return
	}
	h.buf = append(h.buf, 1)
	h.buf = binary.BigEndian.AppendUint64(h.buf, uint64(unix))
}

// Strings adds an Array(String) field.
func (h *RowHasher) Strings(name string, v []string) {
	h.field(fStrings, name)
	h.buf = binary.AppendUvarint(h.buf, uint64(len(v)))
	for _, s := range v {
		h.buf = appendString(h.buf, s)
	}
}

// Personal adds a personal field by its SubjectHash; the empty string stays
// empty (there is nobody to protect).
func (h *RowHasher) Personal(name, v string) {
	if v == "" {
		h.PersonalHash(name, nil)
		return
	}
	s := SubjectHash(v)
	h.PersonalHash(name, s[:])
}

// PersonalHash adds a personal field whose subject hash is already known (a
// tombstoned field, from its erasure link). nil means the empty value.
func (h *RowHasher) PersonalHash(name string, subject []byte) {
	h.field(fPersonal, name)
	if subject == nil {
		h.buf = append(h.buf, 0)
		return
	}
	h.buf = append(h.buf, 1)
	h.buf = append(h.buf, subject...)
}

// ContentHash is the hash of the row's fields so far: the derived event_id
// (in hex) of a row sent without one.
func (h *RowHasher) ContentHash() [32]byte { return sha256.Sum256(h.buf) }

// RowHash is the hash the ledger commits to for a row with this content and
// event_id.
func RowHash(content [32]byte, eventID string) [32]byte {
	var arr [256]byte // event_ids are short: no allocation
	buf := append(arr[:0], tagRow...)
	buf = append(buf, content[:]...)
	buf = appendString(buf, eventID)
	return sha256.Sum256(buf)
}

// SubjectHash is the hash a personal value enters the encoding as, and the
// content_sha256 of the erasure link that erases it.
func SubjectHash(v string) [32]byte {
	return sha256.Sum256([]byte(tagSubject + v))
}

// Tombstone is what an erasure writes over a personal field: a pointer to
// the erasure link, not to the person.
func Tombstone(erasureSeq uint64) string {
	return tombstonePrefix + strconv.FormatUint(erasureSeq, 10) + "]"
}

const tombstonePrefix = "[erased #"

// ParseTombstone returns the erasure link's seq of a tombstoned value.
func ParseTombstone(v string) (uint64, bool) {
	rest, ok := strings.CutPrefix(v, tombstonePrefix)
	if !ok {
		return 0, false
	}
	num, ok := strings.CutSuffix(rest, "]")
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	if err != nil || strconv.FormatUint(seq, 10) != num {
		return 0, false
	}
	return seq, true
}

// IsReserved reports whether a client-sent personal value could be mistaken
// for a tombstone; ingest refuses such values.
func IsReserved(v string) bool { return strings.HasPrefix(v, tombstonePrefix) }

// Content accumulates the row hashes of one batch. Its memory is 32 bytes per
// row, so callers bound it by the rows per batch.
type Content struct {
	rows [][32]byte
}

// Add adds one row hash.
func (c *Content) Add(row [32]byte) { c.rows = append(c.rows, row) }

// Len is the number of rows added.
func (c *Content) Len() int { return len(c.rows) }

// Reset empties c, keeping its memory.
func (c *Content) Reset() { c.rows = c.rows[:0] }

// Sum is the batch's content_sha256 (hex) for stream. It sorts the rows in
// place.
func (c *Content) Sum(stream string) string {
	// Byte order: the first 8 bytes as a big-endian number decide all but
	// a ~2^-64 share of the comparisons, without calling bytes.Compare.
	slices.SortFunc(c.rows, func(a, b [32]byte) int {
		if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
			return c
		}
		return bytes.Compare(a[8:], b[8:])
	})
	h := sha256.New()
	var head []byte
	head = append(head, tagBatch...)
	head = appendString(head, stream)
	head = binary.AppendUvarint(head, uint64(len(c.rows)))
	h.Write(head)
	for i := range c.rows {
		h.Write(c.rows[i][:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Link is one row of ingest_ledger.
type Link struct {
	Stream        string
	Seq           uint64
	Kind          string
	BatchID       string
	RowCount      uint32
	ContentSHA256 string
	PrevHash      string
	Hash          string
	ReceivedAt    time.Time
	Actor         string
}

// ComputeHash is the link's hash over every other column (ReceivedAt in
// whole seconds, as stored).
func (l Link) ComputeHash() string {
	buf := make([]byte, 0, 256)
	buf = append(buf, tagLink...)
	buf = appendString(buf, l.Stream)
	buf = binary.BigEndian.AppendUint64(buf, l.Seq)
	buf = appendString(buf, l.Kind)
	buf = appendString(buf, l.BatchID)
	buf = binary.BigEndian.AppendUint32(buf, l.RowCount)
	buf = appendString(buf, l.ContentSHA256)
	buf = appendString(buf, l.PrevHash)
	buf = binary.BigEndian.AppendUint64(buf, uint64(l.ReceivedAt.Unix()))
	buf = appendString(buf, l.Actor)
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

// Next returns the link that follows head (the zero Link for an empty
// stream), with its hash filled in.
func Next(head Link, stream, kind, batchID string, rows uint32, content string, at time.Time, actor string) Link {
	l := Link{
		Stream: stream, Seq: head.Seq + 1, Kind: kind, BatchID: batchID, RowCount: rows,
		ContentSHA256: content, PrevHash: head.Hash, ReceivedAt: at.UTC().Truncate(time.Second), Actor: actor,
	}
	l.Hash = l.ComputeHash()
	return l
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}
