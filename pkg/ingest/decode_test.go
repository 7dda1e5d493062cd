package ingest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func decodeString(t *testing.T, stream, contentType, body string, lim Limits) (*Batch, error) {
	t.Helper()
	b, err := Decode(strings.NewReader(body), stream, contentType, lim)
	if err == nil {
		require.NoError(t, b.revalidate(lim, time.Now()), "Decode returned a batch that fails revalidate")
	}
	return b, err
}

func rowErrors(t *testing.T, err error) []RowError {
	t.Helper()
	var re *RowErrors
	require.True(t, errors.As(err, &re), "expected *RowErrors, got %T: %v", err, err)
	return re.Errors
}

const goodKPI = `[
 {"ts": "2024-05-01T12:00:00Z", "metric": "lead_time", "value": 3.5, "team": "core", "labels": {"z": "1", "a": "2"}},
 {"ts": 1714564800123, "metric": "lead_time", "value": -1e3, "event_id": "given-1"}
]`

func TestDecodeGood(t *testing.T) {
	b, err := decodeString(t, "kpi", "application/json", goodKPI, Limits{})
	require.NoError(t, err)
	require.Equal(t, 2, b.Len())
	require.Equal(t, "kpi_samples", b.Table())
	labels := b.cols[b.sch.col("labels")]
	require.Equal(t, []string{"a", "z"}, labels.list[0], "label keys are sorted")
	require.Equal(t, []string{"2", "1"}, labels.vals[0], "values follow their keys")
	require.Len(t, b.EventID(0), 64, "a missing event_id is derived (sha256 hex)")
	require.Equal(t, "given-1", b.EventID(1))
	ts := b.cols[b.sch.col("ts")].t
	require.Equal(t, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), ts[1], "epoch ms truncated to seconds")
	require.Equal(t, ts[0].Unix(), b.minTime)
}

func TestDecodeDerivedEventIDIsStable(t *testing.T) {
	id := func(body string) string {
		b, err := decodeString(t, "kpi", "", body, Limits{})
		require.NoError(t, err)
		return b.EventID(0)
	}
	a := id(`[{"ts": "2024-05-01T12:00:00Z", "metric": "m", "value": 1, "labels": {"b": "1", "a": "2"}}]`)
	// Same content in another key order, time form and label order.
	require.Equal(t, a, id(`{"labels": {"a": "2", "b": "1"}, "value": 1.0, "metric": "m", "ts": 1714564800000}`))
	require.NotEqual(t, a, id(`[{"ts": "2024-05-01T12:00:00Z", "metric": "m", "value": 2, "labels": {"b": "1", "a": "2"}}]`))
}

func TestDecodeFormats(t *testing.T) {
	ndjson := "{\"ts\": 1714564800000, \"metric\": \"m\", \"value\": 1}\n\n  {\"ts\": 1714564800000, \"metric\": \"m\", \"value\": 2}\r\n"
	b, err := decodeString(t, "kpi", "application/x-ndjson; charset=utf-8", ndjson, Limits{})
	require.NoError(t, err)
	require.Equal(t, 2, b.Len())

	b, err = decodeString(t, "kpi", "application/json", "\xef\xbb\xbf[{\"ts\": 1714564800000, \"metric\": \"m\", \"value\": 1}]", Limits{})
	require.NoError(t, err, "a leading byte order mark is skipped")
	require.Equal(t, 1, b.Len())

	b, err = decodeString(t, "kpi", "application/json", "[]", Limits{})
	require.NoError(t, err)
	require.Equal(t, 0, b.Len())

	_, err = decodeString(t, "kpi", "text/csv", "[]", Limits{})
	var me *MediaTypeError
	require.ErrorAs(t, err, &me)

	_, err = decodeString(t, "nope", "", "[]", Limits{})
	var se *StreamError
	require.ErrorAs(t, err, &se)

	_, err = decodeString(t, "kpi", "application/x-ndjson", `{"ts": 1714564800000, "metric": "m", "value": 1} {"ts": 1714564800000}`, Limits{})
	require.Contains(t, rowErrors(t, err)[0].Message, "newline")
}

