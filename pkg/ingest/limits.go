package ingest

import (
	"fmt"
	"time"
)

// Default request limits. They bound the memory one request can take: the
// decoded batch is at most a small multiple of MaxBodyBytes.
const (
	DefaultMaxBodyBytes = 16 << 20 // 16 MiB, after decompression too
	DefaultMaxRows      = 100_000
	DefaultMaxLabels    = 32
	DefaultMaxListItems = 256   // items in an array field such as blocked_by
	DefaultMaxTextLen   = 1_024 // characters of free text (title, display_name)
	DefaultMaxDimLen    = 256   // characters of ids, dimensions, label keys and values
	// DefaultMaxErrors caps the errors listed in a 400 answer; the rest are counted.
	DefaultMaxErrors = 100
	// MaxFuture is how far ahead of the server's clock a timestamp may be.
	MaxFuture = 24 * time.Hour
)

// MaxTransportBytes is the largest request the plugin process accepts over
// Grafana's plugin protocol (gRPC's receive limit, set in pkg/main.go). The
// ingest API answers 413 naming max_body_bytes for any body up to this size;
// a larger one is refused by gRPC (ResourceExhausted) before kpiflow sees it,
// and Grafana reports that as its own error. It is well above
// DefaultMaxBodyBytes so that every body a client may plausibly send gets
// the 413, and bounded so that one request cannot take unbounded memory.
const MaxTransportBytes = 64 << 20

// MinTime is the earliest timestamp accepted.
func MinTime() time.Time { return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) }

// Limits bounds one ingest request.
type Limits struct {
	MaxBodyBytes int64
	MaxRows      int
	MaxLabels    int
	MaxListItems int
	MaxTextLen   int
	MaxDimLen    int
	MaxErrors    int
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytes: DefaultMaxBodyBytes, MaxRows: DefaultMaxRows, MaxLabels: DefaultMaxLabels,
		MaxListItems: DefaultMaxListItems, MaxTextLen: DefaultMaxTextLen, MaxDimLen: DefaultMaxDimLen,
		MaxErrors: DefaultMaxErrors,
	}
}

// orDefault fills zero fields from the defaults.
func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.MaxLabels <= 0 {
		l.MaxLabels = d.MaxLabels
	}
	if l.MaxListItems <= 0 {
		l.MaxListItems = d.MaxListItems
	}
	if l.MaxTextLen <= 0 {
		l.MaxTextLen = d.MaxTextLen
	}
	if l.MaxDimLen <= 0 {
		l.MaxDimLen = d.MaxDimLen
	}
	if l.MaxErrors <= 0 {
		l.MaxErrors = d.MaxErrors
	}
	return l
}

// LimitError is a request over one of the Limits: HTTP 413.
type LimitError struct {
	// Limit names the limit: max_body_bytes, max_rows, max_labels or max_list_items.
	Limit string `json:"limit"`
	Max   int64  `json:"max"`
	// Index is the row that crossed a per-row limit (-1 for the body).
	Index   int    `json:"index"`
	Field   string `json:"field,omitempty"`
	Message string `json:"error"`
}

func (e *LimitError) Error() string { return e.Message }

func bodyLimit(max int64, compressed bool) *LimitError {
	what := "the request body"
	if compressed {
		what = "the decompressed request body"
	}
	return &LimitError{Limit: "max_body_bytes", Max: max, Index: -1,
		Message: fmt.Sprintf("%s is larger than the limit of %d bytes (max_body_bytes): split the batch", what, max)}
}

// RowError is one bad field of one row.
type RowError struct {
	// Index is the row's position in the request, from 0.
	Index int `json:"index"`
	// Field is the JSON key ("labels.env" for a label, "" for the row as a whole).
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e RowError) String() string {
	if e.Field == "" {
		return fmt.Sprintf("row %d: %s", e.Index, e.Message)
	}
	return fmt.Sprintf("row %d: %s: %s", e.Index, e.Field, e.Message)
}

// RowErrors is every bad row of a rejected request: HTTP 400. Errors holds
// at most Limits.MaxErrors entries; Truncated counts the rest.
type RowErrors struct {
	Errors    []RowError `json:"errors"`
	Truncated int        `json:"truncated,omitempty"`
}

func (e *RowErrors) Error() string {
	if len(e.Errors) == 0 {
		return "invalid rows"
	}
	msg := fmt.Sprintf("%d invalid field(s), first: %s", len(e.Errors)+e.Truncated, e.Errors[0])
	return msg
}

// MediaTypeError is a Content-Type or Content-Encoding ingest cannot read: HTTP 415.
type MediaTypeError struct{ Message string }

func (e *MediaTypeError) Error() string { return e.Message }

// StreamError is an unknown stream: HTTP 404.
type StreamError struct{ Stream string }

func (e *StreamError) Error() string {
	return fmt.Sprintf("unknown ingest stream %q: use one of %v", e.Stream, Streams())
}
