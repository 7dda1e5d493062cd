package settings

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseOptimizerModules(t *testing.T) {
	sum := strings.Repeat("Ab", 32)
	s, err := Parse([]byte(`{"host":"ch","optimizerModules":[
		{"name":"tag","path":"/var/lib/grafana/kpiflow/tag.wasm","sha256":"`+sum+`","config":{"team":"a"}},
		{"name":"note.v2","path":"/opt/note.wasm","sha256":"`+sum+`","config":null}]}`), nil)
	require.NoError(t, err)
	require.Equal(t, []OptimizerModule{
		{Name: "tag", Path: "/var/lib/grafana/kpiflow/tag.wasm", SHA256: strings.ToLower(sum), Config: json.RawMessage(`{"team":"a"}`)},
		{Name: "note.v2", Path: "/opt/note.wasm", SHA256: strings.ToLower(sum)},
	}, s.OptimizerModules)

	s, err = Parse([]byte(`{"host":"ch"}`), nil)
	require.NoError(t, err)
	require.Empty(t, s.OptimizerModules)
}

func TestParseOptimizerModulesNamesField(t *testing.T) {
	sum := strings.Repeat("0", 64)
	mod := func(fields string) string { return `{"host":"ch","optimizerModules":[` + fields + `]}` }
	ok := `{"name":"a","path":"/m.wasm","sha256":"` + sum + `"}`
	tests := []struct {
		name, json, field, msg string
	}{
		{"not a list", `{"host":"ch","optimizerModules":{}}`, "jsonData.optimizerModules", "expected a list"},
		{"too many", mod(strings.Repeat(ok+",", 8) + ok), "jsonData.optimizerModules", "at most 8 modules, got 9"},
		{"unknown field", mod(`{"name":"a","path":"/m.wasm","sha256":"` + sum + `","url":"http://x"}`),
			"jsonData.optimizerModules[0].url", "unknown setting"},
		{"name missing", mod(`{"path":"/m.wasm","sha256":"` + sum + `"}`), "jsonData.optimizerModules[0].name", "required"},
		{"name odd", mod(`{"name":"a b","path":"/m.wasm","sha256":"` + sum + `"}`), "jsonData.optimizerModules[0].name", "letters, digits"},
		{"name builtin", mod(`{"name":"builtin","path":"/m.wasm","sha256":"` + sum + `"}`), "jsonData.optimizerModules[0].name", "built-in module"},
		{"name twice", mod(ok + "," + ok), "jsonData.optimizerModules[1].name", `"a" is used twice`},
		{"path missing", mod(`{"name":"a","sha256":"` + sum + `"}`), "jsonData.optimizerModules[0].path", "absolute path"},
		{"path relative", mod(`{"name":"a","path":"m.wasm","sha256":"` + sum + `"}`), "jsonData.optimizerModules[0].path", `got "m.wasm"`},
		{"sha short", mod(`{"name":"a","path":"/m.wasm","sha256":"abc"}`), "jsonData.optimizerModules[0].sha256", "64 hex digits (sha256sum /m.wasm)"},
		{"sha not hex", mod(`{"name":"a","path":"/m.wasm","sha256":"` + strings.Repeat("g", 64) + `"}`), "jsonData.optimizerModules[0].sha256", "64 hex digits"},
		{"config not object", mod(`{"name":"a","path":"/m.wasm","sha256":"` + sum + `","config":[1]}`), "jsonData.optimizerModules[0].config", "JSON object"},
		{"config too long", mod(`{"name":"a","path":"/m.wasm","sha256":"` + sum + `","config":{"x":"` + strings.Repeat("x", 70000) + `"}}`),
			"jsonData.optimizerModules[0].config", "longer than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json), nil)
			var errs Errors
			require.True(t, errors.As(err, &errs), "%v", err)
			found := false
			for _, fe := range errs {
				if fe.Field == tt.field && strings.Contains(fe.Message, tt.msg) {
					found = true
				}
			}
			require.True(t, found, "want %s: …%s…, got %v", tt.field, tt.msg, err)
		})
	}
}
