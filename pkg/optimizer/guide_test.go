package optimizer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query"
)

// TestGuideGoExample builds the Go module of docs/optimizer-modules.md as
// the guide says and runs it through the host, so the guide stays right.
func TestGuideGoExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go wasip1 module")
	}
	doc, err := os.ReadFile("../../docs/optimizer-modules.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "```go\n")
	require.True(t, ok, "the guide has a Go example")
	src, _, ok := strings.Cut(rest, "```\n")
	require.True(t, ok)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module tag\n\ngo 1.24\n"), 0o600))
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", "tag.wasm", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	wasm, err := os.ReadFile(filepath.Join(dir, "tag.wasm"))
	require.NoError(t, err)

	// A generous deadline: its first call decodes the whole request with
	// encoding/json (the guide says how slow that is).
	h := newHost(t, calm().WithModules(Module{Name: "tag", Wasm: wasm}))
	p := hostilePlan(t)
	got, notices := h.Optimize(context.Background(), p, query.Catalog())
	require.Equal(t, p, got)
	require.Len(t, notices, 1)
	require.Equal(t, NoticeNoted, notices[0].Kind, notices[0].Text())
	require.Equal(t, []string{"tagged by the example Go module"}, notices[0].Notes)
}