func TestDecodeRowErrors(t *testing.T) {
	day := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name, stream, row string
		field, msg        string
	}{
		{"unknown field", "kpi", `{"ts": 1714564800000, "metric": "m", "value": 1, "colour": "red"}`, "colour", "unknown field"},
		{"server field", "kpi", `{"ts": 1714564800000, "metric": "m", "value": 1, "batch_id": "x"}`, "batch_id", "set by the server"},
		{"missing required", "kpi", `{"ts": 1714564800000, "value": 1}`, "metric", "required"},
		{"empty required", "kpi", `{"ts": 1714564800000, "metric": "", "value": 1}`, "metric", "must not be empty"},
		{"null required", "kpi", `{"ts": 1714564800000, "metric": null, "value": 1}`, "metric", "required"},
		{"NaN string", "kpi", `{"ts": 1714564800000, "metric": "m", "value": "NaN"}`, "value", "NaN"},
		{"infinite", "kpi", `{"ts": 1714564800000, "metric": "m", "value": 1e999}`, "value", "out of the range"},
		{"invalid UTF-8", "kpi", "{\"ts\": 1714564800000, \"metric\": \"m\xff\", \"value\": 1}", "metric", "invalid UTF-8"},
		{"escaped control", "kpi", `{"ts": 1714564800000, "metric": "a\u0007b", "value": 1}`, "metric", "control character U+0007"},
		{"C1 control", "kpi", `{"ts": 1714564800000, "metric": "a\u0085b", "value": 1}`, "metric", "control character U+0085"},
		{"lone surrogate", "kpi", `{"ts": 1714564800000, "metric": "\ud800", "value": 1}`, "metric", "surrogate"},
		{"long dimension", "kpi", `{"ts": 1714564800000, "metric": "` + strings.Repeat("é", 257) + `", "value": 1}`, "metric", "257 characters, more than the limit of 256"},
		{"long text", "tasks", `{"ts": 1714564800000, "task_id": "t", "state_category": "todo", "title": "` + strings.Repeat("x", 1025) + `"}`, "title", "more than the limit of 1024"},
		{"before 2000", "kpi", `{"ts": "1999-12-31T23:59:59Z", "metric": "m", "value": 1}`, "ts", "before 2000"},
		{"future", "kpi", `{"ts": "` + day + `", "metric": "m", "value": 1}`, "ts", "more than a day in the future"},
		{"epoch seconds", "kpi", `{"ts": 1714564800, "metric": "m", "value": 1}`, "ts", "looks like epoch seconds"},
		{"bad time", "kpi", `{"ts": "yesterday", "metric": "m", "value": 1}`, "ts", "not an RFC 3339 time"},
		{"bad enum", "tasks", `{"ts": 1714564800000, "task_id": "t", "state_category": "doing"}`, "state_category", `"doing" is not one of todo, in_progress, done`},
		{"bad result", "deployments", `{"finished_at": 1714564800000, "deployment_id": "d", "result": "ok"}`, "result", "not one of"},
		{"bad status", "pipelines", `{"run_id": "r", "pipeline": "p", "started_at": 1714564800000, "status": 1}`, "status", "expected a string"},
		{"tombstone-like assignee", "tasks", `{"ts": 1714564800000, "task_id": "t", "state_category": "todo", "assignee": "[erased #1]"}`, "assignee", "reserved"},
		{"twice", "kpi", `{"ts": 1714564800000, "metric": "m", "metric": "n", "value": 1}`, "metric", "given twice"},
		{"label not string", "kpi", `{"ts": 1714564800000, "metric": "m", "value": 1, "labels": {"a": 1}}`, "labels.a", "expected a string"},
		{"labels not object", "kpi", `{"ts": 1714564800000, "metric": "m", "value": 1, "labels": ["a"]}`, "labels", "expected an object"},
		{"list item", "tasks", `{"ts": 1714564800000, "task_id": "t", "state_category": "todo", "blocked_by": ["a", 2]}`, "blocked_by[1]", "expected a string"},
		{"not an object", "kpi", `"hello"`, "", "expected a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeString(t, tt.stream, "", "["+tt.row+"]", Limits{})
			errs := rowErrors(t, err)
			require.Equal(t, tt.field, errs[0].Field, errs)
			require.Contains(t, errs[0].Message, tt.msg)
			require.Equal(t, 0, errs[0].Index)
		})
	}
}

