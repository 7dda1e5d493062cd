//go:build mage

// Build targets for kpiflow's backend, from the plugin SDK:
//
//	go run github.com/magefile/mage@v1.17.2 -v           # every platform
//	go run github.com/magefile/mage@v1.17.2 -v build:linux
//
// The SDK finds the nested data source (src/datasource/plugin.json) and writes
// dist/datasource/gpx_kpiflow_<os>_<arch>, where Grafana looks for it.
package main

import (
	// mage:import
	build "github.com/grafana/grafana-plugin-sdk-go/build"
	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
)

// Default builds the backend for linux, windows and darwin on amd64 and arm64.
var Default = All

// All builds every platform Grafana runs on, plus the WASM optimizer modules.
func All() {
	mg.Deps(WASM)
	b := build.Build{}
	mg.Deps(b.Linux, b.LinuxARM64, b.Windows, b.Darwin, b.DarwinARM64)
}

// WASM builds the built-in query optimizer module (Go, pkg/optimizer/builtin)
// for wasip1 into pkg/optimizer/builtin/wasm/optimizer.wasm, which the
// backend embeds: run it before building the backend. The flags keep the
// output the same for the same source and Go version.
func WASM() error {
	env := map[string]string{"GOOS": "wasip1", "GOARCH": "wasm", "CGO_ENABLED": "0"}
	return sh.RunWithV(env, mg.GoCmd(), "build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -buildid=", "-o", "pkg/optimizer/builtin/wasm/optimizer.wasm", "./pkg/optimizer/builtin")
}
