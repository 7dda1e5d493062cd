package optimizer

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// wasiModule is the only import module a module may use.
const wasiModule = "wasi_snapshot_preview1"

// WASI errno values the inert functions answer.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoFault   = 21
)

// fakeTime is what every clock reads: 2000-01-01T00:00:00Z in nanoseconds.
// Go's runtime refuses a zero clock, and a clock that never moves tells a
// module nothing about the host.
const fakeTime = uint64(946684800) * 1e9

// maxCapture bounds what a call's writes to stdout and stderr keep, for the
// failure message (a Go module's panic text lands there).
const maxCapture = 2048

// callState is one call's host-side state, reached from the inert imports
// through the call's context.
type callState struct {
	output []byte
}

type callStateKey struct{}

func stateOf(ctx context.Context) *callState {
	s, _ := ctx.Value(callStateKey{}).(*callState)
	return s
}

// lastOutput is the tail of what the module wrote, on one line.
func (s *callState) lastOutput() string {
	if s == nil {
		return ""
	}
	out := strings.Join(strings.Fields(string(s.output)), " ")
	if len(out) > 300 {
		out = "…" + out[len(out)-300:]
	}
	return out
}

type inertFunc struct {
	params, results []api.ValueType
	fn              api.GoModuleFunc
}

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// inertImports are the WASI functions a module may import, each answering
// without touching the host: no arguments or environment, a clock stuck at
// fakeTime, zero "random" bytes, stdout and stderr captured for error
// messages only, no file descriptors, sleeps that end at once, and exit.
func inertImports() map[string]inertFunc {
	ok := func(ctx context.Context, m api.Module, st []uint64) { st[0] = errnoSuccess }
	badf := func(ctx context.Context, m api.Module, st []uint64) { st[0] = errnoBadf }
	zeroSizes := func(ctx context.Context, m api.Module, st []uint64) {
		if !m.Memory().WriteUint32Le(uint32(st[0]), 0) || !m.Memory().WriteUint32Le(uint32(st[1]), 0) {
			st[0] = errnoFault
			return
		}
		st[0] = errnoSuccess
	}
	return map[string]inertFunc{
		"args_get":          {[]api.ValueType{i32, i32}, []api.ValueType{i32}, ok},
		"args_sizes_get":    {[]api.ValueType{i32, i32}, []api.ValueType{i32}, zeroSizes},
		"environ_get":       {[]api.ValueType{i32, i32}, []api.ValueType{i32}, ok},
		"environ_sizes_get": {[]api.ValueType{i32, i32}, []api.ValueType{i32}, zeroSizes},
		"clock_res_get": {[]api.ValueType{i32, i32}, []api.ValueType{i32}, func(ctx context.Context, m api.Module, st []uint64) {
			st[0] = errnoFault
			if m.Memory().WriteUint64Le(uint32(st[1]), 1) {
				st[0] = errnoSuccess
			}
		}},
		"clock_time_get": {[]api.ValueType{i32, i64, i32}, []api.ValueType{i32}, func(ctx context.Context, m api.Module, st []uint64) {
			st[0] = errnoFault
			if m.Memory().WriteUint64Le(uint32(st[2]), fakeTime) {
				st[0] = errnoSuccess
			}
		}},
		"random_get": {[]api.ValueType{i32, i32}, []api.ValueType{i32}, func(ctx context.Context, m api.Module, st []uint64) {
			buf, fits := m.Memory().Read(uint32(st[0]), uint32(st[1]))
			if !fits {
				st[0] = errnoFault
				return
			}
			clear(buf)
			st[0] = errnoSuccess
		}},
		"fd_write": {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, fdWrite},
		"fd_read":  {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, badf},
		"fd_close": {[]api.ValueType{i32}, []api.ValueType{i32}, badf},
		"fd_seek":  {[]api.ValueType{i32, i64, i32, i32}, []api.ValueType{i32}, badf},
		// No preopened directories: the first fd_prestat_get says EBADF.
		"fd_prestat_get":      {[]api.ValueType{i32, i32}, []api.ValueType{i32}, badf},
		"fd_prestat_dir_name": {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}, badf},
		"fd_fdstat_get":       {[]api.ValueType{i32, i32}, []api.ValueType{i32}, badf},
		"fd_fdstat_set_flags": {[]api.ValueType{i32, i32}, []api.ValueType{i32}, badf},
		"poll_oneoff":         {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, pollOneoff},
		"sched_yield":         {nil, []api.ValueType{i32}, ok},
		"proc_exit": {[]api.ValueType{i32}, nil, func(ctx context.Context, m api.Module, st []uint64) {
			code := uint32(st[0])
			_ = m.CloseWithExitCode(ctx, code)
			// Nothing of the module may run after exit.
			panic(sys.NewExitError(code))
		}},
	}
}

