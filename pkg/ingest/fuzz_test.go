package ingest

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fuzzDecode decodes data and holds Decode to its contract: no panic, and
// either a batch whose every row passes revalidate or one of the typed errors.
func fuzzDecode(t *testing.T, stream, contentType string, data []byte) {
	lim := fuzzLimits()
	b, err := Decode(strings.NewReader(string(data)), stream, contentType, lim)
	if err != nil {
		var (
			re *RowErrors
			le *LimitError
		)
		switch {
		case errors.As(err, &re):
			if len(re.Errors) == 0 || len(re.Errors) > lim.MaxErrors {
				t.Fatalf("RowErrors with %d entries", len(re.Errors))
			}
		case errors.As(err, &le):
		default:
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		return
	}
	if err := b.revalidate(lim, time.Now()); err != nil {
		t.Fatalf("accepted a row that fails validation: %v", err)
	}
	seen := map[string]bool{}
	for i := 0; i < b.Len(); i++ {
		if b.EventID(i) == "" {
			t.Fatalf("row %d without event_id", i)
		}
		seen[b.EventID(i)] = true
	}
}

func fuzzLimits() Limits {
	return Limits{MaxRows: 50, MaxLabels: 4, MaxListItems: 4, MaxTextLen: 40, MaxDimLen: 16, MaxBodyBytes: 1 << 16, MaxErrors: 10}
}

func seeds(f *testing.F, rows ...string) {
	for _, r := range rows {
		f.Add([]byte(r))
	}
}

func FuzzDecodeKPI(f *testing.F) {
	seeds(f, goodKPI, `[]`, `{}`, `[{"ts": 1714564800000, "metric": "m", "value": 1e308}]`,
		`[{"ts": "2024-05-01T12:00:00.5+01:00", "metric": "\u00e9\ud83d\ude00", "value": -0, "labels": {"a": "b", "a": "c"}}]`,
		`[{"ts": 1714564800000, "metric": "m", "value": 1, "x": {"y": [1, {"z": null}]}}]`,
		"[{\"metric\": \"\xc3\x28\"}]", `[{"ts": 1714564800000.7, "metric": "m", "value": 1}`, `[[[[[[[[`)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, "kpi", "", data) })
}

func FuzzDecodeTasks(f *testing.F) {
	seeds(f, `[{"ts": 1714564800000, "task_id": "T-1", "state_category": "done", "assignee": "Ann", "blocked_by": ["a", "b"], "points": 2}]`,
		`[{"ts": 1714564800000, "task_id": "T-1", "state_category": "todo", "assignee": "[erased #1]"}]`,
		`[{"ts": 1714564800000, "task_id": "T-1", "state_category": "todo", "title": "\n"}]`)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, "tasks", "application/json", data) })
}

func FuzzDecodeNDJSON(f *testing.F) {
	seeds(f, "{\"ts\": 1714564800000, \"metric\": \"m\", \"value\": 1}\n{\"ts\": 1714564800000, \"metric\": \"n\", \"value\": 2}\n",
		"\n\n{}\n", "{\"ts\": 1714564800000} {}", "{\"finished_at\": 1714564800000, \"deployment_id\": \"d\", \"result\": \"success\", \"first_commit_at\": 1714564700000}\n")
	streams := Streams()
	f.Fuzz(func(t *testing.T, data []byte) {
		// The first byte picks the stream, so one corpus covers them all.
		stream := streams[0]
		if len(data) > 0 {
			stream = streams[int(data[0])%len(streams)]
			data = data[1:]
		}
		fuzzDecode(t, stream, ContentTypeNDJSON, data)
		requireInPartsIsWhole(t, stream, string(data), fuzzLimits())
	})
}

func FuzzCheckText(f *testing.F) {
	seeds(f, "abc", "\x00", "é", "\xc2\x85", "\xed\xa0\x80")
	f.Fuzz(func(t *testing.T, data []byte) {
		n, problem := checkText(data)
		if problem == "" && n > len(data) {
			t.Fatalf("%d characters in %d bytes", n, len(data))
		}
	})
}
