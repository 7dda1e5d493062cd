package settings

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func TestParseDefaults(t *testing.T) {
	s, err := Parse([]byte(`{"host":"clickhouse"}`), map[string]string{"password": "pw"})
	require.NoError(t, err)
	require.Equal(t, Settings{
		Host: "clickhouse", Port: 9000, Protocol: ProtocolNative, Database: "kpiflow",
		Username: "default", Password: "pw", DialTimeout: DefaultDialTimeout,
		QueryTimeout: DefaultQueryTimeout, MaxRows: DefaultMaxRows, IngestRole: RoleEditor,
		MaxResultBytes: DefaultMaxResultBytes, PoolSize: DefaultPoolSize, MaxQueuedQueries: DefaultMaxQueuedQueries,
		CustomSettings: nil,
	}, s)
	require.Equal(t, "clickhouse:9000", s.Addr())
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name   string
		json   string
		secure map[string]string
		check  func(t *testing.T, s Settings)
	}{
		{"http default port", `{"host":"ch","protocol":"http"}`, nil, func(t *testing.T, s Settings) {
			require.Equal(t, 8123, s.Port)
		}},
		{"native tls default port", `{"host":"ch","secure":true}`, nil, func(t *testing.T, s Settings) {
			require.Equal(t, 9440, s.Port)
			require.True(t, s.TLS.Enabled)
		}},
		{"http tls default port", `{"host":"ch","protocol":"HTTP","secure":true}`, nil, func(t *testing.T, s Settings) {
			require.Equal(t, 8443, s.Port)
			require.Equal(t, ProtocolHTTP, s.Protocol)
		}},
		{"ipv6", `{"host":"::1","port":9001}`, nil, func(t *testing.T, s Settings) {
			require.Equal(t, "[::1]:9001", s.Addr())
		}},
		{"fractional timeouts", `{"host":"ch","dialTimeout":0.5,"queryTimeout":120}`, nil, func(t *testing.T, s Settings) {
			require.Equal(t, 500*time.Millisecond, s.DialTimeout)
			require.Equal(t, 2*time.Minute, s.QueryTimeout)
		}},
		{"tls material", `{"host":"ch","secure":true,"tlsAuthWithCACert":true,"tlsAuth":true}`,
			map[string]string{"tlsCACert": pem, "tlsClientCert": pem, "tlsClientKey": "-----BEGIN PRIVATE KEY-----\n"},
			func(t *testing.T, s Settings) {
				require.Equal(t, pem, s.TLS.CACert)
				require.Equal(t, pem, s.TLS.ClientCert)
			}},
		{"custom settings sorted", `{"host":"ch","customSettings":[{"setting":"max_threads","value":"2"},{"setting":"join_use_nulls","value":"1"}]}`, nil,
			func(t *testing.T, s Settings) {
				require.Equal(t, []CustomSetting{{"join_use_nulls", "1"}, {"max_threads", "2"}}, s.CustomSettings)
			}},
		{"limits and raw SQL reach", `{"host":"ch","maxResultBytes":1048576,"poolSize":32,"maxQueuedQueries":0,"rawSqlDatabases":["system"],"rawSqlFunctions":["url"]}`, nil,
			func(t *testing.T, s Settings) {
				require.Equal(t, int64(1<<20), s.MaxResultBytes)
				require.Equal(t, 32, s.PoolSize)
				require.Equal(t, 0, s.MaxQueuedQueries)
				require.Equal(t, []string{"system"}, s.RawSQLDatabases)
				require.Equal(t, []string{"url"}, s.RawSQLFunctions)
			}},
		{"cluster and retention", `{"host":"ch","cluster":"main","ingestRole":"Admin","retentionDays":{"kpi_samples":30}}`, nil,
			func(t *testing.T, s Settings) {
				require.Equal(t, "main", s.Cluster)
				require.Equal(t, RoleAdmin, s.IngestRole)
				require.Equal(t, 30, s.RetentionDays["kpi_samples"])
			}},
		// Saved before migration 4 dropped kpi_rollup_1m: the data source keeps working.
		{"retention of a retired table is ignored", `{"host":"ch","retentionDays":{"kpi_samples":30,"kpi_rollup_1m":14}}`, nil,
			func(t *testing.T, s Settings) {
				require.Equal(t, map[string]int{"kpi_samples": 30}, s.RetentionDays)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.json), tt.secure)
			require.NoError(t, err)
			tt.check(t, s)
		})
	}
}

