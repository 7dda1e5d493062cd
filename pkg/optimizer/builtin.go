package optimizer

import (
	"embed"
	"errors"
	"io/fs"
)

// builtinFS holds the built-in module when `mage wasm` built it before the
// binary; the directory's README keeps the embed valid on a fresh clone.
//
//go:embed builtin/wasm
var builtinFS embed.FS

// BuiltinPath is where `mage wasm` writes the built-in module, relative to
// this package's directory.
const BuiltinPath = "builtin/wasm/optimizer.wasm"

// ErrBuiltinNotBuilt is the built-in module's load error in a binary built
// without it (go build without `mage wasm` first).
var ErrBuiltinNotBuilt = errors.New("the built-in optimizer module was not built into this binary " +
	"(build with `mage wasm` before the backend), so queries run without it")

// BuiltinWasm returns the embedded built-in module.
func BuiltinWasm() ([]byte, error) {
	b, err := builtinFS.ReadFile(BuiltinPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrBuiltinNotBuilt
	}
	return b, err
}
