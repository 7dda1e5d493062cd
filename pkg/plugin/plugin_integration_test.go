//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

type healthDetails struct {
	Category      string `json:"category"`
	ServerVersion string `json:"serverVersion"`
	Schema        string `json:"schema"`
}

func details(t *testing.T, res *backend.CheckHealthResult) healthDetails {
	t.Helper()
	var d healthDetails
	require.NoError(t, json.Unmarshal(res.JSONDetails, &d))
	return d
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

func TestIntegrationHealthThroughPluginProtocol(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("ok reports version and missing schema", func(t *testing.T) {
		res := p.CheckHealth(ctx, t, p.DataSource(t, db.JSONData(), nil))
		require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
		require.Contains(t, res.Message, "Connected to ClickHouse 18.16")
		require.Contains(t, res.Message, "not installed")
		d := details(t, res)
		require.Equal(t, "missing", d.Schema)
		require.Regexp(t, `^\d+\.\d+\.\d+$`, d.ServerVersion)
	})

	failures := []struct {
		name     string
		jsonData func() map[string]any
		secure   map[string]string
		category string
		advice   string
	}{
		{"wrong port", func() map[string]any {
			jd := db.JSONData()
			jd["port"] = closedPort(t)
			return jd
		}, nil, "unreachable", "check the Host and Port settings"},
		{"wrong password", func() map[string]any {
			jd := db.JSONData()
			jd["username"] = chtest.PasswordUser
			return jd
		}, map[string]string{"password": "not-the-password"}, "authentication", "check the Username and Password settings"},
		{"unknown database", func() map[string]any {
			jd := db.JSONData()
			jd["database"] = "kpiflow_no_such_db"
			return jd
		}, nil, "unknown_database", `CREATE DATABASE kpiflow_no_such_db`},
		{"invalid settings", func() map[string]any {
			jd := db.JSONData()
			jd["port"] = 0
			return jd
		}, nil, "settings", "jsonData.port: expected a port number from 1 to 65535"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			res := p.CheckHealth(ctx, t, p.DataSource(t, tt.jsonData(), tt.secure))
			require.Equal(t, backend.HealthStatusError, res.Status)
			require.Contains(t, res.Message, tt.advice)
			require.Equal(t, tt.category, details(t, res).Category, res.Message)
		})
	}

	t.Run("right password", func(t *testing.T) {
		jd := db.JSONData()
		jd["username"] = chtest.PasswordUser
		res := p.CheckHealth(ctx, t, p.DataSource(t, jd, map[string]string{"password": chtest.Password}))
		require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
	})
	require.False(t, p.Exited(), "the plugin process must survive failing health checks")
}

func sqlQuery(refID, rawSQL string) backend.DataQuery {
	raw, _ := json.Marshal(map[string]string{"rawSql": rawSQL, "format": "table"})
	return backend.DataQuery{RefID: refID, QueryType: "sql", JSON: raw,
		TimeRange: backend.TimeRange{From: time.Now().Add(-time.Hour), To: time.Now()}}
}

func TestIntegrationQueryDataThroughPluginProtocol(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ds := p.DataSource(t, db.JSONData(), nil)

	resp := p.QueryData(ctx, t, ds, nil,
		sqlQuery("A", "SELECT number AS n, toString(number * 2) AS s FROM system.numbers LIMIT 3"),
		sqlQuery("B", "CREATE TABLE t (x UInt8) ENGINE = Memory"),
		backend.DataQuery{RefID: "C", QueryType: "nope", JSON: []byte(`{}`)},
	)
	a := resp.Responses["A"]
	require.NoError(t, a.Error)
	require.Len(t, a.Frames, 1)
	f := a.Frames[0]
	require.Equal(t, 3, f.Rows())
	require.Equal(t, uint64(2), f.Fields[0].At(2))
	require.Equal(t, "4", f.Fields[1].At(2))

	b := resp.Responses["B"]
	require.Error(t, b.Error, "raw SQL must run read-only")
	require.Equal(t, backend.ErrorSourceDownstream, b.ErrorSource)

	c := resp.Responses["C"]
	require.ErrorContains(t, c.Error, `queryType: unknown query type "nope"`)
}

// TestIntegrationHealthProtocolAndServerDown is issue 8.11's health part:
// protocol http against a server that refuses clickhouse-go's HTTP says so
// and names the setting; a server that went away after a good check is not
// reported as "connected".
func TestIntegrationHealthProtocolAndServerDown(t *testing.T) {
	p := plugintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if httpAddr := os.Getenv("CLICKHOUSE_HTTP_ADDR"); httpAddr != "" {
		db := chtest.NewDatabase(t)
		_, port, err := net.SplitHostPort(httpAddr)
		require.NoError(t, err)
		jd := db.JSONData()
		jd["protocol"] = "http"
		n, err := strconv.Atoi(port)
		require.NoError(t, err)
		jd["port"] = n
		res := p.CheckHealth(ctx, t, p.DataSource(t, jd, nil))
		require.Equal(t, backend.HealthStatusError, res.Status)
		require.Contains(t, res.Message, "refuses clickhouse-go's HTTP protocol")
		require.Contains(t, res.Message, "set Protocol to native")
		require.Contains(t, string(res.JSONDetails), `"category":"protocol"`)
	}

	srv := chtest.StartServer(t)
	db := srv.NewDatabase(t)
	ds := p.DataSource(t, db.JSONData(), nil)
	res := p.CheckHealth(ctx, t, ds)
	require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
	require.Contains(t, res.Message, "Connected to ClickHouse 18.16")
	require.NoError(t, srv.Kill())
	res = p.CheckHealth(ctx, t, ds)
	require.Equal(t, backend.HealthStatusError, res.Status)
	require.NotContains(t, strings.ToLower(res.Message), "connected")
	require.Contains(t, res.Message, "Nothing answers as ClickHouse")
	srv.Restart(t)
	res = p.CheckHealth(ctx, t, ds)
	require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
}
