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
	"fmt"

	// mage:import
	build "github.com/grafana/grafana-plugin-sdk-go/build"
	"github.com/magefile/mage/mg"
)

// Default builds the backend for linux, windows and darwin on amd64 and arm64.
var Default = All

// All builds every platform Grafana runs on, plus the WASM optimizer modules.
func All() {
	mg.Deps(WASM)
	b := build.Build{}
	mg.Deps(b.Linux, b.LinuxARM64, b.Windows, b.Darwin, b.DarwinARM64)
}

// WASM builds the query optimizer modules embedded in the backend. There are
// none until the optimizer issue adds the built-in module; the target exists
// now so that build scripts need not change then.
func WASM() error {
	fmt.Println("wasm: no optimizer modules to build yet")
	return nil
}
