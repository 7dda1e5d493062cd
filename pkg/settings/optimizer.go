package settings

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kpiflow/kpiflow/pkg/jsonstrict"
)

// Bounds on jsonData.optimizerModules.
const (
	MaxOptimizerModules     = 8
	maxOptimizerConfigBytes = 64 << 10
	// BuiltinOptimizerName is reserved for kpiflow's built-in module.
	BuiltinOptimizerName = "builtin"
)

var moduleNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// OptimizerModule is one query optimizer module (WASM, ABI v1) listed in
// jsonData.optimizerModules: a file an Admin provisioned on the Grafana
// host, pinned by its SHA-256, and the config JSON it is sent.
type OptimizerModule struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// SHA256 is lower-case hex.
	SHA256 string `json:"sha256"`
	// Config is a JSON object, or empty.
	Config json.RawMessage `json:"config,omitempty"`
}

// parseOptimizerModules decodes and checks jsonData.optimizerModules,
// reporting each problem with the module's index and field.
func parseOptimizerModules(raw []json.RawMessage, add func(field, format string, args ...any)) []OptimizerModule {
	const field = "jsonData.optimizerModules"
	if len(raw) > MaxOptimizerModules {
		add(field, "at most %d modules, got %d", MaxOptimizerModules, len(raw))
		return nil
	}
	var out []OptimizerModule
	seen := map[string]bool{}
	for i, r := range raw {
		at := fmt.Sprintf("%s[%d]", field, i)
		var m OptimizerModule
		if err := jsonstrict.Decode(r, &m, jsonstrict.Options{Root: at, Prefix: at + ".", Unknown: "unknown setting"}); err != nil {
			var fe *jsonstrict.FieldError
			if errors.As(err, &fe) {
				add(fe.Field, "%s; expected {\"name\", \"path\", \"sha256\", \"config\"}", fe.Message)
			}
			continue
		}
		switch {
		case m.Name == "":
			add(at+".name", "required: a name for notices and the health check, such as tag-queries")
		case !moduleNameRe.MatchString(m.Name):
			add(at+".name", "expected letters, digits, _ . - (at most 64, starting with a letter or digit), got %q", m.Name)
		case m.Name == BuiltinOptimizerName:
			add(at+".name", "%q names kpiflow's built-in module; choose another name", m.Name)
		case seen[m.Name]:
			add(at+".name", "%q is used twice", m.Name)
		}
		seen[m.Name] = true
		switch {
		case m.Path == "":
			add(at+".path", "required: the module file's absolute path on the Grafana host, such as /var/lib/grafana/kpiflow/tag.wasm")
		case !filepath.IsAbs(m.Path) || strings.ContainsRune(m.Path, 0):
			add(at+".path", "expected an absolute path on the Grafana host, got %q", m.Path)
		}
		if sum, err := hex.DecodeString(m.SHA256); err != nil || len(sum) != 32 {
			add(at+".sha256", "expected the module file's SHA-256 as 64 hex digits (sha256sum %s), got %q", m.Path, m.SHA256)
		}
		m.SHA256 = strings.ToLower(m.SHA256)
		switch c := bytes.TrimSpace(m.Config); {
		case len(c) == 0 || bytes.Equal(c, []byte("null")):
			m.Config = nil
		case c[0] != '{':
			add(at+".config", "expected a JSON object (or nothing)")
		case len(c) > maxOptimizerConfigBytes:
			add(at+".config", "longer than %d KiB", maxOptimizerConfigBytes>>10)
		default:
			m.Config = append(json.RawMessage(nil), c...)
		}
		out = append(out, m)
	}
	return out
}
