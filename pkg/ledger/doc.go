// Package ledger is kpiflow's tamper-evident record of ingest: the canonical
// encoding of stored rows, their hashes, and the hash chain of ingest_ledger.
// It is pure (no I/O) and imports no kpiflow package; pkg/ingest feeds it the
// rows it writes and, when verifying, the rows it reads back.
//
//	h := ledger.NewRowHasher("kpi")
//	var c ledger.Content
//	for each row {
//		h.Reset()
//		h.Time("ts", ts.Unix()); h.String("metric", "lead_time"); h.Float("value", 3.5) // column order
//		c.Add(ledger.RowHash(h.ContentHash(), eventID))
//	}
//	link := ledger.Next(head, "kpi", ledger.KindBatch, batchID, uint32(c.Len()), c.Sum("kpi"), now, actor)
//
//	chk := ledger.NewChecker("kpi", ledger.Link{})
//	brk := chk.Link(link) // nil, or the first *Break
//
// # Canonical encoding
//
// A row is encoded field by field in the stream's fixed column order. Each
// field is a type tag, the field name (uvarint length + bytes) and the value:
// strings as uvarint length + UTF-8 bytes; floats as the 8 big-endian bytes
// of their IEEE 754 bits; times as 8 big-endian bytes of Unix seconds (the
// precision ClickHouse's DateTime stores); nullable times as a presence byte
// then the seconds; string arrays as a uvarint count then each string.
// Everything is length-prefixed, so no two different rows share an encoding.
//
// The row's content hash is SHA-256 over a domain tag, the stream name and
// that encoding. An event_id, when the client sends none, is the hex of the
// content hash. The row hash, the unit the ledger commits to, is SHA-256 over
// another domain tag, the content hash and the event_id. A batch's
// content_sha256 is SHA-256 over a domain tag, the stream, the row count and
// the row hashes sorted bytewise: sorting makes it independent of the order
// ClickHouse returns rows in (parts are sorted by the table's key, not by
// arrival). A link's hash is SHA-256 over every other column of the link,
// including prev_hash, so changing any stored link, or any row it covers,
// breaks the chain at that link.
//
// # Personal fields and erasure
//
// A personal field (task_events.assignee) never enters the encoding as text:
// it enters as SubjectHash(value), a SHA-256 of a domain tag and the value.
// Erasing a person (POST admin/erase) appends an "erasure" link to the tasks
// stream whose content_sha256 is that subject hash (never the name), then
// replaces the field in the stored rows by Tombstone(seq of the erasure link),
// for example "[erased #42]". Verification reads a tombstone as "the value
// whose SubjectHash is the content_sha256 of erasure link 42", so the rows'
// hashes, the batch hash and the chain still recompute exactly. A tombstone
// that points at no erasure link, or at one recorded before the batch, is a
// break. Ingest refuses values that look like a tombstone.
//
// The subject hash is unsalted on purpose: proving that a named person was
// erased needs it. It is therefore pseudonymous, not anonymous: whoever can
// guess a name can test it against the erasure links. Nothing else about the
// person remains.
//
// Chain verification (Checker) walks the links of one stream in seq order and
// reports the first Break: a gap in seq, a prev_hash that is not the previous
// link's hash, a hash that does not recompute, or content that does not.
package ledger