// fdWrite keeps stdout and stderr (bounded) for the failure message.
func fdWrite(ctx context.Context, m api.Module, st []uint64) {
	fd, iovs, n, nwritten := uint32(st[0]), uint32(st[1]), uint32(st[2]), uint32(st[3])
	if fd != 1 && fd != 2 {
		st[0] = errnoBadf
		return
	}
	mem, state := m.Memory(), stateOf(ctx)
	total := uint32(0)
	for i := uint32(0); i < n; i++ {
		ptr, ok1 := mem.ReadUint32Le(iovs + 8*i)
		size, ok2 := mem.ReadUint32Le(iovs + 8*i + 4)
		buf, ok3 := mem.Read(ptr, size)
		if !ok1 || !ok2 || !ok3 {
			st[0] = errnoFault
			return
		}
		if state != nil {
			state.output = append(state.output, buf...)
			if len(state.output) > maxCapture {
				state.output = slices.Clone(state.output[len(state.output)-maxCapture:])
			}
		}
		total += size
	}
	if !mem.WriteUint32Le(nwritten, total) {
		st[0] = errnoFault
		return
	}
	st[0] = errnoSuccess
}

// pollOneoff reports every subscription as ready at once: clocks never
// advance, and there is nothing to read or write.
func pollOneoff(ctx context.Context, m api.Module, st []uint64) {
	in, out, n, nevents := uint32(st[0]), uint32(st[1]), uint32(st[2]), uint32(st[3])
	mem := m.Memory()
	for i := uint32(0); i < n; i++ {
		sub, ok1 := mem.Read(in+48*i, 48)
		ev, ok2 := mem.Read(out+32*i, 32)
		if !ok1 || !ok2 {
			st[0] = errnoFault
			return
		}
		userdata, tag := binary.LittleEndian.Uint64(sub), sub[8]
		clear(ev)
		binary.LittleEndian.PutUint64(ev, userdata)
		ev[10] = tag
	}
	if !mem.WriteUint32Le(nevents, n) {
		st[0] = errnoFault
		return
	}
	st[0] = errnoSuccess
}

// instantiateInert adds the inert WASI module to the runtime.
func instantiateInert(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(wasiModule)
	for name, f := range inertImports() {
		b.NewFunctionBuilder().WithGoModuleFunction(f.fn, f.params, f.results).Export(name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiate the inert WASI imports: %w", err)
	}
	return nil
}

// checkImports refuses a module that imports anything but the inert
// functions, with their exact signatures, or that imports its memory.
func checkImports(cm wazero.CompiledModule) error {
	allowed := inertImports()
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		want, ok := allowed[name]
		switch {
		case mod != wasiModule || !ok:
			return fmt.Errorf("it imports %s.%s; modules may import only these inert %s functions: %s",
				mod, name, wasiModule, strings.Join(sortedNames(allowed), ", "))
		case !slices.Equal(f.ParamTypes(), want.params) || !slices.Equal(f.ResultTypes(), want.results):
			return fmt.Errorf("it imports %s.%s with the wrong signature", mod, name)
		}
	}
	if len(cm.ImportedMemories()) > 0 {
		return fmt.Errorf("it imports its memory; a module must define and export its own")
	}
	return nil
}

func sortedNames(m map[string]inertFunc) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
