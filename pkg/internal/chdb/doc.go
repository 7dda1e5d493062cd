// Package chdb runs SQL on chDB, ClickHouse as an embedded library
// (libchdb.so), so tests can check kpiflow's SQL on a current ClickHouse
// where no server can be run.
//
//	db, err := chdb.Open(libPath, t.TempDir())
//	defer db.Close()
//	res, err := db.Query("SELECT version()")
//	// res.Names, res.Types, res.Rows (cells as JSON)
//
// The library is chDB's npm platform package @chdb/lib-linux-x64-gnu, pinned
// in tests/chdb (npm ci --prefix tests/chdb puts it in
// tests/chdb/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so); it is loaded
// with purego, so no C compiler is needed.
//
// # Notes
//
// The engine runs inside the calling process. Open keeps the Go runtime's
// signal handlers: chDB would otherwise install its own for SIGSEGV and
// friends, and a Go nil dereference then hangs for minutes and kills the
// process instead of panicking. A query cannot be cancelled once started.
// The engine allows one open connection per process at a time.
package chdb
