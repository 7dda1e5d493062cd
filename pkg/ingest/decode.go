package ingest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/kpiflow/kpiflow/pkg/ledger"
)

// Content types Decode reads.
const (
	ContentTypeJSON   = "application/json"
	ContentTypeNDJSON = "application/x-ndjson"
)

// maxDepth bounds the nesting of values in unknown fields that are skipped.
const maxDepth = 32

// Decode reads one request body (already decompressed) for stream and
// validates every row.
//
//	b, err := ingest.Decode(body, "kpi", "application/x-ndjson", ingest.DefaultLimits())
//
// The body is a JSON array of objects (a single object is one row) or, with
// content type application/x-ndjson (also application/jsonl), one object per
// line. It returns, as err:
//   - *RowErrors naming every bad field of every bad row (HTTP 400);
//   - *LimitError when the body, the rows, a row's labels or list items are
//     over limits (HTTP 413);
//   - *MediaTypeError for another content type (HTTP 415);
//   - *StreamError for an unknown stream (HTTP 404).
//
// # Notes
//
// Memory is bounded by limits.MaxBodyBytes: the body is read up to that size
// and the batch holds each value once. Timestamps are checked against the
// current time (at most a day ahead) and truncated to whole seconds, as
// ClickHouse's DateTime stores them.
func Decode(r io.Reader, stream, contentType string, limits Limits) (*Batch, error) {
	sch, ok := schemaFor(stream)
	if !ok {
		return nil, &StreamError{Stream: stream}
	}
	ndjson, err := isNDJSON(contentType)
	if err != nil {
		return nil, err
	}
	limits = limits.orDefault()
	data, err := io.ReadAll(io.LimitReader(r, limits.MaxBodyBytes+1))
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return nil, le
		}
		return nil, fmt.Errorf("read the request body: %w", err)
	}
	if int64(len(data)) > limits.MaxBodyBytes {
		return nil, bodyLimit(limits.MaxBodyBytes, false)
	}
	return decodeBytes(data, sch, ndjson, limits, time.Now())
}

func isNDJSON(contentType string) (bool, error) {
	if contentType == "" {
		return false, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false, &MediaTypeError{Message: fmt.Sprintf("Content-Type %q does not parse: %v", contentType, err)}
	}
	switch mt {
	case ContentTypeJSON, "text/json":
		return false, nil
	case ContentTypeNDJSON, "application/jsonl", "application/jsonlines", "application/x-jsonlines":
		return true, nil
	}
	return false, &MediaTypeError{Message: fmt.Sprintf(
		"Content-Type %q is not supported: send %s (an array of objects) or %s (one object per line)", mt, ContentTypeJSON, ContentTypeNDJSON)}
}

// syntaxError ends decoding: the rest of the body cannot be read reliably.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.pos, e.msg) }

type decoder struct {
	data    []byte
	pos     int
	sch     *streamDef
	lim     Limits
	minTime time.Time
	maxTime time.Time
	b       *Batch
	errs    RowErrors
	row     int
	rowBad  bool
	hasher  *ledger.RowHasher
	intern  map[string]string
	scratch []byte
	// lk and lv collect one row's labels; arena backs the stored ones.
	lk, lv, arena []string
	// limitErr is set when a per-row limit is crossed; decoding stops.
	limitErr *LimitError
	// ids backs derived event_ids (derivedID); rowsHint is the rows the
	// columns were sized for.
	ids      []byte
	rowsHint int
}

func decodeBytes(data []byte, sch *streamDef, ndjson bool, lim Limits, now time.Time) (*Batch, error) {
	// A byte order mark is not JSON, but some Windows tools write one.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if parts := ndjsonParts(len(data), runtime.GOMAXPROCS(0)); ndjson && parts > 1 {
		if b, ok := decodeNDJSONParts(data, sch, lim, now, parts); ok {
			return b, nil
		}
	}
	return decodeWhole(data, sch, ndjson, lim, now)
}

