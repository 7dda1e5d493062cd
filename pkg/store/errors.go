package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/kpiflow/kpiflow/pkg/settings"
)

// Category is the kind of failure reaching ClickHouse, which decides the advice.
type Category string

// The failure categories, as reported by the health check.
const (
	CategoryUnreachable     Category = "unreachable"
	CategoryTLS             Category = "tls"
	CategoryAuthentication  Category = "authentication"
	CategoryUnknownDatabase Category = "unknown_database"
	CategoryTimeout         Category = "timeout"
	CategoryServer          Category = "server"
	// CategoryProtocol is a server that refuses the configured protocol.
	CategoryProtocol Category = "protocol"
	// CategoryBusy is every connection of the pool in use: the server is
	// up, kpiflow has as many queries running on it as it may.
	CategoryBusy Category = "busy"
)

// ClickHouse exception codes that decide a category.
const (
	codeUnknownDatabase   = 81
	codeUnknownUser       = 192
	codeWrongPassword     = 193
	codeRequiredPassword  = 194
	codeIPAddressNotAllow = 195
	codeAuthFailed        = 516
	codeTimeoutExceeded   = 159
	codeReadonly          = 164
	// A Distributed query found no replica of a shard that answers.
	codeAllConnectionTriesFailed = 279
)

// ConnError is a failure to reach or use ClickHouse, with advice for the user.
type ConnError struct {
	Category Category
	// Advice says what to change, in the config editor's terms.
	Advice string
	Err    error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("%s. %s", e.Err.Error(), e.Advice)
}

func (e *ConnError) Unwrap() error { return e.Err }

// Transient reports whether the same call may succeed later with the same
// settings (the server is down or slow). The other categories need a change
// of configuration: retrying them only repeats the failure.
func (e *ConnError) Transient() bool {
	return e.Category == CategoryUnreachable || e.Category == CategoryTimeout || e.Category == CategoryBusy
}

// Setting names the data source settings to change for a failure that is not
// transient ("" for transient ones).
func (e *ConnError) Setting() string {
	switch e.Category {
	case CategoryAuthentication:
		return "jsonData.username, secureJsonData.password"
	case CategoryUnknownDatabase:
		return "jsonData.database"
	case CategoryTLS:
		return "jsonData.secure, jsonData.port"
	case CategoryServer:
		return "jsonData.customSettings"
	case CategoryProtocol:
		return "jsonData.protocol"
	case CategoryBusy:
		return "jsonData.poolSize"
	}
	return ""
}

