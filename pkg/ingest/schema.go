package ingest

import (
	"slices"

	"github.com/kpiflow/kpiflow/pkg/schema"
)

// kind is how a column is decoded, validated, stored and hashed
// (schema.Stream.Fields gives each key's kind).
type kind = schema.FieldKind

// The kinds, by their short names in this package.
const (
	kDim      = schema.FieldDim      // short string (ids, dimensions): Limits.MaxDimLen
	kText     = schema.FieldText     // free text (title, display_name): Limits.MaxTextLen
	kPersonal = schema.FieldPersonal // a person (assignee): like kDim, hashed by its subject hash, erasable
	kFloat    = schema.FieldFloat    // Float64, finite
	kTime     = schema.FieldTime     // DateTime: RFC 3339 string or epoch milliseconds
	kNullTime = schema.FieldNullTime // Nullable(DateTime): the same, or null / absent
	kEnum     = schema.FieldEnum     // Enum8: one of column.enum
	kLabels   = schema.FieldLabels   // object string→string, stored as label_keys / label_values
	kList     = schema.FieldList     // Array(String) of kDim values
	kEventID  = schema.FieldEventID  // event_id: kDim, derived from the content when absent
)

type column struct {
	name     string
	kind     kind
	required bool
	enum     []string
}

// streamDef is one ingest stream as this package uses it, derived from
// schema.Stream: its table and its columns in table (and canonical
// encoding) order.
type streamDef struct {
	stream string
	table  string
	// timeCol restricts the duplicate check to the batch's time range, so it
	// reads only the partitions the batch touches ("" when the table has no
	// time in its key).
	timeCol string
	// keyCols are leading columns of the table's ORDER BY; the duplicate
	// check restricts them to the batch's values so the primary index is used.
	keyCols []string
	// replacing tables collapse rows of one key on merge, so a batch's rows
	// can legitimately disappear from them (see Verify).
	replacing bool
	cols      []column
	index     map[string]int
}

func (s *streamDef) insertColumns() []string {
	var names []string
	for _, c := range s.cols {
		if c.kind == kLabels {
			names = append(names, schema.ColLabelKeys, schema.ColLabelValues)
			continue
		}
		names = append(names, c.name)
	}
	return append(names, schema.ColBatchID)
}

// colBytes is col for a key still in the request's bytes (no allocation).
func (s *streamDef) colBytes(name []byte) int {
	for i := range s.cols {
		if s.cols[i].name == string(name) {
			return i
		}
	}
	return -1
}

func (s *streamDef) col(name string) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}

// schemas returns every stream's definition. It builds them fresh (they are
// small) so no package state can be changed by a caller.
func schemas() []*streamDef {
	var list []*streamDef
	for _, st := range schema.Streams() {
		s := &streamDef{stream: st.Name, table: st.Table.Name, timeCol: st.TimeKey(), keyCols: st.KeyPrefix(),
			replacing: st.Table.Final(), index: map[string]int{}}
		for i, f := range st.Fields() {
			s.cols = append(s.cols, column{name: f.Name, kind: f.Kind, required: f.Required, enum: f.Enum})
			s.index[f.Name] = i
		}
		list = append(list, s)
	}
	return list
}

func schemaFor(stream string) (*streamDef, bool) {
	for _, s := range schemas() {
		if s.stream == stream {
			return s, true
		}
	}
	return nil, false
}

// Streams lists the ingest streams, as in POST ingest/{stream}.
func Streams() []string { return schema.StreamNames() }

// TableFor returns the table a stream writes to.
func TableFor(stream string) (string, bool) {
	s, ok := schemaFor(stream)
	if !ok {
		return "", false
	}
	return s.table, true
}

// Fields lists the JSON keys a stream accepts and which of them are required,
// for documentation and clients.
func Fields(stream string) (all, required []string) {
	s, ok := schemaFor(stream)
	if !ok {
		return nil, nil
	}
	for _, c := range s.cols {
		all = append(all, c.name)
		if c.required {
			required = append(required, c.name)
		}
	}
	return all, slices.Clip(required)
}