// newDecoder is a decoder of data, its columns sized for rows rows.
func newDecoder(data []byte, sch *streamDef, lim Limits, now time.Time, rows int) *decoder {
	d := &decoder{
		data: data, sch: sch, lim: lim, minTime: MinTime(), maxTime: now.Add(MaxFuture),
		b: newBatch(sch), hasher: ledger.NewRowHasher(sch.stream), intern: make(map[string]string),
	}
	d.rowsHint = min(rows, lim.MaxRows)
	d.b.grow(d.rowsHint)
	return d
}

// decodeWhole decodes the body in one pass: the reference decoding, and
// the one that reports errors.
func decodeWhole(data []byte, sch *streamDef, ndjson bool, lim Limits, now time.Time) (*Batch, error) {
	d := newDecoder(data, sch, lim, now, estimateRows(data, ndjson))
	var err error
	if ndjson {
		err = d.ndjson()
	} else {
		err = d.array()
	}
	if d.limitErr != nil {
		return nil, d.limitErr
	}
	var se *syntaxError
	if errors.As(err, &se) {
		d.fail("", se.Error())
	} else if err != nil {
		return nil, err
	}
	if len(d.errs.Errors) > 0 {
		return nil, &d.errs
	}
	return d.b, nil
}

// minPartBytes is the smallest piece of an NDJSON body decoded on its own
// goroutine: below it, starting one costs more than it saves.
const minPartBytes = 256 << 10

// maxParts bounds the goroutines one request decodes with.
const maxParts = 4

// ndjsonParts is how many pieces an NDJSON body of n bytes is decoded in,
// with procs processors.
func ndjsonParts(n, procs int) int {
	return max(1, min(procs, maxParts, n/minPartBytes))
}

// decodeNDJSONParts decodes an NDJSON body cut at line ends into parts
// pieces at once, each by its own decoder, and joins their batches in
// order. ok is false when any piece has a problem (a bad row, a syntax
// error, a limit, more rows than max_rows in all): decodeWhole then
// decodes the body again, so errors name rows and bytes exactly as it
// always did.
//
// # Notes
//
// A piece that decodes without error ends after a whole row and its
// newline: a cut inside an object or a string leaves the piece before it
// unterminated, which is a syntax error. So every piece starts where a
// decoding of the whole body would be between rows, and the joined batch
// is the one decodeWhole returns (TestDecodeInPartsIsDecodeWhole).
func decodeNDJSONParts(data []byte, sch *streamDef, lim Limits, now time.Time, parts int) (*Batch, bool) {
	var pieces [][]byte
	for rest := data; len(rest) > 0; {
		want := len(data) / parts
		if len(pieces) == parts-1 || want >= len(rest) {
			pieces = append(pieces, rest)
			break
		}
		nl := bytes.IndexByte(rest[want:], '\n')
		if nl < 0 {
			pieces = append(pieces, rest)
			break
		}
		pieces, rest = append(pieces, rest[:want+nl+1]), rest[want+nl+1:]
	}
	if len(pieces) < 2 {
		return nil, false
	}
	decoders := make([]*decoder, len(pieces))
	var wg sync.WaitGroup
	for i, piece := range pieces {
		rows := estimateRows(piece, true)
		if i == 0 {
			rows = estimateRows(data, true) // the others join its batch
		}
		decoders[i] = newDecoder(piece, sch, lim, now, rows)
		wg.Add(1)
		go func(d *decoder) {
			defer wg.Done()
			if err := d.ndjson(); err != nil {
				d.fail("", err.Error())
			}
		}(decoders[i])
	}
	wg.Wait()
	rows := 0
	for _, d := range decoders {
		if d.limitErr != nil || len(d.errs.Errors) > 0 || d.errs.Truncated > 0 {
			return nil, false
		}
		rows += d.b.n
	}
	if rows > lim.MaxRows {
		return nil, false
	}
	out := decoders[0].b
	for _, d := range decoders[1:] {
		out.join(d.b)
	}
	return out, true
}