func TestParseInvalidNamesField(t *testing.T) {
	tests := []struct {
		name   string
		json   string
		secure map[string]string
		field  string
		substr string
	}{
		{"no host", `{}`, nil, "jsonData.host", "required"},
		{"url as host", `{"host":"http://ch:9000"}`, nil, "jsonData.host", "without scheme"},
		{"port range", `{"host":"ch","port":70000}`, nil, "jsonData.port", "1 to 65535"},
		{"port as string", `{"host":"ch","port":"9000"}`, nil, "jsonData.port", "expected a number"},
		{"protocol", `{"host":"ch","protocol":"grpc"}`, nil, "jsonData.protocol", `"native" or "http"`},
		{"database", `{"host":"ch","database":"kpi-flow"}`, nil, "jsonData.database", "letters, digits"},
		{"dial timeout", `{"host":"ch","dialTimeout":0}`, nil, "jsonData.dialTimeout", "greater than 0"},
		{"query timeout", `{"host":"ch","queryTimeout":-1}`, nil, "jsonData.queryTimeout", "greater than 0"},
		{"max rows", `{"host":"ch","maxRows":0}`, nil, "jsonData.maxRows", "expected 1 to 10000000 rows, got 0"},
		// Issue 8.10: these passed validation, then every kpi query failed.
		{"max rows huge", `{"host":"ch","maxRows":9223372036854775807}`, nil, "jsonData.maxRows", "expected 1 to 10000000 rows"},
		{"max rows beyond int64", `{"host":"ch","maxRows":1e30}`, nil, "jsonData.maxRows", "expected a number"},
		{"query timeout huge", `{"host":"ch","queryTimeout":1e300}`, nil, "jsonData.queryTimeout", "at most 86400"},
		{"max result bytes small", `{"host":"ch","maxResultBytes":1000}`, nil, "jsonData.maxResultBytes", "expected 1048576 to 4294967296 bytes (1 MiB to 4 GiB), got 1000"},
		{"max result bytes huge", `{"host":"ch","maxResultBytes":9223372036854775807}`, nil, "jsonData.maxResultBytes", "got 9223372036854775807"},
		{"pool size", `{"host":"ch","poolSize":0}`, nil, "jsonData.poolSize", "expected 1 to 100 connections, got 0"},
		{"pool size huge", `{"host":"ch","poolSize":100000}`, nil, "jsonData.poolSize", "expected 1 to 100 connections"},
		{"queue negative", `{"host":"ch","maxQueuedQueries":-1}`, nil, "jsonData.maxQueuedQueries", "expected 0 to 100000 queries, got -1"},
		{"raw sql database", `{"host":"ch","rawSqlDatabases":["a.b"]}`, nil, "jsonData.rawSqlDatabases[0]", "database name"},
		{"raw sql function", `{"host":"ch","rawSqlFunctions":["url("]}`, nil, "jsonData.rawSqlFunctions[0]", "function name"},
		{"ca without tls", `{"host":"ch","tlsAuthWithCACert":true}`, map[string]string{"tlsCACert": pem}, "jsonData.tlsAuthWithCACert", "secure: true"},
		{"ca not pem", `{"host":"ch","secure":true,"tlsAuthWithCACert":true}`, map[string]string{"tlsCACert": "abc"}, "secureJsonData.tlsCACert", "PEM"},
		{"client key missing", `{"host":"ch","secure":true,"tlsAuth":true}`, map[string]string{"tlsClientCert": pem}, "secureJsonData.tlsClientKey", "PEM"},
		{"skip verify without tls", `{"host":"ch","tlsSkipVerify":true}`, nil, "jsonData.tlsSkipVerify", "secure: true"},
		{"custom setting name", `{"host":"ch","customSettings":[{"setting":"max threads","value":"1"}]}`, nil, "jsonData.customSettings[0].setting", "setting name"},
		{"custom setting twice", `{"host":"ch","customSettings":[{"setting":"a","value":"1"},{"setting":"a","value":"2"}]}`, nil, "jsonData.customSettings[1].setting", "twice"},
		{"custom readonly", `{"host":"ch","customSettings":[{"setting":"readonly","value":"0"}]}`, nil, "jsonData.customSettings[0].setting", "read-only"},
		{"custom value newline", `{"host":"ch","customSettings":[{"setting":"a","value":"1\n2"}]}`, nil, "jsonData.customSettings[0].value", "single line"},
		{"cluster", `{"host":"ch","cluster":"a b"}`, nil, "jsonData.cluster", "cluster name"},
		{"ingest role", `{"host":"ch","ingestRole":"Owner"}`, nil, "jsonData.ingestRole", "Viewer"},
		{"retention table", `{"host":"ch","retentionDays":{"users":3}}`, nil, "jsonData.retentionDays.users", "unknown table"},
		{"retention days", `{"host":"ch","retentionDays":{"kpi_samples":0}}`, nil, "jsonData.retentionDays.kpi_samples", "expected 1 to 36500 days, got 0"},
		// Issue 8.1: 999999 days overflowed the cutoff into the future.
		{"retention days huge", `{"host":"ch","retentionDays":{"kpi_samples":999999}}`, nil, "jsonData.retentionDays.kpi_samples", "expected 1 to 36500 days, got 999999"},
		{"unknown field", `{"host":"ch","hots":"x"}`, nil, "jsonData.hots", "unknown setting"},
		{"unknown secure", `{"host":"ch"}`, map[string]string{"passwd": "x"}, "secureJsonData.passwd", "unknown secure field"},
		{"not an object", `[1]`, nil, "jsonData", "expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json), tt.secure)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			var errs Errors
			require.True(t, errors.As(err, &errs))
			found := false
			for _, fe := range errs {
				if fe.Field == tt.field {
					require.Contains(t, fe.Message, tt.substr)
					found = true
				}
			}
			require.Truef(t, found, "no error for %s in %v", tt.field, err)
		})
	}
}

