package optimizer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestNoteExample runs examples/note (built with wat2wasm) through the host.
func TestNoteExample(t *testing.T) {
	wasm := wat(t, "examples/note/note.wat")
	path := filepath.Join(t.TempDir(), "note.wasm")
	require.NoError(t, os.WriteFile(path, wasm, 0o600))
	h := newHost(t, calm().WithModules(Module{Name: "note", Path: path, SHA256: sha(wasm)}))
	p := hostilePlan(t)
	got, notices := h.Optimize(context.Background(), p, query.Catalog())
	require.Equal(t, p, got)
	require.Len(t, notices, 1)
	n := notices[0]
	require.Equal(t, NoticeNoted, n.Kind)
	require.False(t, n.Warning())
	require.Regexp(t, `^Optimizer module "note" kept the plan \([0-9.]+[µm]s\)\. The note example module saw this query\.$`, n.Text())
	mh := h.Health()[0]
	require.Equal(t, ModuleHealth{Name: "note", Origin: path, State: StateReady, Calls: 1, Instances: 1}, mh)
}

// TestLoadErrors: a module that cannot be loaded is a health error naming
// it and why, and queries still run (on the plan they had, with a notice).
func TestLoadErrors(t *testing.T) {
	note := wat(t, "examples/note/note.wat")
	dir := t.TempDir()
	path := filepath.Join(dir, "note.wasm")
	require.NoError(t, os.WriteFile(path, note, 0o600))
	cases := []struct {
		name string
		mod  Module
		want string
	}{
		{"sha256 mismatch", Module{Path: path, SHA256: strings.Repeat("ab", 32)},
			"sha256 mismatch: " + path + " has sha256 " + sha(note) + ", the settings say " + strings.Repeat("ab", 32)},
		{"no sha256", Module{Path: path}, "no sha256 given for " + path},
		{"missing file", Module{Path: filepath.Join(dir, "nope.wasm"), SHA256: sha(note)}, "no such file or directory"},
		{"not wasm", Module{Wasm: []byte("hello")}, "compile: invalid magic number"},
		{"no ABI v1", Module{Wasm: wat(t, "testdata/hostile/noabi.wat")},
			"it does not export kpiflow_abi_v1, so it is not an ABI v1 optimizer module"},
		{"forbidden import", Module{Wasm: wat(t, "testdata/hostile/imports.wat")},
			"it imports wasi_snapshot_preview1.path_open; modules may import only these inert wasi_snapshot_preview1 functions: args_get,"},
		{"memory over the cap", Module{Wasm: wat(t, "testdata/hostile/bigmemory.wat")}, "compile: section memory: min 320 pages (20 Mi) over limit of 256 pages (16 Mi)"},
		{"start never ends", Module{Wasm: wat(t, "testdata/hostile/startloop.wat")},
			"its first instance did not start: ran past its 100ms deadline and was stopped"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.mod.Name = "bad"
			h := newHost(t, calm().WithInstantiateTimeout(100*time.Millisecond).
				WithModules(tc.mod, Module{Name: "note", Wasm: note}))
			health := h.Health()
			require.Equal(t, StateFailed, health[0].State)
			require.Contains(t, health[0].Error, tc.want)
			require.Equal(t, StateReady, health[1].State, "the other modules load")
			p := hostilePlan(t)
			got, notices := h.Optimize(context.Background(), p, query.Catalog())
			require.Equal(t, p, got)
			require.Len(t, notices, 2)
			require.Equal(t, NoticeFailed, notices[0].Kind)
			require.Contains(t, notices[0].Text(), `Optimizer module "bad" failed after`)
			require.Contains(t, notices[0].Text(), "it could not be loaded: ")
			require.Equal(t, NoticeNoted, notices[1].Kind)
		})
	}
}

// TestBuiltinNotBuilt: a binary built without `mage wasm` says so.
func TestBuiltinNotBuilt(t *testing.T) {
	if _, err := BuiltinWasm(); err == nil {
		t.Skip("the built-in module is embedded in this build")
	}
	h := newHost(t, NewConfig())
	require.Equal(t, StateNotBuilt, h.Health()[0].State)
	_, notices := h.Optimize(context.Background(), hostilePlan(t), query.Catalog())
	require.Len(t, notices, 1)
	require.Equal(t, NoticeSkipped, notices[0].Kind)
	require.Contains(t, notices[0].Text(), "was not built into this binary (build with `mage wasm`")
}