// estimateRows guesses the row count to size the columns once: lines for
// NDJSON; for an array, half the opening braces (rows with labels have two),
// so the columns grow at most once more.
func estimateRows(data []byte, ndjson bool) int {
	if ndjson {
		return bytes.Count(data, []byte{'\n'}) + 1
	}
	return bytes.Count(data, []byte{'{'})/2 + 1
}

func (d *decoder) fail(field, msg string) {
	d.rowBad = true
	if len(d.errs.Errors) >= d.lim.MaxErrors {
		d.errs.Truncated++
		return
	}
	d.errs.Errors = append(d.errs.Errors, RowError{Index: d.row, Field: field, Message: msg})
}

func (d *decoder) syntax(msg string) error { return &syntaxError{pos: d.pos, msg: msg} }

func (d *decoder) skipWS() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) array() error {
	d.skipWS()
	if d.pos >= len(d.data) {
		return d.syntax("the body is empty: send a JSON array of objects")
	}
	switch d.data[d.pos] {
	case '{':
		if err := d.rowAt(); err != nil {
			return err
		}
	case '[':
		d.pos++
		d.skipWS()
		if d.pos < len(d.data) && d.data[d.pos] == ']' {
			d.pos++
			break
		}
		for {
			if err := d.rowAt(); err != nil {
				return err
			}
			if d.limitErr != nil {
				return nil
			}
			closed, err := d.separator(']', "the array of rows")
			if err != nil {
				return err
			}
			if closed {
				break
			}
			d.skipWS()
		}
	default:
		return d.syntax("expected a JSON array of objects (or application/x-ndjson)")
	}
	d.skipWS()
	if d.pos < len(d.data) {
		return d.syntax("unexpected data after the array")
	}
	return nil
}

func (d *decoder) ndjson() error {
	for {
		d.skipWS()
		if d.pos >= len(d.data) {
			return nil
		}
		if err := d.rowAt(); err != nil {
			return err
		}
		if d.limitErr != nil {
			return nil
		}
		// Only spaces may follow an object on its line.
		for d.pos < len(d.data) && (d.data[d.pos] == ' ' || d.data[d.pos] == '\t' || d.data[d.pos] == '\r') {
			d.pos++
		}
		if d.pos < len(d.data) && d.data[d.pos] != '\n' {
			return d.syntax("expected a newline after the object (NDJSON has one object per line)")
		}
	}
}

// rowAt decodes the row starting at d.pos and advances d.row.
func (d *decoder) rowAt() error {
	if d.row >= d.lim.MaxRows {
		d.limitErr = &LimitError{Limit: "max_rows", Max: int64(d.lim.MaxRows), Index: d.row,
			Message: fmt.Sprintf("more than %d rows in one request (max_rows): split the batch", d.lim.MaxRows)}
		return nil
	}
	d.rowBad = false
	if err := d.row1(); err != nil {
		// d.row stays: the syntax error is reported against this row.
		return err
	}
	if d.limitErr == nil {
		d.finishRow()
	}
	d.row++
	return nil
}

func (d *decoder) row1() error {
	d.skipWS()
	if d.pos >= len(d.data) {
		return d.syntax("unexpected end of body: expected an object")
	}
	if d.data[d.pos] != '{' {
		d.fail("", "expected a JSON object")
		return d.skipValue(0)
	}
	d.pos++
	var seen uint64
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return d.checkMissing(seen)
	}
	for {
		d.skipWS()
		key, err := d.key()
		if err != nil {
			return err
		}
		ci := d.sch.colBytes(key)
		switch {
		case ci < 0:
			d.fail(string(key), unknownField(string(key)))
			if err := d.skipValue(0); err != nil {
				return err
			}
		case seen&(1<<ci) != 0:
			d.fail(string(key), "given twice in one object")
			if err := d.skipValue(0); err != nil {
				return err
			}
		default:
			present, err := d.field(ci)
			if err != nil {
				return err
			}
			if present {
				seen |= 1 << ci
			}
		}
		if d.limitErr != nil {
			return nil
		}
		closed, err := d.separator('}', "an object")
		if err != nil {
			return err
		}
		if closed {
			return d.checkMissing(seen)
		}
	}
}

