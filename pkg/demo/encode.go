package demo

import (
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Chunk is one ingest request body: rows [From, To) of a stream as NDJSON.
type Chunk struct {
	Stream string
	// Index counts the stream's chunks from 0.
	Index    int
	From, To int
	Body     []byte
}

// Chunks encodes a stream as NDJSON bodies of at most size rows, encoding
// each only when the loop reaches it (a 90-day KPI stream is a few hundred
// megabytes of JSON). It yields one error, for an unknown stream or a size
// below 1.
//
//	for c, err := range ds.Chunks(demo.StreamKPI, 5000) { ... }
func (d *Dataset) Chunks(stream string, size int) iter.Seq2[Chunk, error] {
	return func(yield func(Chunk, error) bool) {
		if size < 1 {
			yield(Chunk{}, fmt.Errorf("chunk size: expected at least 1 row, got %d", size))
			return
		}
		if !slices.Contains(Streams(), stream) {
			yield(Chunk{}, fmt.Errorf("stream: unknown stream %q; expected one of %v", stream, Streams()))
			return
		}
		n := d.Len(stream)
		for i, from := 0, 0; from < n; i, from = i+1, from+size {
			to := min(from+size, n)
			body, err := d.NDJSON(stream, from, to)
			if !yield(Chunk{Stream: stream, Index: i, From: from, To: to, Body: body}, err) || err != nil {
				return
			}
		}
	}
}

// NDJSON encodes rows [from, to) of a stream, one JSON object per line, with
// the ingest API's keys (the same as encoding/json gives for the row types).
func (d *Dataset) NDJSON(stream string, from, to int) ([]byte, error) {
	if from < 0 || to > d.Len(stream) || from > to {
		return nil, fmt.Errorf("rows [%d, %d) out of range for stream %q with %d rows", from, to, stream, d.Len(stream))
	}
	var buf []byte
	switch stream {
	case StreamTeams:
		buf = encodeRows(d.Teams[from:to], 96, appendTeam)
	case StreamKPI:
		buf = encodeRows(d.KPI[from:to], 240, appendKPI)
	case StreamTasks:
		buf = encodeRows(d.Tasks[from:to], 300, appendTask)
	case StreamDeployments:
		buf = encodeRows(d.Deployments[from:to], 300, appendDeployment)
	case StreamIncidents:
		buf = encodeRows(d.Incidents[from:to], 240, appendIncident)
	case StreamPipelines:
		buf = encodeRows(d.Pipelines[from:to], 200, appendPipeline)
	default:
		return nil, fmt.Errorf("stream: unknown stream %q; expected one of %v", stream, Streams())
	}
	return buf, nil
}

func encodeRows[T any](rows []T, sizeHint int, appendRow func([]byte, *T) []byte) []byte {
	buf := make([]byte, 0, len(rows)*sizeHint)
	for i := range rows {
		buf = appendRow(buf, &rows[i])
		buf = append(buf, '\n')
	}
	return buf
}

// obj writes one JSON object key by key.
type obj struct{ b []byte }

func (o *obj) key(k string) {
	if len(o.b) == 0 || o.b[len(o.b)-1] != '{' {
		o.b = append(o.b, ',')
	}
	o.b = appendString(o.b, k)
	o.b = append(o.b, ':')
}

func (o *obj) str(k, v string) { o.key(k); o.b = appendString(o.b, v) }

func (o *obj) time(k string, t time.Time) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = t.UTC().AppendFormat(o.b, time.RFC3339)
	o.b = append(o.b, '"')
}

func (o *obj) timePtr(k string, t *time.Time) {
	if t == nil {
		o.key(k)
		o.b = append(o.b, "null"...)
		return
	}
	o.time(k, *t)
}

func (o *obj) num(k string, v float64) {
	o.key(k)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		o.b = append(o.b, "null"...)
		return
	}
	o.b = strconv.AppendFloat(o.b, v, 'f', -1, 64)
}

func (o *obj) strs(k string, v []string) {
	o.key(k)
	o.b = append(o.b, '[')
	for i, s := range v {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendString(o.b, s)
	}
	o.b = append(o.b, ']')
}

func (o *obj) labels(k string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	o.key(k)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	o.b = append(o.b, '{')
	for i, lk := range keys {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendString(o.b, lk)
		o.b = append(o.b, ':')
		o.b = appendString(o.b, m[lk])
	}
	o.b = append(o.b, '}')
}

func (o *obj) start(b []byte) { o.b = append(b, '{') }
func (o *obj) end() []byte    { return append(o.b, '}') }

func appendTeam(b []byte, r *Team) []byte {
	var o obj
	o.start(b)
	o.str("team", r.Team)
	o.str("parent", r.Parent)
	o.str("display_name", r.DisplayName)
	o.str("event_id", r.EventID)
	return o.end()
}

func appendKPI(b []byte, r *KPISample) []byte {
	var o obj
	o.start(b)
	o.time("ts", r.TS)
	o.str("metric", r.Metric)
	o.num("value", r.Value)
	o.str("team", r.Team)
	o.str("project", r.Project)
	o.str("service", r.Service)
	o.str("environment", r.Environment)
	o.str("source", r.Source)
	o.labels("labels", r.Labels)
	o.str("event_id", r.EventID)
	return o.end()
}

func appendTask(b []byte, r *TaskEvent) []byte {
	var o obj
	o.start(b)
	o.time("ts", r.TS)
	o.str("task_id", r.TaskID)
	o.str("project", r.Project)
	o.str("team", r.Team)
	o.str("title", r.Title)
	o.str("kind", r.Kind)
	o.str("state", r.State)
	o.str("state_category", r.StateCategory)
	o.str("assignee", r.Assignee)
	o.num("points", r.Points)
	o.str("parent_id", r.ParentID)
	o.strs("blocked_by", r.BlockedBy)
	o.str("event_id", r.EventID)
	return o.end()
}

func appendDeployment(b []byte, r *Deployment) []byte {
	var o obj
	o.start(b)
	o.time("finished_at", r.FinishedAt)
	o.str("deployment_id", r.DeploymentID)
	o.str("service", r.Service)
	o.str("team", r.Team)
	o.str("environment", r.Environment)
	o.str("result", r.Result)
	o.str("commit_sha", r.CommitSHA)
	o.timePtr("first_commit_at", r.FirstCommitAt)
	o.str("pipeline", r.Pipeline)
	o.str("event_id", r.EventID)
	return o.end()
}

func appendIncident(b []byte, r *Incident) []byte {
	var o obj
	o.start(b)
	o.str("incident_id", r.IncidentID)
	o.str("service", r.Service)
	o.str("team", r.Team)
	o.str("severity", r.Severity)
	o.time("opened_at", r.OpenedAt)
	o.timePtr("resolved_at", r.ResolvedAt)
	o.str("caused_by_deployment", r.CausedByDeployment)
	o.str("event_id", r.EventID)
	return o.end()
}

func appendPipeline(b []byte, r *PipelineRun) []byte {
	var o obj
	o.start(b)
	o.str("run_id", r.RunID)
	o.str("pipeline", r.Pipeline)
	o.str("team", r.Team)
	o.str("status", r.Status)
	o.time("started_at", r.StartedAt)
	o.timePtr("finished_at", r.FinishedAt)
	o.str("event_id", r.EventID)
	return o.end()
}

// appendString writes s as a JSON string. The generator only makes plain
// text, but the rows are exported types, so escape as encoding/json would
// (invalid UTF-8 becomes U+FFFD).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
