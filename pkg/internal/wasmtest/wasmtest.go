// Package wasmtest builds WebAssembly text modules for tests with wat2wasm
// from Debian's wabt package.
//
//	wasm := wasmtest.Wat2Wasm(t, "testdata/hostile/trap.wat")
//	path, sum := wasmtest.File(t, dir, "testdata/hostile/trap.wat") // for module settings
//
// Without wat2wasm a test skips, except under CI=true, where it fails (.ci/run
// installs wabt).
package wasmtest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Wat2Wasm builds the WebAssembly text file src, after replacing each old
// with its new in the text (strings.NewReplacer pairs), and returns the
// module's bytes.
func Wat2Wasm(t testing.TB, src string, replace ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("wat2wasm is missing: install Debian's wabt package")
		}
		t.Skip("wat2wasm is missing: apt-get install wabt")
	}
	text, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(strings.NewReplacer(replace...).Replace(string(text))), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(bin, in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", src, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// File builds src into dir as <name>.wasm, where name is src's base name,
// and returns the file's path and hex SHA-256.
func File(t testing.TB, dir, src string) (path, sha string) {
	t.Helper()
	b := Wat2Wasm(t, src)
	path = filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".wat")+".wasm")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return path, hex.EncodeToString(sum[:])
}