func unknownField(key string) string {
	switch key {
	case "batch_id", "ingested_at":
		return "unknown field: it is set by the server, do not send it"
	case "label_keys", "label_values":
		return `unknown field: send labels as an object, "labels": {"key": "value"}`
	}
	return "unknown field"
}

// key reads an object key and the colon after it. The bytes are valid until
// the next string is read.
func (d *decoder) key() ([]byte, error) {
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return nil, d.syntax("expected a string key in an object")
	}
	raw, esc, err := d.str()
	if err != nil {
		return nil, err
	}
	if esc {
		var problem string
		raw, problem = d.unescape(raw)
		if problem != "" {
			return nil, d.syntax("object key: " + problem)
		}
	}
	d.skipWS()
	if d.pos >= len(d.data) || d.data[d.pos] != ':' {
		return nil, d.syntax("expected ':' after an object key")
	}
	d.pos++
	d.skipWS()
	return raw, nil
}

// internBytes returns b as a string, sharing one copy per distinct value.
func (d *decoder) internBytes(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.intern) < 4096 {
		d.intern[s] = s
	}
	return s
}

// checkMissing fills absent optional columns with defaults and reports
// absent required ones.
func (d *decoder) checkMissing(seen uint64) error {
	for ci, c := range d.sch.cols {
		if seen&(1<<ci) != 0 {
			continue
		}
		if c.required {
			d.fail(c.name, "required")
			continue
		}
		col := &d.b.cols[ci]
		switch c.kind {
		case kFloat:
			col.f = append(col.f, 0)
		case kNullTime:
			col.nt = append(col.nt, nil)
		case kList:
			col.list = append(col.list, []string{})
		case kLabels:
			col.list = append(col.list, []string{})
			col.vals = append(col.vals, []string{})
		case kEventID:
			// Derived in finishRow, from the rest of the row.
		default:
			col.str = append(col.str, "")
		}
	}
	return nil
}

// finishRow derives the event_id and the row hash of a good row, or drops
// the values of a bad one.
func (d *decoder) finishRow() {
	b := d.b
	if d.rowBad {
		b.truncate(b.n)
		return
	}
	content, _ := b.contentHash(d.hasher, b.n, nil)
	ec := &b.cols[d.sch.col("event_id")]
	if len(ec.str) == b.n {
		ec.str = append(ec.str, d.derivedID(content))
		b.derived++
	}
	b.rowHash = append(b.rowHash, ledger.RowHash(content, ec.str[b.n]))
	if d.sch.timeCol != "" {
		ts := b.cols[d.sch.col(d.sch.timeCol)].t[b.n].Unix()
		if b.n == 0 || ts < b.minTime {
			b.minTime = ts
		}
		if b.n == 0 || ts > b.maxTime {
			b.maxTime = ts
		}
	}
	b.n++
}

// derivedID is the hex of a row's content hash, its event_id when the
// client sent none. The strings of a batch share a few buffers instead of
// taking two allocations each: d.ids is only ever appended to (a full one
// is replaced, never reused), so the bytes behind a returned string never
// change.
func (d *decoder) derivedID(content [32]byte) string {
	const size = 2 * len(content)
	if cap(d.ids)-len(d.ids) < size {
		d.ids = make([]byte, 0, size*min(max(d.rowsHint, 1), 1024))
	}
	start := len(d.ids)
	d.ids = d.ids[:start+size]
	hex.Encode(d.ids[start:], content[:])
	return unsafe.String(&d.ids[start], size)
}

