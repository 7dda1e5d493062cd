package ledger

import (
	"bytes"
	"encoding/hex"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func rowHash(stream string, fill func(h *RowHasher)) [32]byte {
	h := NewRowHasher(stream)
	fill(h)
	c := h.ContentHash()
	return RowHash(c, hex.EncodeToString(c[:]))
}

func TestEncodingIsUnambiguous(t *testing.T) {
	// Pairs that a naive concatenation would encode the same way.
	pairs := []struct {
		name string
		a, b func(h *RowHasher)
	}{
		{"moved boundary", func(h *RowHasher) { h.String("a", "bc"); h.String("d", "") },
			func(h *RowHasher) { h.String("a", "b"); h.String("cd", "") }},
		{"string vs personal", func(h *RowHasher) { h.String("assignee", "ann") },
			func(h *RowHasher) { h.Personal("assignee", "ann") }},
		{"null vs zero time", func(h *RowHasher) { h.NullTime("t", 0, false) },
			func(h *RowHasher) { h.NullTime("t", 0, true) }},
		{"array split", func(h *RowHasher) { h.Strings("l", []string{"ab"}) },
			func(h *RowHasher) { h.Strings("l", []string{"a", "b"}) }},
		{"negative zero", func(h *RowHasher) { h.Float("v", 0) },
			func(h *RowHasher) { h.Float("v", -1*0.0-0.0*-1) }}, // still +0: must equal
	}
	for _, tt := range pairs[:4] {
		t.Run(tt.name, func(t *testing.T) {
			require.NotEqual(t, rowHash("s", tt.a), rowHash("s", tt.b))
		})
	}
	require.Equal(t, rowHash("s", pairs[4].a), rowHash("s", pairs[4].b))
	require.NotEqual(t, rowHash("kpi", pairs[0].a), rowHash("tasks", pairs[0].a), "the stream is part of the row")
}

func TestContentIsOrderIndependent(t *testing.T) {
	r1 := rowHash("kpi", func(h *RowHasher) { h.Float("value", 1) })
	r2 := rowHash("kpi", func(h *RowHasher) { h.Float("value", 2) })
	var a, b Content
	a.Add(r1)
	a.Add(r2)
	b.Add(r2)
	b.Add(r1)
	require.Equal(t, a.Sum("kpi"), b.Sum("kpi"))
	var c Content
	c.Add(r1)
	require.NotEqual(t, a.Sum("kpi"), c.Sum("kpi"))
}

func TestTombstone(t *testing.T) {
	seq, ok := ParseTombstone(Tombstone(42))
	require.True(t, ok)
	require.Equal(t, uint64(42), seq)
	for _, bad := range []string{"[erased #]", "[erased #042]", "[erased #4", "erased #4]", "[erased #-1]", "ann"} {
		_, ok := ParseTombstone(bad)
		require.False(t, ok, bad)
	}
	require.True(t, IsReserved("[erased #x"))
	require.False(t, IsReserved("Ann [erased #1]"))
}

func TestPersonalByHash(t *testing.T) {
	// A tombstoned field, fed its subject hash from the erasure link, hashes
	// like the original name.
	s := SubjectHash("Ann Example")
	byName := rowHash("tasks", func(h *RowHasher) { h.Personal("assignee", "Ann Example") })
	byHash := rowHash("tasks", func(h *RowHasher) { h.PersonalHash("assignee", s[:]) })
	require.Equal(t, byName, byHash)
	empty := rowHash("tasks", func(h *RowHasher) { h.Personal("assignee", "") })
	require.Equal(t, empty, rowHash("tasks", func(h *RowHasher) { h.PersonalHash("assignee", nil) }))
}

func chain(n int) []Link {
	var links []Link
	head := Link{}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; i < n; i++ {
		head = Next(head, "kpi", KindBatch, "b"+string(rune('a'+i)), 10, "c", at, "editor")
		links = append(links, head)
	}
	return links
}

func TestChecker(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(l []Link) []Link
		seq    uint64
		what   string
	}{
		{"intact", func(l []Link) []Link { return l }, 0, ""},
		{"changed row count", func(l []Link) []Link { l[2].RowCount = 11; return l }, 3, "hash"},
		{"removed link", func(l []Link) []Link { return append(l[:1], l[2:]...) }, 3, "seq"},
		{"rehashed link", func(l []Link) []Link { l[1].Actor = "x"; l[1].Hash = l[1].ComputeHash(); return l }, 3, "prev_hash"},
		{"unknown kind", func(l []Link) []Link { l[0].Kind = "other"; l[0].Hash = l[0].ComputeHash(); return l }, 1, "kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewChecker("kpi", Link{})
			var brk *Break
			for _, l := range tt.tamper(chain(4)) {
				if brk = c.Link(l); brk != nil {
					break
				}
			}
			if tt.what == "" {
				require.Nil(t, brk)
				require.Equal(t, 4, c.Links())
				return
			}
			require.NotNil(t, brk)
			require.Equal(t, tt.seq, brk.Seq)
			require.Equal(t, tt.what, brk.What, brk.Message)
		})
	}
}

func TestCheckContent(t *testing.T) {
	l := Link{Stream: "kpi", Seq: 3, BatchID: "b", RowCount: 2, ContentSHA256: "abc"}
	require.Nil(t, CheckContent(l, "abc", 2))
	brk := CheckContent(l, "abd", 2)
	require.Equal(t, "abc", brk.Expected)
	require.Equal(t, "abd", brk.Found)
	require.Contains(t, CheckContent(l, "abc", 1).Message, "covers 2 rows but 1")
}

func FuzzParseTombstone(f *testing.F) {
	for _, s := range []string{Tombstone(1), Tombstone(18446744073709551615), "[erased #]", "[erased #01]", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seq, ok := ParseTombstone(s)
		if ok && Tombstone(seq) != s {
			t.Fatalf("%q parsed as %d, which prints as %q", s, seq, Tombstone(seq))
		}
		if ok && !IsReserved(s) {
			t.Fatalf("%q is a tombstone but not reserved", s)
		}
	})
}

// TestContentSumSortsBytewise: rows are ordered byte by byte, also when
// their first 8 bytes tie, whatever order they were added in.
func TestContentSumSortsBytewise(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var rows [][32]byte
	for i := 0; i < 500; i++ {
		var row [32]byte
		r.Read(row[:])
		if i%3 == 0 {
			copy(row[:8], "samehead") // ties on the first 8 bytes
		}
		if i%7 == 0 {
			row[8] = 0 // and sometimes beyond them
		}
		rows = append(rows, row)
	}
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	var want, got Content
	for _, row := range sorted {
		want.Add(row)
	}
	for _, i := range r.Perm(len(rows)) {
		got.Add(rows[i])
	}
	sum := got.Sum("kpi")
	require.Equal(t, sorted, got.rows)
	require.Equal(t, want.Sum("kpi"), sum)
}