// TestStillLoading: until a module is compiled, queries run without it. The
// module file is a FIFO, so loading waits until the test writes it.
func TestStillLoading(t *testing.T) {
	ctx := context.Background()
	note := wat(t, "examples/note/note.wat")
	fifo := filepath.Join(t.TempDir(), "note.wasm")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	h, err := New(ctx, calm().WithModules(Module{Name: "note", Path: fifo, SHA256: sha(note)}))
	require.NoError(t, err)
	defer h.Close(ctx)

	require.Equal(t, StateLoading, h.Health()[0].State)
	p := hostilePlan(t)
	got, notices := h.Optimize(ctx, p, query.Catalog())
	require.Equal(t, p, got)
	require.Len(t, notices, 1)
	require.Equal(t, NoticeSkipped, notices[0].Kind)
	require.Equal(t, `Optimizer module "note" did not run: it is still loading (compiling in the background); the query runs without it.`, notices[0].Text())

	require.NoError(t, os.WriteFile(fifo, note, 0o600))
	require.NoError(t, h.Ready(ctx))
	require.Equal(t, StateReady, h.Health()[0].State)
	_, notices = h.Optimize(ctx, p, query.Catalog())
	require.Equal(t, NoticeNoted, notices[0].Kind)
}

// TestBreakerSwitchesOff: failures in a row switch a module off for a while
// (visible in health); after the pause it is tried again.
func TestBreakerSwitchesOff(t *testing.T) {
	ctx := context.Background()
	// calm: a replacement instance that starts late under load would make
	// a call "busy" (skipped), which the breaker rightly does not count.
	h := newHost(t, calm().WithBreaker(3, 2*time.Second, 4*time.Second).
		WithModules(Module{Name: "trap", Wasm: wat(t, "testdata/hostile/trap.wat")}))
	p := hostilePlan(t)
	for i := 0; i < 3; i++ {
		_, notices := h.Optimize(ctx, p, query.Catalog())
		require.Equal(t, NoticeFailed, notices[0].Kind)
	}
	mh := h.Health()[0]
	require.Equal(t, StateOff, mh.State)
	require.False(t, mh.OffUntil.IsZero())
	got, notices := h.Optimize(ctx, p, query.Catalog())
	require.Equal(t, p, got)
	require.Equal(t, NoticeSkipped, notices[0].Kind)
	require.Contains(t, notices[0].Text(), "it is switched off until ")
	require.Contains(t, notices[0].Text(), "after 3 failures in a row (last: trapped: wasm error: unreachable)")
	require.Equal(t, uint64(3), h.Health()[0].Calls, "a switched-off module is not called")

	time.Sleep(time.Until(mh.OffUntil) + 10*time.Millisecond)
	_, notices = h.Optimize(ctx, p, query.Catalog())
	require.Equal(t, NoticeFailed, notices[0].Kind, "tried again after the pause")
	require.Equal(t, StateOff, h.Health()[0].State, "and off again at once")
}

// TestInertImports calls each WASI function a module may import and checks
// that it reveals nothing of the host.
func TestInertImports(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	require.NoError(t, instantiateInert(ctx, rt))
	mod, err := rt.Instantiate(ctx, wat(t, "testdata/inert.wat"))
	require.NoError(t, err)
	call := func(name string) uint64 {
		res, err := mod.ExportedFunction(name).Call(ctx)
		require.NoError(t, err, name)
		return res[0]
	}
	mem := mod.Memory()
	read64 := func(off uint32) uint64 { v, _ := mem.ReadUint64Le(off); return v }
	read32 := func(off uint32) uint32 { v, _ := mem.ReadUint32Le(off); return v }

	require.Equal(t, uint64(0), call("clock"))
	require.Equal(t, fakeTime, read64(0), "the clock is stuck at 2000-01-01")
	require.Equal(t, uint64(0), call("clock"))
	require.Equal(t, fakeTime, read64(0), "and does not move")
	require.Equal(t, uint64(0), call("random"))
	require.Equal(t, uint64(0), read64(8)|read64(16), "random bytes are zeros")
	require.Equal(t, uint64(0), call("environ"))
	require.Equal(t, [2]uint32{0, 0}, [2]uint32{read32(24), read32(28)}, "no environment")
	require.Equal(t, uint64(0), call("args"))
	require.Equal(t, [2]uint32{0, 0}, [2]uint32{read32(24), read32(28)}, "no arguments")
	require.Equal(t, uint64(errnoBadf), call("preopen"), "no preopened directory")
	require.Equal(t, uint64(errnoBadf), call("write3"), "no file descriptors beyond stdout and stderr")
	require.Equal(t, uint64(0), call("write2"))
	require.Equal(t, uint32(5), read32(40), "stderr takes the bytes (kept for failure messages only)")
	require.Equal(t, uint64(errnoFault), call("clockOutside"), "pointers outside memory are refused")
}