// field decodes the value of column ci. present is false for a null, which
// counts as absent.
func (d *decoder) field(ci int) (present bool, err error) {
	c := d.sch.cols[ci]
	if d.pos >= len(d.data) {
		return false, d.syntax("unexpected end of body: expected a value")
	}
	if d.literal("null") {
		return false, nil
	}
	col := &d.b.cols[ci]
	switch c.kind {
	case kFloat:
		v, ok, err := d.number(c.name)
		if err != nil || !ok {
			return err == nil, err
		}
		col.f = append(col.f, v)
	case kTime, kNullTime:
		t, ok, err := d.time(c.name)
		if err != nil || !ok {
			return err == nil, err
		}
		if c.kind == kTime {
			col.t = append(col.t, t)
		} else {
			// Only nullable times need their own allocation.
			nt := new(time.Time)
			*nt = t
			col.nt = append(col.nt, nt)
		}
	case kLabels:
		return true, d.labels(c.name, col)
	case kList:
		return true, d.list(c.name, col)
	default:
		s, ok, err := d.text(c.name, d.maxLen(c.kind), c.kind == kDim || c.kind == kEnum)
		if err != nil || !ok {
			return err == nil, err
		}
		if c.required && s == "" {
			d.fail(c.name, "required, and must not be empty")
			return true, nil
		}
		switch c.kind {
		case kEnum:
			if !slices.Contains(c.enum, s) {
				d.fail(c.name, fmt.Sprintf("%q is not one of %s", s, strings.Join(c.enum, ", ")))
				return true, nil
			}
		case kPersonal:
			if ledger.IsReserved(s) {
				d.fail(c.name, "values starting with \"[erased #\" are reserved for erased data")
				return true, nil
			}
		case kEventID:
			if s == "" {
				// An empty event_id is the same as none: derive it.
				return false, nil
			}
		}
		col.str = append(col.str, s)
	}
	return true, nil
}

func (d *decoder) maxLen(k kind) int {
	if k == kText {
		return d.lim.MaxTextLen
	}
	return d.lim.MaxDimLen
}

func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return true
	}
	return false
}

// text reads a string value and validates it. ok is false (with the error
// recorded) for a bad value.
func (d *decoder) text(field string, maxChars int, intern bool) (string, bool, error) {
	return d.textNamed(func() string { return field }, maxChars, intern)
}

// textNamed is text with the field's name computed only for an error.
func (d *decoder) textNamed(fieldName func() string, maxChars int, intern bool) (string, bool, error) {
	if d.data[d.pos] != '"' {
		d.fail(fieldName(), "expected a string")
		return "", false, d.skipValue(0)
	}
	raw, esc, err := d.str()
	if err != nil {
		return "", false, err
	}
	if esc {
		var problem string
		raw, problem = d.unescape(raw)
		if problem != "" {
			d.fail(fieldName(), problem)
			return "", false, nil
		}
	}
	n, problem := checkText(raw)
	if problem != "" {
		d.fail(fieldName(), problem)
		return "", false, nil
	}
	if n > maxChars {
		d.fail(fieldName(), fmt.Sprintf("%d characters, more than the limit of %d", n, maxChars))
		return "", false, nil
	}
	if !intern {
		return string(raw), true, nil
	}
	// Dimensions repeat: keep one copy of each value per request.
	return d.internBytes(raw), true, nil
}

// checkText returns the number of characters in b, or a problem: invalid
// UTF-8 or a control character (C0, DEL or C1).
func checkText(b []byte) (int, string) {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return n, fmt.Sprintf("control character U+%04X at character %d is not allowed", c, n)
			}
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return n, fmt.Sprintf("invalid UTF-8 at character %d", n)
		}
		if r >= 0x80 && r <= 0x9f {
			return n, fmt.Sprintf("control character U+%04X at character %d is not allowed", r, n)
		}
		i += size
		n++
	}
	return n, ""
}

