// Package archtest checks that kpiflow's packages import only in the
// directions STYLE.md gives, so a layering mistake fails CI instead of
// slowly turning the package map into a tangle.
package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/kpiflow/kpiflow/pkg"

// layer of each package; a package may import only lower layers. The test
// helpers under internal/ (chtest, chserver, chdb, conformance, plugintest,
// bench) have no layer: they may import anything, and nothing else may
// import them. Every other package needs a layer here and in STYLE.md's
// package map.
var layers = map[string]int{
	"schema": 0, "jsonstrict": 0, "optimizer/builtin": 0, // the built-in optimizer module: a wasm program of its own
	"settings": 1, "dialect": 1, "ledger": 1, // store reads and writes the ledger's links
	"store": 2, "query/plan": 2, "frames": 2, "forecast": 2, "demo": 2,
	"ingest": 3, "query": 3, "optimizer": 3, "live": 3, "upkeep": 3,
	"plugin": 4, "cmd/kpiflow": 4,
	"": 5, // pkg/main.go
}

// Packages that may import nothing from kpiflow at all.
var leaves = []string{"schema", "jsonstrict", "frames", "ledger", "query/plan", "forecast", "optimizer/builtin"}

// Imports forbidden even where the layers would allow them.
var forbidden = map[string][]string{
	"query":       {"store"},
	"optimizer":   {"store", "query", "frames"},
	"cmd/kpiflow": {"plugin"},
}

// Only these may import the SDK's serving and instance packages.
var sdkServing = []string{
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource",
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt",
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter",
}

func TestImportDirections(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg := rel(fields[0])
		from, known := layers[pkg]
		if !known && !strings.HasPrefix(pkg, "internal/") {
			t.Errorf("%s has no layer in archtest: add it to the package map in STYLE.md and here", fields[0])
		}
		for _, imp := range fields[1:] {
			for _, s := range sdkServing {
				if imp == s && pkg != "plugin" && pkg != "" {
					t.Errorf("%s imports %s: only pkg/plugin and pkg/main.go may", fields[0], imp)
				}
			}
			if !strings.HasPrefix(imp, module) || !known {
				continue
			}
			dep := rel(imp)
			if strings.HasPrefix(dep, "internal/") {
				t.Errorf("%s imports the test helper %s", fields[0], imp)
				continue
			}
			for _, leaf := range leaves {
				if pkg == leaf {
					t.Errorf("%s must import no kpiflow package, imports %s", fields[0], imp)
				}
			}
			for _, f := range forbidden[pkg] {
				if dep == f {
					t.Errorf("%s must not import %s", fields[0], imp)
				}
			}
			to, ok := layers[dep]
			if !ok {
				t.Errorf("%s imports %s, which has no layer in archtest: add it to the package map in STYLE.md and here", fields[0], imp)
			} else if to >= from {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must point to lower layers", fields[0], from, imp, to)
			}
		}
	}
}

func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}
