package ingest

import "slices"

// kind is how a column is decoded, validated, stored and hashed.
type kind uint8

const (
	kDim      kind = iota // short string (ids, dimensions): Limits.MaxDimLen
	kText                 // free text (title, display_name): Limits.MaxTextLen
	kPersonal             // a person (assignee): like kDim, hashed by its subject hash, erasable
	kFloat                // Float64, finite
	kTime                 // DateTime: RFC 3339 string or epoch milliseconds
	kNullTime             // Nullable(DateTime): the same, or null / absent
	kEnum                 // Enum8: one of column.enum
	kLabels               // object string→string, stored as label_keys / label_values
	kList                 // Array(String) of kDim values
	kEventID              // event_id: kDim, derived from the content when absent
)

type column struct {
	name     string
	kind     kind
	required bool
	enum     []string
}

// schema is one ingest stream: its table and its columns in table (and
// canonical encoding) order. The names and order follow store.Tables().
type schema struct {
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

func (s *schema) insertColumns() []string {
	var names []string
	for _, c := range s.cols {
		if c.kind == kLabels {
			names = append(names, "label_keys", "label_values")
			continue
		}
		names = append(names, c.name)
	}
	return append(names, "batch_id")
}

// colBytes is col for a key still in the request's bytes (no allocation).
func (s *schema) colBytes(name []byte) int {
	for i := range s.cols {
		if s.cols[i].name == string(name) {
			return i
		}
	}
	return -1
}

func (s *schema) col(name string) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}

func req(name string, k kind) column { return column{name: name, kind: k, required: true} }
func opt(name string, k kind) column { return column{name: name, kind: k} }
func enum(name string, values []string) column {
	return column{name: name, kind: kEnum, required: true, enum: values}
}

// schemas returns every stream's schema. It builds them fresh (they are
// small) so no package state can be changed by a caller.
func schemas() []*schema {
	// Enum values, as in the table DDL.
	stateCategories := []string{"todo", "in_progress", "done"}
	deployResults := []string{"success", "failure", "rollback", "cancelled"}
	runStatuses := []string{"success", "failure", "cancelled", "running"}
	list := []*schema{
		{stream: "kpi", table: "kpi_samples", timeCol: "ts", keyCols: []string{"metric", "team"}, cols: []column{
			req("ts", kTime), req("metric", kDim), req("value", kFloat),
			opt("team", kDim), opt("project", kDim), opt("service", kDim), opt("environment", kDim), opt("source", kDim),
			opt("labels", kLabels), opt("event_id", kEventID),
		}},
		{stream: "tasks", table: "task_events", timeCol: "ts", keyCols: []string{"project", "task_id"}, cols: []column{
			req("ts", kTime), req("task_id", kDim), opt("project", kDim), opt("team", kDim), opt("title", kText),
			opt("kind", kDim), opt("state", kDim), enum("state_category", stateCategories), opt("assignee", kPersonal),
			opt("points", kFloat), opt("parent_id", kDim), opt("blocked_by", kList), opt("event_id", kEventID),
		}},
		{stream: "deployments", table: "deployments", keyCols: []string{"deployment_id"}, replacing: true, cols: []column{
			req("finished_at", kTime), req("deployment_id", kDim), opt("service", kDim), opt("team", kDim),
			opt("environment", kDim), enum("result", deployResults), opt("commit_sha", kDim),
			opt("first_commit_at", kNullTime), opt("pipeline", kDim), opt("event_id", kEventID),
		}},
		{stream: "incidents", table: "incidents", keyCols: []string{"incident_id"}, replacing: true, cols: []column{
			req("incident_id", kDim), opt("service", kDim), opt("team", kDim), opt("severity", kDim),
			req("opened_at", kTime), opt("resolved_at", kNullTime), opt("caused_by_deployment", kDim),
			opt("event_id", kEventID),
		}},
		{stream: "pipelines", table: "pipeline_runs", keyCols: []string{"run_id"}, replacing: true, cols: []column{
			req("run_id", kDim), req("pipeline", kDim), opt("team", kDim), enum("status", runStatuses),
			req("started_at", kTime), opt("finished_at", kNullTime), opt("event_id", kEventID),
		}},
		{stream: "teams", table: "teams", keyCols: []string{"team"}, replacing: true, cols: []column{
			req("team", kDim), opt("parent", kDim), opt("display_name", kText), opt("event_id", kEventID),
		}},
	}
	for _, s := range list {
		s.index = make(map[string]int, len(s.cols))
		for i, c := range s.cols {
			s.index[c.name] = i
		}
	}
	return list
}

func schemaFor(stream string) (*schema, bool) {
	for _, s := range schemas() {
		if s.stream == stream {
			return s, true
		}
	}
	return nil, false
}

// Streams lists the ingest streams, as in POST ingest/{stream}.
func Streams() []string {
	var names []string
	for _, s := range schemas() {
		names = append(names, s.stream)
	}
	return names
}

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
