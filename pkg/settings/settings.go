package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kpiflow/kpiflow/pkg/jsonstrict"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// Protocol is the ClickHouse wire protocol.
type Protocol string

// The protocols kpiflow speaks to ClickHouse.
const (
	ProtocolNative Protocol = "native"
	ProtocolHTTP   Protocol = "http"
)

// Grafana organisation roles, lowest first, as used by IngestRole.
const (
	RoleViewer = "Viewer"
	RoleEditor = "Editor"
	RoleAdmin  = "Admin"
)

// Defaults applied by Parse when a field is absent.
const (
	DefaultDatabase     = "kpiflow"
	DefaultUsername     = "default"
	DefaultDialTimeout  = 10 * time.Second
	DefaultQueryTimeout = 60 * time.Second
	DefaultMaxRows      = 1_000_000
	DefaultIngestRole   = RoleEditor
	// DefaultMaxResultBytes caps one query's result at 128 MiB of
	// ClickHouse's native encoding: a million rows of a dozen numbers and
	// short strings fit, and the plugin's memory per query stays a small
	// multiple of it.
	DefaultMaxResultBytes = 128 << 20
	// DefaultPoolSize is the number of connections queries share. A
	// dashboard's panels each hold one while their query runs.
	DefaultPoolSize = 10
	// DefaultMaxQueuedQueries bounds the queries waiting for one of them;
	// past it a query is answered "busy" at once.
	DefaultMaxQueuedQueries = 1000
)

// Bounds of the numeric settings. Every number a user sets is checked
// against one of these, so none can overflow the arithmetic done with it
// (a row limit plus one, a number of days times 24 hours).
const (
	// MaxMaxRows caps jsonData.maxRows: a Grafana response beyond it is
	// unusable in a browser anyway.
	MaxMaxRows = 10_000_000
	// MaxRetentionDays caps jsonData.retentionDays (100 years).
	MaxRetentionDays = 36_500
	// MaxTimeoutSeconds caps jsonData.dialTimeout and jsonData.queryTimeout.
	MaxTimeoutSeconds = 86_400
	// MinMaxResultBytes and MaxMaxResultBytes bound jsonData.maxResultBytes
	// (1 MiB to 4 GiB).
	MinMaxResultBytes = 1 << 20
	MaxMaxResultBytes = 4 << 30
	// MaxPoolSize caps jsonData.poolSize: each connection is a ClickHouse
	// session and may run a query (ClickHouse's own max_concurrent_queries
	// is 100 by default).
	MaxPoolSize = 100
	// MaxMaxQueuedQueries caps jsonData.maxQueuedQueries.
	MaxMaxQueuedQueries = 100_000
)

// CustomSetting is one ClickHouse session setting sent with every query.
type CustomSetting struct {
	Setting string `json:"setting"`
	Value   string `json:"value"`
}

// TLS holds the transport security settings. Certificates and the key are
// PEM text from secureJsonData.
type TLS struct {
	Enabled    bool
	SkipVerify bool
	CACert     string
	ClientCert string
	ClientKey  string
}

// Settings is a validated data source configuration.
type Settings struct {
	Host         string
	Port         int
	Protocol     Protocol
	Database     string
	Username     string
	Password     string
	TLS          TLS
	DialTimeout  time.Duration
	QueryTimeout time.Duration
	MaxRows      int
	// MaxResultBytes caps the bytes one query's result may take as
	// ClickHouse sends it (its native encoding); more is cut with a notice.
	MaxResultBytes int64
	// PoolSize is the number of connections queries run on at once.
	PoolSize int
	// MaxQueuedQueries is how many queries may wait for a connection; past
	// it, and past the Query timeout of waiting, a query is answered busy.
	MaxQueuedQueries int
	// RawSQLDatabases are databases raw SQL may read besides Database.
	RawSQLDatabases []string
	// RawSQLFunctions are functions and table functions raw SQL may use
	// although they reach files, the network or other servers (url, …).
	RawSQLFunctions []string
	// CustomSettings are ClickHouse session settings, sorted by name.
	CustomSettings []CustomSetting
	// AutoMigrate applies pending schema migrations when the instance starts.
	AutoMigrate bool
	// Cluster, when set, makes DDL run ON CLUSTER with replicated tables.
	Cluster string
	// IngestRole is the lowest Grafana role allowed to call the ingest API.
	IngestRole string
	// RetentionDays maps a table name to the number of days its rows are kept.
	RetentionDays map[string]int
	// OptimizerModules are the query optimizer modules after the built-in
	// one, in chain order (optimizer.go).
	OptimizerModules []OptimizerModule
}

