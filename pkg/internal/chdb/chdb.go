//go:build linux

package chdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/ebitengine/purego"
)

// DB is one chDB connection (a clickhouse-local session with its data in a
// directory). Queries on one DB run one at a time.
type DB struct {
	mu   sync.Mutex
	conn unsafe.Pointer // chdb_connection* from chdb_connect
	lib  api
}

// api is the part of libchdb's C API this package calls.
type api struct {
	connect      func(argc int32, argv unsafe.Pointer) unsafe.Pointer
	closeConn    func(conn unsafe.Pointer)
	query        func(conn unsafe.Pointer, sql, format string) unsafe.Pointer
	resultBuffer func(res unsafe.Pointer) unsafe.Pointer
	resultLength func(res unsafe.Pointer) uintptr
	resultError  func(res unsafe.Pointer) unsafe.Pointer
	destroy      func(res unsafe.Pointer)
	setSignals   func(enabled int32)
}

// Open loads libchdb.so from libPath and opens a session keeping its
// databases in dir (which must exist). Extra arguments are clickhouse-local
// options such as "--config-file=...".
func Open(libPath, dir string, args ...string) (*DB, error) {
	if _, err := os.Stat(libPath); err != nil {
		return nil, fmt.Errorf("chDB library: %w (install it with npm ci --prefix tests/chdb, which brings @chdb/lib-linux-x64-gnu)", err)
	}
	h, err := purego.Dlopen(libPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load chDB library %s: %w", libPath, err)
	}
	var l api
	for name, fn := range map[string]any{
		"chdb_connect":                     &l.connect,
		"chdb_close_conn":                  &l.closeConn,
		"chdb_query":                       &l.query,
		"chdb_result_buffer":               &l.resultBuffer,
		"chdb_result_length":               &l.resultLength,
		"chdb_result_error":                &l.resultError,
		"chdb_destroy_query_result":        &l.destroy,
		"chdb_set_signal_handlers_enabled": &l.setSignals,
	} {
		sym, err := purego.Dlsym(h, name)
		if err != nil {
			return nil, fmt.Errorf("chDB library %s has no %s (chDB 26.3 or newer is needed): %w", libPath, name, err)
		}
		purego.RegisterFunc(fn, sym)
	}
	argv := append([]string{"clickhouse", "--path=" + dir}, args...)
	cargs := make([]*byte, len(argv)+1)
	for i, a := range argv {
		cargs[i] = cString(a)
	}
	var conn unsafe.Pointer
	keepGoSignalHandlers(func() {
		// Without this the engine installs its own handlers for SIGSEGV,
		// SIGBUS and others on connect; disabling them also resets those
		// signals to SIG_DFL, hence the save and restore around both calls.
		l.setSignals(0)
		conn = l.connect(int32(len(argv)), unsafe.Pointer(&cargs[0]))
	})
	if conn == nil || *(*unsafe.Pointer)(conn) == nil {
		return nil, fmt.Errorf("open chDB session in %s: chdb_connect failed (is another session open in this process?)", dir)
	}
	return &DB{conn: conn, lib: l}, nil
}

// Result is a query's answer.
type Result struct {
	// Names and Types are the columns' names and ClickHouse types.
	Names, Types []string
	// Rows hold each cell as ClickHouse's JSON text for it
	// (JSONCompactEachRow; 64-bit integers are quoted strings).
	Rows [][]json.RawMessage
}

// Query runs one statement and returns its result (empty for statements
// that return none). A ClickHouse error comes back as an error holding the
// server's message, with its code.
func (db *DB) Query(sql string) (*Result, error) {
	out, err := db.Raw(sql, "JSONCompactEachRowWithNamesAndTypes")
	if err != nil {
		return nil, err
	}
	res := &Result{}
	dec := json.NewDecoder(bytes.NewReader(out))
	var line []json.RawMessage
	for i := 0; ; i++ {
		line = nil
		if err := dec.Decode(&line); errors.Is(err, io.EOF) {
			return res, nil
		} else if err != nil {
			return nil, fmt.Errorf("read chDB result line %d: %w", i+1, err)
		}
		switch i {
		case 0, 1:
			names := make([]string, len(line))
			for k, c := range line {
				if err := json.Unmarshal(c, &names[k]); err != nil {
					return nil, fmt.Errorf("read chDB result header: %w", err)
				}
			}
			if i == 0 {
				res.Names = names
			} else {
				res.Types = names
			}
		default:
			res.Rows = append(res.Rows, line)
		}
	}
}

// Raw runs one statement and returns its output in a ClickHouse format
// (such as "TabSeparated" or "JSONEachRow").
func (db *DB) Raw(sql, format string) ([]byte, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.conn == nil {
		return nil, errors.New("chDB session is closed")
	}
	res := db.lib.query(*(*unsafe.Pointer)(db.conn), sql, format)
	if res == nil {
		return nil, errors.New("chDB returned no result (out of memory?)")
	}
	defer db.lib.destroy(res)
	if e := db.lib.resultError(res); e != nil {
		return nil, &Error{Message: goString(e)}
	}
	n := db.lib.resultLength(res)
	if n == 0 {
		return nil, nil
	}
	return bytes.Clone(unsafe.Slice((*byte)(db.lib.resultBuffer(res)), n)), nil
}

// Close ends the session. Its data directory is left for the caller.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.conn != nil {
		db.lib.closeConn(db.conn)
		db.conn = nil
	}
	return nil
}

// Error is a failed statement: ClickHouse's message, starting "Code: N."
type Error struct{ Message string }

func (e *Error) Error() string { return "chDB: " + e.Message }

func cString(s string) *byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return &b[0]
}

func goString(p unsafe.Pointer) string {
	n := 0
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n))
}

// keepGoSignalHandlers runs fn and then puts back every signal disposition
// the process had before it (the kernel's struct, copied as bytes).
func keepGoSignalHandlers(fn func()) {
	const nsig = 65
	var saved [nsig][64]byte
	for sig := 1; sig < nsig; sig++ {
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&saved[sig])), 8, 0, 0)
	}
	fn()
	for sig := 1; sig < nsig; sig++ {
		if sig == int(syscall.SIGKILL) || sig == int(syscall.SIGSTOP) {
			continue
		}
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&saved[sig])), 0, 8, 0, 0)
	}
}
