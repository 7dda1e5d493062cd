package plugin_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/plugin"
)

// readArrowStreams decodes a body of Arrow IPC streams, back to back, with
// arrow-go's IPC reader, into one frame per stream (the SDK's metadata
// read back from each schema).
func readArrowStreams(t *testing.T, body []byte) data.Frames {
	t.Helper()
	in := bytes.NewReader(body)
	var out data.Frames
	for in.Len() > 0 {
		r, err := ipc.NewReader(in)
		require.NoError(t, err)
		var f *data.Frame
		for r.Next() {
			part, err := data.FromArrowRecord(r.RecordBatch())
			require.NoError(t, err)
			if f == nil {
				f = part
				continue
			}
			for i, fld := range part.Fields {
				for j := 0; j < fld.Len(); j++ {
					f.Fields[i].Append(fld.At(j))
				}
			}
		}
		require.NoError(t, r.Err())
		if f == nil { // a stream of no batches: its schema alone
			b := array.NewRecordBuilder(memory.DefaultAllocator, r.Schema())
			part, err := data.FromArrowRecord(b.NewRecordBatch())
			require.NoError(t, err)
			b.Release()
			f = part
		}
		r.Release()
		out = append(out, f)
	}
	return out
}

// arrowFixtureRows is a frame as tests/fixtures/tasks.expected.json holds
// it, for both decoders to compare with: field names, Grafana field types,
// and rows as objects (times in epoch milliseconds, nulls as null).
func arrowFixtureRows(t *testing.T, f *data.Frame) map[string]any {
	t.Helper()
	names := make([]string, len(f.Fields))
	types := make([]string, len(f.Fields))
	for i, fld := range f.Fields {
		names[i] = fld.Name
		switch ft := fld.Type(); {
		case ft.Time():
			types[i] = "time"
		case ft.Numeric():
			types[i] = "number"
		case ft == data.FieldTypeString || ft == data.FieldTypeNullableString:
			types[i] = "string"
		case ft == data.FieldTypeBool || ft == data.FieldTypeNullableBool:
			types[i] = "boolean"
		default:
			t.Fatalf("field %s: type %s has no fixture form", fld.Name, ft)
		}
	}
	rows := make([]map[string]any, f.Rows())
	for i := range rows {
		row := map[string]any{}
		for j, fld := range f.Fields {
			v, ok := fld.ConcreteAt(i)
			switch x := v.(type) {
			case time.Time:
				v = x.UnixMilli()
			case nil:
				ok = false
			}
			if !ok {
				v = nil
			}
			row[names[j]] = v
		}
		rows[i] = row
	}
	return map[string]any{"name": f.Name, "fields": names, "types": types, "rows": rows}
}

// TestArrowTaskFixtureDecodes reads the committed Arrow IPC fixture (written
// by TestIntegrationArrowTaskFixture) with arrow-go's IPC reader: the same
// rows as tests/fixtures/tasks.expected.json, which apache-arrow must read
// in Node too, with the hostile title and the unicode intact and nulls kept.
func TestArrowTaskFixtureDecodes(t *testing.T) {
	dir := filepath.Join("..", "..", "tests", "fixtures")
	body, err := os.ReadFile(filepath.Join(dir, plugin.ArrowTaskFixture))
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(dir, plugin.ArrowTaskFixtureRows))
	require.NoError(t, err)

	frames := readArrowStreams(t, body)
	got := make([]any, len(frames))
	for i, f := range frames {
		got[i] = arrowFixtureRows(t, f)
	}
	raw, err := json.Marshal(map[string]any{"frames": got})
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(raw))

	text := string(raw)
	for _, s := range []string{"<script>window.__pwned = 1</script>Fix login", "日本語のタスク", "🚀", "zoë", `"two"`} {
		require.Contains(t, text, strings.TrimSpace(jsonText(t, s)), "fixture lost %q", s)
	}
	require.Contains(t, text, `"title":null`, "the raw SQL stream keeps its nulls")
	require.NotEmpty(t, frames[0].Meta.Notices, "notices travel in the schema metadata")
}

// jsonText is s as encoding/json writes it inside a string, quotes trimmed.
func jsonText(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return string(b[1 : len(b)-1])
}