// Addr is host:port, with IPv6 hosts bracketed.
func (s Settings) Addr() string {
	if strings.Contains(s.Host, ":") {
		return fmt.Sprintf("[%s]:%d", s.Host, s.Port)
	}
	return fmt.Sprintf("%s:%d", s.Host, s.Port)
}

// jsonData mirrors the config editor's jsonData. Pointers tell an absent
// field from a zero one, so defaults apply only to what was left out.
type jsonData struct {
	Host              string            `json:"host"`
	Port              *int              `json:"port"`
	Protocol          string            `json:"protocol"`
	Database          string            `json:"database"`
	Username          string            `json:"username"`
	Secure            bool              `json:"secure"`
	TLSSkipVerify     bool              `json:"tlsSkipVerify"`
	TLSAuthWithCACert bool              `json:"tlsAuthWithCACert"`
	TLSAuth           bool              `json:"tlsAuth"`
	DialTimeout       *float64          `json:"dialTimeout"`
	QueryTimeout      *float64          `json:"queryTimeout"`
	MaxRows           *int              `json:"maxRows"`
	MaxResultBytes    *int64            `json:"maxResultBytes"`
	PoolSize          *int              `json:"poolSize"`
	MaxQueuedQueries  *int              `json:"maxQueuedQueries"`
	RawSQLDatabases   []string          `json:"rawSqlDatabases"`
	RawSQLFunctions   []string          `json:"rawSqlFunctions"`
	CustomSettings    []CustomSetting   `json:"customSettings"`
	AutoMigrate       bool              `json:"autoMigrate"`
	Cluster           string            `json:"cluster"`
	IngestRole        string            `json:"ingestRole"`
	RetentionDays     map[string]int    `json:"retentionDays"`
	OptimizerModules  []json.RawMessage `json:"optimizerModules"`
}

// FieldError is a setting that failed validation; Field is the setting's
// path as a user sees it, such as "jsonData.port".
type FieldError = jsonstrict.FieldError

// Errors is every FieldError found in one Parse call.
type Errors []*FieldError

func (e Errors) Error() string {
	msgs := make([]string, len(e))
	for i, fe := range e {
		msgs[i] = fe.Error()
	}
	return "invalid data source settings: " + strings.Join(msgs, "; ")
}

// ErrInvalid is matched by errors.Is for any validation failure.
var ErrInvalid = errors.New("invalid data source settings")

func (e Errors) Is(target error) bool { return target == ErrInvalid }

// Known secureJsonData keys; anything else is reported, since a typo there
// would otherwise silently drop a secret.
var secureKeys = []string{"password", "tlsCACert", "tlsClientCert", "tlsClientKey"}

