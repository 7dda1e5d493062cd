package ingest

import (
	"time"

	"github.com/kpiflow/kpiflow/pkg/ledger"
)

// Batch is one request's rows for one stream, decoded and validated, held
// column by column (the way they are sent to ClickHouse).
//
// A Batch only comes from Decode, so every row in it passed validation.
type Batch struct {
	sch  *streamDef
	n    int
	cols []colData
	// rowHash is each row's ledger hash (see package ledger).
	rowHash [][32]byte
	// minTime and maxTime (Unix seconds) span the rows' timeCol.
	minTime, maxTime int64
	// derived counts rows whose event_id was derived from their content.
	derived int
}

// colData holds one column's values; which slice is used depends on the
// column's kind.
type colData struct {
	str  []string     // kDim, kText, kPersonal, kEnum, kEventID
	f    []float64    // kFloat
	t    []time.Time  // kTime
	nt   []*time.Time // kNullTime
	list [][]string   // kList; label keys for kLabels
	vals [][]string   // label values for kLabels
}

func newBatch(sch *streamDef) *Batch {
	return &Batch{sch: sch, cols: make([]colData, len(sch.cols))}
}

// grow sizes the columns for n rows.
func (b *Batch) grow(n int) {
	if n <= 0 {
		return
	}
	b.rowHash = make([][32]byte, 0, n)
	for ci, c := range b.sch.cols {
		d := &b.cols[ci]
		switch c.kind {
		case kFloat:
			d.f = make([]float64, 0, n)
		case kTime:
			d.t = make([]time.Time, 0, n)
		case kNullTime:
			d.nt = make([]*time.Time, 0, n)
		case kList:
			d.list = make([][]string, 0, n)
		case kLabels:
			d.list = make([][]string, 0, n)
			d.vals = make([][]string, 0, n)
		default:
			d.str = make([]string, 0, n)
		}
	}
}

// join appends the rows of o, a batch of the same stream decoded apart.
func (b *Batch) join(o *Batch) {
	if o.n == 0 {
		return
	}
	if b.n == 0 || o.minTime < b.minTime {
		b.minTime = o.minTime
	}
	if b.n == 0 || o.maxTime > b.maxTime {
		b.maxTime = o.maxTime
	}
	for ci := range b.cols {
		d, od := &b.cols[ci], &o.cols[ci]
		d.str = append(d.str, od.str...)
		d.f = append(d.f, od.f...)
		d.t = append(d.t, od.t...)
		d.nt = append(d.nt, od.nt...)
		d.list = append(d.list, od.list...)
		d.vals = append(d.vals, od.vals...)
	}
	b.rowHash = append(b.rowHash, o.rowHash...)
	b.n += o.n
	b.derived += o.derived
}

// Stream is the batch's stream.
func (b *Batch) Stream() string { return b.sch.stream }

// Table is the table the batch is written to.
func (b *Batch) Table() string { return b.sch.table }

// Len is the number of rows.
func (b *Batch) Len() int { return b.n }

// EventID returns row i's event_id (sent or derived).
func (b *Batch) EventID(i int) string { return b.cols[b.sch.col("event_id")].str[i] }

// truncate drops the values of rows from n on (a row that failed half way).
func (b *Batch) truncate(n int) {
	for i := range b.cols {
		c := &b.cols[i]
		c.str = c.str[:min(len(c.str), n)]
		c.f = c.f[:min(len(c.f), n)]
		c.t = c.t[:min(len(c.t), n)]
		c.nt = c.nt[:min(len(c.nt), n)]
		c.list = c.list[:min(len(c.list), n)]
		c.vals = c.vals[:min(len(c.vals), n)]
	}
}

// contentHash is row i's content hash (see package ledger). personal, when
// set, gives the subject hash of a stored personal value (verification
// resolves tombstones with it); otherwise the value is hashed as it is.
func (b *Batch) contentHash(h *ledger.RowHasher, i int, personal func(string) ([]byte, error)) ([32]byte, error) {
	h.Reset()
	for ci, c := range b.sch.cols {
		d := &b.cols[ci]
		switch c.kind {
		case kEventID:
			// The event_id is hashed into the row hash, not its content.
		case kFloat:
			h.Float(c.name, d.f[i])
		case kTime:
			h.Time(c.name, d.t[i].Unix())
		case kNullTime:
			if p := d.nt[i]; p != nil {
				h.NullTime(c.name, p.Unix(), true)
			} else {
				h.NullTime(c.name, 0, false)
			}
		case kList:
			h.Strings(c.name, d.list[i])
		case kLabels:
			h.Strings("label_keys", d.list[i])
			h.Strings("label_values", d.vals[i])
		case kPersonal:
			if personal == nil {
				h.Personal(c.name, d.str[i])
				continue
			}
			s, err := personal(d.str[i])
			if err != nil {
				return [32]byte{}, err
			}
			h.PersonalHash(c.name, s)
		default:
			h.String(c.name, d.str[i])
		}
	}
	return h.ContentHash(), nil
}

// subset returns a batch of the rows where keep is true, sharing values.
func (b *Batch) subset(keep []bool) *Batch {
	out := &Batch{sch: b.sch, cols: make([]colData, len(b.cols)), minTime: b.minTime, maxTime: b.maxTime}
	for ci, c := range b.sch.cols {
		src, dst := &b.cols[ci], &out.cols[ci]
		for i := 0; i < b.n; i++ {
			if !keep[i] {
				continue
			}
			switch c.kind {
			case kFloat:
				dst.f = append(dst.f, src.f[i])
			case kTime:
				dst.t = append(dst.t, src.t[i])
			case kNullTime:
				dst.nt = append(dst.nt, src.nt[i])
			case kList:
				dst.list = append(dst.list, src.list[i])
			case kLabels:
				dst.list = append(dst.list, src.list[i])
				dst.vals = append(dst.vals, src.vals[i])
			default:
				dst.str = append(dst.str, src.str[i])
			}
		}
	}
	for i := 0; i < b.n; i++ {
		if keep[i] {
			out.rowHash = append(out.rowHash, b.rowHash[i])
			out.n++
		}
	}
	return out
}

// columnValues returns the slices to append to an insert, in
// schema.insertColumns order (batch_id excluded).
func (b *Batch) columnValues() []any {
	var out []any
	for ci, c := range b.sch.cols {
		d := &b.cols[ci]
		switch c.kind {
		case kFloat:
			out = append(out, d.f)
		case kTime:
			out = append(out, d.t)
		case kNullTime:
			out = append(out, d.nt)
		case kList:
			out = append(out, d.list)
		case kLabels:
			out = append(out, d.list, d.vals)
		default:
			out = append(out, d.str)
		}
	}
	return out
}

// InsertColumns returns b's insert column names and one value slice per
// column (batch_id set to batchID), ready for a columnar clickhouse-go batch.
// The benchmark's direct insert uses it; ingest's own writes go through Writer.
func InsertColumns(b *Batch, batchID string) ([]string, []any) {
	values := b.columnValues()
	ids := make([]string, b.Len())
	for i := range ids {
		ids[i] = batchID
	}
	return b.sch.insertColumns(), append(values, ids)
}