// str reads a JSON string at d.pos and returns its raw content (between the
// quotes) and whether it has escapes.
func (d *decoder) str() ([]byte, bool, error) {
	start := d.pos + 1
	esc := false
	for i := start; i < len(d.data); i++ {
		switch d.data[i] {
		case '"':
			d.pos = i + 1
			return d.data[start:i], esc, nil
		case '\\':
			esc = true
			i++
		}
	}
	d.pos = len(d.data)
	return nil, false, d.syntax("unterminated string")
}

// unescape decodes JSON escapes into d.scratch. A problem is a bad escape
// or a lone UTF-16 surrogate.
func (d *decoder) unescape(raw []byte) ([]byte, string) {
	out := d.scratch[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(raw) {
			return nil, "invalid escape at the end of a string"
		}
		switch raw[i] {
		case '"', '\\', '/':
			out = append(out, raw[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(raw[i+1:])
			if !ok {
				return nil, `invalid \u escape: expected 4 hex digits`
			}
			i += 4
			if r >= 0xD800 && r < 0xDC00 {
				// A high surrogate must be followed by a low one.
				lo, ok := rune(0), false
				if i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					lo, ok = hex4(raw[i+3:])
				}
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return nil, `invalid \u escape: a lone UTF-16 surrogate is not valid Unicode`
				}
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				i += 6
			} else if r >= 0xDC00 && r <= 0xDFFF {
				return nil, `invalid \u escape: a lone UTF-16 surrogate is not valid Unicode`
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, fmt.Sprintf(`invalid escape \%c`, raw[i])
		}
	}
	d.scratch = out
	return out, ""
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// numberToken reads a JSON number's text, checking its grammar.
func (d *decoder) numberToken() ([]byte, error) {
	start, i := d.pos, d.pos
	data := d.data
	if i < len(data) && data[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(data) && data[i] == '0' {
		i++
	} else if digits() == 0 {
		return nil, d.syntax("invalid number")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if digits() == 0 {
			return nil, d.syntax("invalid number: digits expected after '.'")
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, d.syntax("invalid number: digits expected in the exponent")
		}
	}
	d.pos = i
	return data[start:i], nil
}

// number reads a finite float. ok is false (error recorded) for a bad value.
func (d *decoder) number(field string) (float64, bool, error) {
	c := d.data[d.pos]
	if c != '-' && (c < '0' || c > '9') {
		if c == '"' {
			d.fail(field, "expected a number, not a string (NaN and infinities are not accepted)")
		} else {
			d.fail(field, "expected a number")
		}
		return 0, false, d.skipValue(0)
	}
	tok, err := d.numberToken()
	if err != nil {
		return 0, false, err
	}
	v, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		d.fail(field, fmt.Sprintf("%s is out of the range of a 64-bit float", tok))
		return 0, false, nil
	}
	return v, true, nil
}

// time reads an RFC 3339 string or epoch milliseconds and checks the range.
func (d *decoder) time(field string) (time.Time, bool, error) {
	var t time.Time
	switch c := d.data[d.pos]; {
	case c == '"' && len(d.data)-d.pos >= 22 && d.data[d.pos+21] == '"':
		// The common form, parsed without allocating; anything else below.
		if ft, ok := fastRFC3339(d.data[d.pos+1 : d.pos+21]); ok {
			d.pos += 22
			t = ft
			break
		}
		fallthrough
	case c == '"':
		s, ok, err := d.text(field, 64, false)
		if err != nil || !ok {
			return t, false, err
		}
		t, err = parseRFC3339(s)
		if err != nil {
			d.fail(field, fmt.Sprintf("%q is not an RFC 3339 time (such as 2024-05-01T12:00:00Z) or epoch milliseconds", s))
			return t, false, nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		tok, err := d.numberToken()
		if err != nil {
			return t, false, err
		}
		ms, err := strconv.ParseFloat(string(tok), 64)
		if err != nil || math.IsInf(ms, 0) || math.Abs(ms) > 1e15 {
			d.fail(field, fmt.Sprintf("%s is not a time in epoch milliseconds", tok))
			return t, false, nil
		}
		t = time.UnixMilli(int64(ms)).UTC()
		if ms >= 946684800 && ms < 1e11 {
			d.fail(field, fmt.Sprintf("%s looks like epoch seconds; send epoch milliseconds (%s000) or an RFC 3339 string", tok, tok))
			return t, false, nil
		}
	default:
		d.fail(field, "expected an RFC 3339 string or epoch milliseconds")
		return t, false, d.skipValue(0)
	}
	if t.Before(d.minTime) {
		d.fail(field, fmt.Sprintf("%s is before 2000-01-01", t.Format(time.RFC3339)))
		return t, false, nil
	}
	if t.After(d.maxTime) {
		d.fail(field, fmt.Sprintf("%s is more than a day in the future (server time %s)",
			t.Format(time.RFC3339), d.maxTime.Add(-MaxFuture).Format(time.RFC3339)))
		return t, false, nil
	}
	return t.Truncate(time.Second), true, nil
}

// parseRFC3339 parses the common "2006-01-02T15:04:05Z" form by hand and
// falls back to the time package for the rest (offsets, fractions).
func parseRFC3339(s string) (time.Time, error) {
	if t, ok := fastRFC3339(s); ok {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, err
	}
	return t.UTC(), nil
}

// fastRFC3339 parses exactly "2006-01-02T15:04:05Z".
func fastRFC3339[T string | []byte](s T) (time.Time, bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	y, ok1 := atoi(s[0:4])
	mo, ok2 := atoi(s[5:7])
	dd, ok3 := atoi(s[8:10])
	h, ok4 := atoi(s[11:13])
	mi, ok5 := atoi(s[14:16])
	sec, ok6 := atoi(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && mo >= 1 && mo <= 12 && dd >= 1 && h < 24 && mi < 60 && sec < 60) {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), dd, h, mi, sec, 0, time.UTC)
	if t.Day() != dd {
		return time.Time{}, false // 31 April and the like: let time.Parse word the error
	}
	return t, true
}

func atoi[T string | []byte](s T) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// labels reads an object of string to string, stored as sorted parallel
// arrays. A bad label marks the row bad; too many labels stop the request.
func (d *decoder) labels(field string, col *colData) error {
	if d.data[d.pos] != '{' {
		d.fail(field, `expected an object of string to string, such as {"region": "eu"}`)
		return d.skipValue(0)
	}
	d.pos++
	keys, vals := d.lk[:0], d.lv[:0]
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
	} else {
		for {
			d.skipWS()
			kb, err := d.key()
			if err != nil {
				return err
			}
			// Interned before the value is read: reading it reuses the
			// buffer an escaped key was decoded into.
			k := d.internBytes(kb)
			name := func() string { return field + "." + k }
			if len(keys) >= d.lim.MaxLabels {
				d.limitErr = &LimitError{Limit: "max_labels", Max: int64(d.lim.MaxLabels), Index: d.row, Field: field,
					Message: fmt.Sprintf("row %d has more than %d labels (max_labels)", d.row, d.lim.MaxLabels)}
				return nil
			}
			n, problem := checkText([]byte(k))
			switch {
			case k == "":
				d.fail(name(), "label keys must not be empty")
			case problem != "":
				d.fail(field, "label key: "+problem)
			case n > d.lim.MaxDimLen:
				d.fail(field, fmt.Sprintf("label key of %d characters, more than the limit of %d", n, d.lim.MaxDimLen))
			case slices.Contains(keys, k):
				d.fail(name(), "label given twice")
			}
			if d.pos >= len(d.data) {
				return d.syntax("unexpected end of body: expected a label value")
			}
			v, ok, err := d.textNamed(name, d.lim.MaxDimLen, true)
			if err != nil {
				return err
			}
			if ok {
				keys = append(keys, k)
				vals = append(vals, v)
			}
			closed, err := d.separator('}', "labels")
			if err != nil {
				return err
			}
			if closed {
				break
			}
		}
	}
	d.lk, d.lv = keys, vals
	sortLabels(keys, vals)
	col.list = append(col.list, d.strings(keys))
	col.vals = append(col.vals, d.strings(vals))
	return nil
}

// separator reads what follows an item of a container: ',' (another item
// follows) or the container's closer (closed is true).
func (d *decoder) separator(closer byte, where string) (closed bool, err error) {
	d.skipWS()
	if d.pos >= len(d.data) {
		return false, d.syntax("unexpected end of body inside " + where)
	}
	c := d.data[d.pos]
	d.pos++
	switch c {
	case closer:
		return true, nil
	case ',':
		return false, nil
	}
	d.pos--
	return false, d.syntax(fmt.Sprintf("expected ',' or '%c' in %s, found %q", closer, where, c))
}

// strings copies src into the decoder's arena: one allocation per many rows
// instead of two per row.
func (d *decoder) strings(src []string) []string {
	if len(src) == 0 {
		return []string{}
	}
	if len(d.arena) < len(src) {
		d.arena = make([]string, max(4096, len(src)))
	}
	out := d.arena[:len(src):len(src)]
	d.arena = d.arena[len(src):]
	copy(out, src)
	return out
}

// sortLabels sorts keys, keeping vals parallel (insertion sort: a row has
// few labels).
func sortLabels(keys, vals []string) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
			vals[j], vals[j-1] = vals[j-1], vals[j]
		}
	}
}

