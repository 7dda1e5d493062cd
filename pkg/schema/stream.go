package schema

import (
	"slices"
	"strings"
)

// Ingest stream names, as in POST ingest/{stream}.
const (
	StreamKPI         = "kpi"
	StreamTasks       = "tasks"
	StreamDeployments = "deployments"
	StreamIncidents   = "incidents"
	StreamPipelines   = "pipelines"
	StreamTeams       = "teams"
)

// KeyLabels is the ingest API's key for a row's labels (an object of
// string to string), stored as label_keys and label_values.
const KeyLabels = "labels"

// FieldKind is how the ingest API reads, validates, stores and hashes a key.
type FieldKind uint8

// The field kinds.
const (
	FieldDim      FieldKind = iota // short string (ids, dimensions)
	FieldText                      // free text (title, display_name), longer
	FieldPersonal                  // a person (assignee): like FieldDim, erasable, hashed by subject
	FieldFloat                     // Float64, finite
	FieldTime                      // DateTime: RFC 3339 string or epoch milliseconds
	FieldNullTime                  // Nullable(DateTime): the same, or null / absent
	FieldEnum                      // one of Field.Enum
	FieldLabels                    // object string→string, stored as label_keys / label_values
	FieldList                      // Array(String) of FieldDim values
	FieldEventID                   // event_id: FieldDim, derived from the content when absent
)

// Field is one key of an ingest stream's JSON objects.
type Field struct {
	Name     string
	Kind     FieldKind
	Required bool
	// Enum lists the allowed values of a FieldEnum.
	Enum []string
}

// Stream is an ingest stream and the table it writes.
//
//	s, _ := schema.StreamFor("kpi")
//	s.Table        // kpi_samples
//	s.Fields()     // ts, metric, value, team, ..., labels, event_id
type Stream struct {
	Name  string
	Table Table
}

// Streams lists the ingest streams, in the order of their tables.
func Streams() []Stream {
	var out []Stream
	for _, t := range Tables() {
		if t.Stream != "" {
			out = append(out, Stream{Name: t.Stream, Table: t})
		}
	}
	return out
}

// StreamNames lists the ingest streams' names, in the order of Streams.
func StreamNames() []string {
	var out []string
	for _, s := range Streams() {
		out = append(out, s.Name)
	}
	return out
}

// StreamFor returns the named stream.
func StreamFor(name string) (Stream, bool) {
	streams := Streams()
	i := slices.IndexFunc(streams, func(s Stream) bool { return s.Name == name })
	if i < 0 {
		return Stream{}, false
	}
	return streams[i], true
}

// Fields lists the keys the stream's JSON objects take, in table order:
// every column the ingest API fills from the request, with label_keys and
// label_values as one labels object, and without batch_id (named by ingest)
// and columns with a DEFAULT.
func (s Stream) Fields() []Field {
	var out []Field
	for _, c := range s.Table.Columns {
		if c.Default != "" || c.Name == ColBatchID || c.Name == ColLabelValues {
			continue
		}
		f := Field{Name: c.Name, Kind: fieldKind(c), Required: c.Required, Enum: c.Enum}
		if c.Name == ColLabelKeys {
			f.Name = KeyLabels
		}
		out = append(out, f)
	}
	return out
}

// TimeKey is the stream's time column in its table's sorting key ("" when
// the key has none): a lookup by key values can then be narrowed to a time
// range, and so to the partitions it touches.
func (s Stream) TimeKey() string {
	for _, k := range s.Table.OrderBy {
		if c, _ := s.Table.Column(k); c.Type == "DateTime" {
			return k
		}
	}
	return ""
}

// KeyPrefix lists the String columns leading the table's sorting key: a
// lookup restricted to their values uses the primary index.
func (s Stream) KeyPrefix() []string {
	var out []string
	for _, k := range s.Table.OrderBy {
		if c, _ := s.Table.Column(k); c.Type != "String" {
			break
		}
		out = append(out, k)
	}
	return out
}

func fieldKind(c Column) FieldKind {
	switch {
	case c.Name == ColEventID:
		return FieldEventID
	case c.Name == ColLabelKeys:
		return FieldLabels
	case c.Enum != nil:
		return FieldEnum
	case c.Type == "Float64":
		return FieldFloat
	case c.Type == "DateTime":
		return FieldTime
	case c.Type == "Nullable(DateTime)":
		return FieldNullTime
	case strings.HasPrefix(c.Type, "Array("):
		return FieldList
	case c.Personal:
		return FieldPersonal
	case c.Text:
		return FieldText
	}
	return FieldDim
}
