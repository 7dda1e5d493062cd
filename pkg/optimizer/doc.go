// Package optimizer runs query optimizer modules: untrusted WebAssembly
// (ABI v1) that rewrites kpiflow's structured query plans, sandboxed in
// wazero. It sees only query/plan.
//
//	eng, err := optimizer.NewEngine(ctx, optimizer.DefaultCacheDir()) // one per process
//	h, err := optimizer.New(ctx, optimizer.NewConfig().WithEngine(eng).
//		WithModules(optimizer.Module{Name: "tag", Path: "/var/lib/kpiflow/tag.wasm", SHA256: "3b1f…"}))
//	if err != nil { ... }
//	defer h.Close(ctx)
//	better, notices := h.Optimize(ctx, p, catalog) // never fails: a bad module leaves p as it was
//	for _, n := range notices { fmt.Println(n.Text()) }
//	steps := h.Steps() // the same chain as query.Rewriter steps
//
// The chain is the built-in module (pkg/optimizer/builtin, Go compiled to
// wasip1 and embedded), then the configured modules in order. Each module
// gets the plan the previous one returned, and the host checks every
// returned plan (plan.CheckRewriteIn: catalog tables and columns only, time
// range not widened, host filters kept, limit not raised, the aggregation
// answerable by the table) before the next one sees it.
//
// # Notes
//
//   - Modules compile once per process, in the background (an Engine
//     shared by every host, one host per data source instance); until a
//     module is ready the query runs without it and its notice says so.
//   - Each module keeps a pool of instances. A call has a memory cap
//     (16 MiB), a deadline (50 ms, enforced by wazero's
//     WithCloseOnContextDone) and a watchdog that stops waiting shortly
//     after; the request and response travel through the module's memory and
//     the response may be at most 1 MiB. An instance that traps, exits, runs
//     late or answers garbage is thrown away, never reused.
//   - Modules get no filesystem, network, clock, randomness or environment:
//     the only imports granted are inert wasi_snapshot_preview1 functions
//     (wasi.go) that a Go, Rust or TinyGo module needs to start.
//   - Failures in a row switch a module off for a while (a circuit breaker);
//     Health reports it, with every load error (a sha256 mismatch, a module
//     without ABI v1).
//   - docs/optimizer-modules.md is the module author's guide to ABI v1.
package optimizer