func TestDecodeNamesEveryBadRow(t *testing.T) {
	var rows []string
	for i := 0; i < 250; i++ {
		if i%2 == 0 {
			rows = append(rows, `{"ts": 1714564800000, "metric": "m", "value": 1}`)
		} else {
			rows = append(rows, `{"ts": 1714564800000, "metric": "m", "value": "x", "extra": 1}`)
		}
	}
	_, err := decodeString(t, "kpi", "", "["+strings.Join(rows, ",")+"]", Limits{})
	var re *RowErrors
	require.ErrorAs(t, err, &re)
	require.Len(t, re.Errors, DefaultMaxErrors)
	require.Equal(t, 250-DefaultMaxErrors, re.Truncated, "125 rows × 2 errors, 100 listed")
	require.Equal(t, 1, re.Errors[0].Index)
	require.Equal(t, "value", re.Errors[0].Field)
	require.Equal(t, "extra", re.Errors[1].Field)
	require.Equal(t, 3, re.Errors[2].Index)
}

func TestDecodeSyntaxError(t *testing.T) {
	_, err := decodeString(t, "kpi", "", `[{"ts": 1714564800000, "metric": "m", "value": 1}, {"ts": 1`, Limits{})
	errs := rowErrors(t, err)
	last := errs[len(errs)-1]
	require.Equal(t, 1, last.Index)
	require.Contains(t, last.Message, "invalid JSON at byte")
}

func TestDecodeLimits(t *testing.T) {
	row := `{"ts": 1714564800000, "metric": "m", "value": 1}`
	tests := []struct {
		name  string
		body  string
		lim   Limits
		limit string
	}{
		{"rows", "[" + strings.Repeat(row+",", 3) + row + "]", Limits{MaxRows: 3}, "max_rows"},
		{"body", "[" + row + "]", Limits{MaxBodyBytes: 10}, "max_body_bytes"},
		{"labels", `[{"ts": 1714564800000, "metric": "m", "value": 1, "labels": {"a":"1","b":"2","c":"3"}}]`, Limits{MaxLabels: 2}, "max_labels"},
		{"list", `[{"ts": 1714564800000, "task_id": "t", "state_category": "todo", "blocked_by": ["a","b","c"]}]`, Limits{MaxListItems: 2}, "max_list_items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := "kpi"
			if tt.limit == "max_list_items" {
				stream = "tasks"
			}
			_, err := decodeString(t, stream, "", tt.body, tt.lim)
			var le *LimitError
			require.ErrorAs(t, err, &le)
			require.Equal(t, tt.limit, le.Limit)
			require.Contains(t, le.Message, fmt.Sprint(le.Max))
			require.Equal(t, 413, StatusOf(err))
		})
	}
}

func TestDecodeAllStreams(t *testing.T) {
	bodies := map[string]string{
		"kpi":         `{"ts": "2024-05-01T12:00:00+02:00", "metric": "m", "value": 1}`,
		"tasks":       `{"ts": 1714564800000, "task_id": "T-1", "project": "p", "title": "Fix \"it\" \u00e9", "state_category": "in_progress", "assignee": "Ann", "points": 3, "blocked_by": ["T-0"]}`,
		"deployments": `{"finished_at": 1714564800000, "deployment_id": "d1", "result": "success", "first_commit_at": null, "environment": "production"}`,
		"incidents":   `{"incident_id": "i1", "opened_at": 1714564800000, "resolved_at": "2024-05-02T00:00:00Z"}`,
		"pipelines":   `{"run_id": "r1", "pipeline": "build", "status": "running", "started_at": 1714564800000}`,
		"teams":       `{"team": "core", "parent": "", "display_name": "Core"}`,
	}
	require.ElementsMatch(t, Streams(), []string{"kpi", "tasks", "deployments", "incidents", "pipelines", "teams"})
	for _, s := range Streams() {
		t.Run(s, func(t *testing.T) {
			b, err := decodeString(t, s, "", "["+bodies[s]+"]", Limits{})
			require.NoError(t, err)
			require.Equal(t, 1, b.Len())
			cols := b.sch.insertColumns()
			require.Equal(t, len(cols), len(b.columnValues())+1, "one value slice per insert column, plus batch_id")
		})
	}
}
