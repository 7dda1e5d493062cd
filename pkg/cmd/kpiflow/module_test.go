package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/wasmtest"
)

func watFile(t *testing.T, src string) string {
	path, _ := wasmtest.File(t, t.TempDir(), src)
	return path
}

func TestModuleCommand(t *testing.T) {
	note := watFile(t, "../../optimizer/examples/note/note.wat")
	ta := newTestApp("")
	code := ta.exec("module", "--builtin=false", "--to", "2026-11-20T00:00:00Z", "--config", `{"k": 1}`, "--request", note)
	require.Equal(t, exitOK, code, ta.errOut.String())
	out := ta.out.String()
	require.Contains(t, out, `settings: jsonData.optimizerModules: [{"name":"note","path":"`+note+`","sha256":"`)
	require.Contains(t, out, `"config":{"k":1}}]`)
	require.Contains(t, out, `"abi": 1,`)
	require.Contains(t, out, `Optimizer module "note" kept the plan (`)
	require.Contains(t, out, "The note example module saw this query.")
	require.Contains(t, out, "SQL:\n  SELECT ")

	trap := watFile(t, "../../optimizer/testdata/hostile/trap.wat")
	ta = newTestApp("")
	code = ta.exec("module", "--builtin=false", trap)
	require.Equal(t, exitFailed, code)
	require.Contains(t, ta.out.String(), `Optimizer module "trap" failed after`)
	require.Contains(t, ta.errOut.String(), `module "trap" failed or its answer was rejected`)

	noabi := watFile(t, "../../optimizer/testdata/hostile/noabi.wat")
	ta = newTestApp("")
	code = ta.exec("module", "--builtin=false", noabi)
	require.Equal(t, exitFailed, code)
	require.Contains(t, ta.errOut.String(), `module "noabi" could not be loaded: it does not export kpiflow_abi_v1`)

	ta = newTestApp("")
	require.Equal(t, exitUsage, ta.exec("module", "--config", "[1]", note))
	require.Contains(t, ta.errOut.String(), "--config must be a JSON object")
}