func TestParseReportsEveryField(t *testing.T) {
	_, err := Parse([]byte(`{"port":0,"protocol":"x"}`), nil)
	var errs Errors
	require.True(t, errors.As(err, &errs))
	require.Len(t, errs, 3)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"host":"ch","port":9000}`), "pw")
	f.Add([]byte(`{"host":"::1","customSettings":[{"setting":"a","value":"b"}]}`), "")
	f.Add([]byte(`{"host":"ch","secure":true,"tlsAuth":true,"retentionDays":{"kpi_samples":3}}`), pem)
	f.Fuzz(func(t *testing.T, raw []byte, secret string) {
		s, err := Parse(raw, map[string]string{"password": secret})
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is not a non-empty Errors: %v", err)
			}
			return
		}
		if s.Host == "" || s.Port < 1 || s.Port > 65535 || s.MaxRows < 1 || s.DialTimeout <= 0 || s.QueryTimeout <= 0 ||
			s.MaxResultBytes < MinMaxResultBytes || s.MaxResultBytes > MaxMaxResultBytes || s.PoolSize < 1 || s.PoolSize > MaxPoolSize ||
			s.MaxQueuedQueries < 0 || s.MaxQueuedQueries > MaxMaxQueuedQueries {
			t.Fatalf("accepted invalid settings: %+v", s)
		}
	})
}