// TestRequestAndResponse covers the ABI's JSON on the host side.
func TestRequestAndResponse(t *testing.T) {
	p := plan.Plan{Source: "t", Limit: 5}
	req, err := request(&p, []byte(`{"tables":[]}`), nil)
	require.NoError(t, err)
	require.JSONEq(t, `{"abi":1,"plan":{"source":"t","time_range":{"from":0,"to":0},"limit":5},"catalog":{"tables":[]},"config":null}`, string(req))
	req, err = request(&p, []byte(`{}`), []byte(`{"k":1}`))
	require.NoError(t, err)
	require.Contains(t, string(req), `"config":{"k":1}}`)

	ok := map[string]response{
		`{}`:                          {},
		`{"plan": null, "notes": []}`: {},
		`{"notes": ["a", "", "b"]}`:   {Notes: []string{"a", "b"}},
		`{"error": "cannot"}`:         {Error: "cannot"},
		` {"plan": {"source": "x"}} `: {Plan: &plan.Plan{Source: "x"}},
		`{"notes": ["é ünïcode ✓"]}`:  {Notes: []string{"é ünïcode ✓"}},
	}
	for raw, want := range ok {
		got, err := decodeResponse([]byte(raw))
		require.NoError(t, err, raw)
		require.Equal(t, want, got, raw)
	}
	bad := map[string]string{
		``:                                    "not ABI v1 JSON",
		`[]`:                                  "not ABI v1 JSON",
		`{"plan": {}} {}`:                     "more data after the JSON value",
		`{"sql": "x"}`:                        `unknown field "sql"`,
		`{"plan": {"source": "x", "sql": 1}}`: `unknown field "sql"`,
		`{"error": "x", "notes": ["y"]}`:      "an error and a plan or notes",
		`{"error": ""}`:                       `"error" is empty`,
		`{"notes": ["a\u0007"]}`:              "notes[0] holds control characters",
		`{"notes": ["\udc00"]}`:               "", // invalid surrogate decodes to U+FFFD: fine
		`{"notes": [1]}`:                      "not ABI v1 JSON",
	}
	bad[`{"notes": [`+strings.Repeat(`"n",`, 16)+`"n"]}`] = "17 notes, more than 16"
	bad[`{"notes": ["`+strings.Repeat("x", 1001)+`"]}`] = "notes[0] is longer than 1000 bytes"
	for raw, want := range bad {
		_, err := decodeResponse([]byte(raw))
		if want == "" {
			require.NoError(t, err, raw)
			continue
		}
		require.ErrorContains(t, err, want, raw)
	}
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(`{"plan": {"source": "x"}, "notes": ["a"]}`))
	f.Add([]byte(`{"error": "x"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := decodeResponse(raw)
		if err != nil {
			return
		}
		for _, n := range r.Notes {
			require.NoError(t, checkText("note", n, maxNoteLen))
		}
	})
}

// TestCloseDoesNotWaitForAHungLoad: a module file that never finishes
// reading (a FIFO nobody writes, like a hung network share) does not hold
// Close past its context.
func TestCloseDoesNotWaitForAHungLoad(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "hung.wasm")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	h, err := New(context.Background(), calm().WithModules(Module{Name: "hung", Path: fifo, SHA256: strings.Repeat("0", 64)}))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorContains(t, h.Close(ctx), "optimizer modules still loading when closed")
	// Unblock the reader so the test leaves nothing behind.
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