// Classify wraps err in a ConnError when it is a connection-level failure,
// and returns it unchanged otherwise (a bad query is not a connection problem).
func Classify(s settings.Settings, err error) error {
	if err == nil {
		return nil
	}
	var ce *ConnError
	if errors.As(err, &ce) {
		return err
	}
	addr := s.Addr()
	var busy *BusyError
	if errors.As(err, &busy) || errors.Is(err, clickhouse.ErrAcquireConnTimeout) {
		return &ConnError{CategoryBusy, fmt.Sprintf(
			"kpiflow is busy: all its connections to ClickHouse at %s are running queries: retry in a moment; "+
				"if this persists, raise the data source's Pool size (jsonData.poolSize, now %d) or Max queued queries "+
				"(jsonData.maxQueuedQueries), or lower how many panels and alert rules query at once", addr, s.PoolSize), err}
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		switch ex.Code {
		case codeUnknownDatabase:
			return &ConnError{CategoryUnknownDatabase, fmt.Sprintf(
				"The database %q does not exist on %s: create it (CREATE DATABASE %s) or change the Database setting", s.Database, addr, s.Database), err}
		case codeUnknownUser, codeWrongPassword, codeRequiredPassword, codeAuthFailed, codeIPAddressNotAllow:
			return &ConnError{CategoryAuthentication, fmt.Sprintf(
				"ClickHouse refused user %q: check the Username and Password settings, and that the user may connect from Grafana's address", s.Username), err}
		case codeTimeoutExceeded:
			return &ConnError{CategoryTimeout, "The query ran longer than the Query timeout setting allows: narrow the time range or raise the timeout", err}
		case codeAllConnectionTriesFailed:
			// Never answered from the other shards alone: a partial sum
			// would look like a real one.
			return &ConnError{CategoryUnreachable, shardDownAdvice(s.Cluster, 0), err}
		}
		return err
	}
	if strings.Contains(err.Error(), "client_protocol_version") {
		// clickhouse-go's HTTP transport sends this parameter; servers before
		// 23.3 (such as 18.16) answer "Unknown setting".
		return &ConnError{CategoryProtocol, fmt.Sprintf(
			"The ClickHouse server at %s refuses clickhouse-go's HTTP protocol (it does not know the client_protocol_version parameter, which ClickHouse understands from 23.3 on): set Protocol to native (port 9000, or 9440 with TLS), or upgrade the server", addr), err}
	}
	if name, ok := unsupportedSetting(err); ok {
		return &ConnError{CategoryServer, fmt.Sprintf(
			"This ClickHouse server takes settings only as whole numbers or true/false: change or remove %q in the data source's Custom settings (jsonData.customSettings)", name), err}
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &recErr) ||
		strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:") {
		return &ConnError{CategoryTLS, fmt.Sprintf(
			"The TLS handshake with %s failed: check that the port is ClickHouse's TLS port (9440 native, 8443 http), the CA certificate, and the server name, or turn TLS off if the server does not use it", addr), err}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || isNetTimeout(err) {
		return &ConnError{CategoryTimeout, fmt.Sprintf(
			"No answer from %s in time: check that a firewall does not drop the connection, or raise the Dial timeout and Query timeout settings%s", addr, restarting(s)), err}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &ConnError{CategoryUnreachable, fmt.Sprintf(
			"The host name %q does not resolve: check the Host setting", s.Host), err}
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.ECONNRESET) || isOpDial(err) ||
		strings.Contains(err.Error(), "connection refused") || closedByServer(err) {
		return &ConnError{CategoryUnreachable, fmt.Sprintf(
			"Nothing answers as ClickHouse at %s: check the Host and Port settings (native protocol: 9000, or 9440 with TLS; http: 8123, or 8443 with TLS) and that the server is running%s", addr, restarting(s)), err}
	}
	return err
}

// closedByServer reports whether the server closed the connection while the
// driver read from it (io.EOF in "failed to read ... packet"): a server
// shutting down does that to a handshake or query in flight (seen in the
// cluster suite's rolling restart).
func closedByServer(err error) bool {
	return errors.Is(err, io.EOF) && strings.Contains(err.Error(), "failed to read")
}

// shardDownAdvice says that no server of a shard (0: of one shard, which
// ClickHouse does not name) answers.
func shardDownAdvice(cluster string, shard int) string {
	which := "one shard"
	if shard > 0 {
		which = fmt.Sprintf("shard %d", shard)
	}
	return fmt.Sprintf("No server of %s of cluster %q answers, so ClickHouse cannot see all the data: retry when one of its replicas is back (the health check names the servers that do not answer)",
		which, cluster)
}

// restarting is the end of the advice for a server that does not answer: in
// a cluster it is often one being restarted, and a retry finds it back.
func restarting(s settings.Settings) string {
	if s.Cluster == "" {
		return ""
	}
	return fmt.Sprintf(". In cluster %s a server may be restarting: retry in a moment, or point the Host setting at a load balancer over the cluster's servers", s.Cluster)
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isOpDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// IsReadonly reports whether err is ClickHouse refusing a write in readonly mode.
func IsReadonly(err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == codeReadonly
}

// unsupportedSetting recognises clickhouse-go refusing to send a text-valued
// setting to an old server, and returns the setting's name.
func unsupportedSetting(err error) (string, bool) {
	msg := err.Error()
	i := strings.Index(msg, "query setting ")
	if i < 0 || !strings.Contains(msg, "has unsupported data type") {
		return "", false
	}
	name, _, _ := strings.Cut(msg[i+len("query setting "):], " ")
	return name, true
}