// list reads an array of short strings.
func (d *decoder) list(field string, col *colData) error {
	if d.data[d.pos] != '[' {
		d.fail(field, "expected an array of strings")
		return d.skipValue(0)
	}
	d.pos++
	items := []string{}
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		col.list = append(col.list, items)
		return nil
	}
	for {
		d.skipWS()
		if d.pos >= len(d.data) {
			return d.syntax("unexpected end of body inside an array")
		}
		if len(items) >= d.lim.MaxListItems {
			d.limitErr = &LimitError{Limit: "max_list_items", Max: int64(d.lim.MaxListItems), Index: d.row, Field: field,
				Message: fmt.Sprintf("row %d: %s has more than %d items (max_list_items)", d.row, field, d.lim.MaxListItems)}
			return nil
		}
		s, ok, err := d.text(fmt.Sprintf("%s[%d]", field, len(items)), d.lim.MaxDimLen, false)
		if err != nil {
			return err
		}
		if ok {
			items = append(items, s)
		}
		closed, err := d.separator(']', "an array")
		if err != nil {
			return err
		}
		if closed {
			break
		}
	}
	col.list = append(col.list, items)
	return nil
}

// skipValue skips one JSON value of any type, checking its syntax.
func (d *decoder) skipValue(depth int) error {
	if depth > maxDepth {
		return d.syntax(fmt.Sprintf("values nested deeper than %d levels", maxDepth))
	}
	d.skipWS()
	if d.pos >= len(d.data) {
		return d.syntax("unexpected end of body: expected a value")
	}
	switch c := d.data[d.pos]; {
	case c == '"':
		_, _, err := d.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := d.numberToken()
		return err
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		d.pos++
		d.skipWS()
		if d.pos < len(d.data) && d.data[d.pos] == closing {
			d.pos++
			return nil
		}
		for {
			d.skipWS()
			if c == '{' {
				if _, err := d.key(); err != nil {
					return err
				}
			}
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			closed, err := d.separator(closing, "a value")
			if err != nil || closed {
				return err
			}
		}
	default:
		if d.literal("true") || d.literal("false") || d.literal("null") {
			return nil
		}
		return d.syntax(fmt.Sprintf("unexpected character %q", c))
	}
}