var (
	identRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hostRe    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.\-_]*[A-Za-z0-9])?$`)
	settingRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// Parse decodes jsonData and secureJsonData, applies defaults and validates.
// The error, when not nil, is an Errors listing every bad field.
func Parse(raw []byte, secure map[string]string) (Settings, error) {
	var jd jsonData
	var errs Errors
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := jsonstrict.Decode(raw, &jd, jsonstrict.Options{Root: "jsonData", Prefix: "jsonData.", Unknown: "unknown setting"}); err != nil {
			var fe *FieldError
			errors.As(err, &fe)
			return Settings{}, Errors{fe}
		}
	}
	s := Settings{
		Host:           strings.TrimSpace(jd.Host),
		Protocol:       Protocol(strings.ToLower(jd.Protocol)),
		Database:       jd.Database,
		Username:       jd.Username,
		Password:       secure["password"],
		CustomSettings: slices.Clone(jd.CustomSettings),
		AutoMigrate:    jd.AutoMigrate,
		Cluster:        jd.Cluster,
		IngestRole:     jd.IngestRole,
		RetentionDays:  jd.RetentionDays,
		TLS: TLS{
			Enabled:    jd.Secure,
			SkipVerify: jd.TLSSkipVerify,
		},
	}
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	switch {
	case s.Host == "":
		add("jsonData.host", "required: the ClickHouse server's host name or IP address, such as clickhouse or 10.0.0.5")
	case strings.Contains(s.Host, "://") || strings.ContainsAny(s.Host, "/ "):
		add("jsonData.host", "expected a bare host name or IP address without scheme, path or port, got %q", s.Host)
	case !hostRe.MatchString(strings.Trim(s.Host, "[]")) && !strings.Contains(s.Host, ":"):
		add("jsonData.host", "expected a host name or IP address, got %q", s.Host)
	}
	s.Host = strings.Trim(s.Host, "[]")

	switch s.Protocol {
	case "":
		s.Protocol = ProtocolNative
	case ProtocolNative, ProtocolHTTP:
	default:
		add("jsonData.protocol", "expected \"native\" or \"http\", got %q", jd.Protocol)
	}

	if jd.Port == nil {
		s.Port = defaultPort(s.Protocol, s.TLS.Enabled)
	} else if *jd.Port < 1 || *jd.Port > 65535 {
		add("jsonData.port", "expected a port number from 1 to 65535, got %d", *jd.Port)
	} else {
		s.Port = *jd.Port
	}

	if s.Database == "" {
		s.Database = DefaultDatabase
	} else if !identRe.MatchString(s.Database) {
		add("jsonData.database", "expected a database name of letters, digits and underscores, got %q", s.Database)
	}
	if s.Username == "" {
		s.Username = DefaultUsername
	}

	if jd.TLSAuthWithCACert {
		s.TLS.CACert = secure["tlsCACert"]
		if !s.TLS.Enabled {
			add("jsonData.tlsAuthWithCACert", "needs jsonData.secure: true (a CA certificate is only used with TLS)")
		}
		if !isPEM(s.TLS.CACert) {
			add("secureJsonData.tlsCACert", "expected a PEM certificate (-----BEGIN CERTIFICATE-----) because tlsAuthWithCACert is on")
		}
	}
	if jd.TLSAuth {
		s.TLS.ClientCert, s.TLS.ClientKey = secure["tlsClientCert"], secure["tlsClientKey"]
		if !s.TLS.Enabled {
			add("jsonData.tlsAuth", "needs jsonData.secure: true (a client certificate is only used with TLS)")
		}
		if !isPEM(s.TLS.ClientCert) {
			add("secureJsonData.tlsClientCert", "expected a PEM certificate because tlsAuth is on")
		}
		if !isPEM(s.TLS.ClientKey) {
			add("secureJsonData.tlsClientKey", "expected a PEM private key because tlsAuth is on")
		}
	}
	if jd.TLSSkipVerify && !s.TLS.Enabled {
		add("jsonData.tlsSkipVerify", "needs jsonData.secure: true")
	}

	s.DialTimeout = seconds(jd.DialTimeout, DefaultDialTimeout, "jsonData.dialTimeout", add)
	s.QueryTimeout = seconds(jd.QueryTimeout, DefaultQueryTimeout, "jsonData.queryTimeout", add)

	s.MaxRows = DefaultMaxRows
	if jd.MaxRows != nil && inRange("jsonData.maxRows", "rows", *jd.MaxRows, 1, MaxMaxRows, add) {
		s.MaxRows = *jd.MaxRows
	}

	s.MaxResultBytes = DefaultMaxResultBytes
	if jd.MaxResultBytes != nil {
		if v := *jd.MaxResultBytes; v < MinMaxResultBytes || v > MaxMaxResultBytes {
			add("jsonData.maxResultBytes", "expected %d to %d bytes (1 MiB to 4 GiB), got %d", MinMaxResultBytes, int64(MaxMaxResultBytes), v)
		} else {
			s.MaxResultBytes = v
		}
	}
	s.PoolSize = DefaultPoolSize
	if jd.PoolSize != nil && inRange("jsonData.poolSize", "connections", *jd.PoolSize, 1, MaxPoolSize, add) {
		s.PoolSize = *jd.PoolSize
	}
	s.MaxQueuedQueries = DefaultMaxQueuedQueries
	if jd.MaxQueuedQueries != nil && inRange("jsonData.maxQueuedQueries", "queries", *jd.MaxQueuedQueries, 0, MaxMaxQueuedQueries, add) {
		s.MaxQueuedQueries = *jd.MaxQueuedQueries
	}
	s.RawSQLDatabases = names("jsonData.rawSqlDatabases", "a database name", jd.RawSQLDatabases, add)
	s.RawSQLFunctions = names("jsonData.rawSqlFunctions", "a function name such as url", jd.RawSQLFunctions, add)

	seen := map[string]bool{}
	for i, cs := range s.CustomSettings {
		field := fmt.Sprintf("jsonData.customSettings[%d]", i)
		switch {
		case !settingRe.MatchString(cs.Setting):
			add(field+".setting", "expected a ClickHouse setting name such as max_threads, got %q", cs.Setting)
		case seen[cs.Setting]:
			add(field+".setting", "%q is set twice", cs.Setting)
		case cs.Setting == "readonly":
			add(field+".setting", "readonly is managed by kpiflow (raw SQL always runs read-only)")
		}
		seen[cs.Setting] = true
		if strings.ContainsAny(cs.Value, "\x00\n\r") {
			add(field+".value", "must be a single line of text")
		}
	}
	sort.SliceStable(s.CustomSettings, func(i, j int) bool { return s.CustomSettings[i].Setting < s.CustomSettings[j].Setting })

	if s.Cluster != "" && !identRe.MatchString(s.Cluster) {
		add("jsonData.cluster", "expected a cluster name of letters, digits and underscores as in remote_servers, got %q", s.Cluster)
	}

	switch s.IngestRole {
	case "":
		s.IngestRole = DefaultIngestRole
	case RoleViewer, RoleEditor, RoleAdmin:
	default:
		add("jsonData.ingestRole", "expected \"Viewer\", \"Editor\" or \"Admin\", got %q", s.IngestRole)
	}

	retentionTables := schema.RetentionTables()
	for _, table := range sortedKeys(s.RetentionDays) {
		days := s.RetentionDays[table]
		field := "jsonData.retentionDays." + table
		if slices.ContainsFunc(schema.RetiredTables(), func(t schema.Table) bool { return t.Name == table }) {
			// Saved when the table existed: ignored, so that a data source
			// keeps working after the migration that drops the table.
			delete(s.RetentionDays, table)
			continue
		}
		if !slices.Contains(retentionTables, table) {
			add(field, "unknown table; retention can be set for %s", strings.Join(retentionTables, ", "))
		} else {
			inRange(field, "days", days, 1, MaxRetentionDays, add)
		}
	}

	s.OptimizerModules = parseOptimizerModules(jd.OptimizerModules, add)

	for _, key := range sortedKeys(secure) {
		if !slices.Contains(secureKeys, key) {
			add("secureJsonData."+key, "unknown secure field; expected one of %s", strings.Join(secureKeys, ", "))
		}
	}

	if len(errs) > 0 {
		return Settings{}, errs
	}
	return s, nil
}

func defaultPort(p Protocol, tls bool) int {
	switch {
	case p == ProtocolHTTP && tls:
		return 8443
	case p == ProtocolHTTP:
		return 8123
	case tls:
		return 9440
	default:
		return 9000
	}
}

func seconds(v *float64, def time.Duration, field string, add func(string, string, ...any)) time.Duration {
	if v == nil {
		return def
	}
	if !(*v > 0 && *v <= MaxTimeoutSeconds) { // also refuses NaN
		add(field, "expected a number of seconds greater than 0 and at most %d, got %v", MaxTimeoutSeconds, *v)
		return 0
	}
	return time.Duration(*v * float64(time.Second))
}

// inRange reports whether v is within [lo, hi], adding an error naming the
// field and the allowed range when it is not.
func inRange(field, unit string, v, lo, hi int, add func(string, string, ...any)) bool {
	if v < lo || v > hi {
		add(field, "expected %d to %d %s, got %d", lo, hi, unit, v)
		return false
	}
	return true
}

// names checks a list of identifiers and returns a copy of it.
func names(field, what string, list []string, add func(string, string, ...any)) []string {
	for i, n := range list {
		if !identRe.MatchString(n) {
			add(fmt.Sprintf("%s[%d]", field, i), "expected %s (letters, digits and underscores), got %q", what, n)
		}
	}
	return slices.Clone(list)
}

func isPEM(s string) bool {
	return strings.Contains(s, "-----BEGIN ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
