package plugin

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"
)

// factory is the test binary's instance factory: one optimizer engine for
// every test, as in the plugin process.
var factory struct {
	sync.Once
	f   *Factory
	err error
}

func testFactory(t *testing.T) *Factory {
	factory.Do(func() { factory.f, factory.err = NewFactory(context.Background()) })
	require.NoError(t, factory.err)
	return factory.f
}

// newTestInstance makes an instance from jsonData, as the SDK would.
func newTestInstance(t *testing.T, jsonData map[string]any) *Instance {
	t.Helper()
	raw, err := json.Marshal(jsonData)
	require.NoError(t, err)
	im, err := testFactory(t).NewInstance(context.Background(), backend.DataSourceInstanceSettings{UID: "test", JSONData: raw})
	require.NoError(t, err)
	inst := im.(*Instance)
	t.Cleanup(inst.Dispose)
	return inst
}

// unusedPort is a loopback port nothing listens on.
func unusedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

func call(inst *Instance, role, method, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if role != "" {
		req = req.WithContext(backend.WithUser(req.Context(), &backend.User{Login: role, Role: role}))
	}
	rec := httptest.NewRecorder()
	newResourceMux(inst).ServeHTTP(rec, req)
	return rec
}

func TestAdminRoutes(t *testing.T) {
	unreachable := newTestInstance(t, map[string]any{"host": "127.0.0.1", "port": unusedPort(t), "dialTimeout": 1, "queryTimeout": 1})
	misconfigured := newTestInstance(t, map[string]any{"host": "127.0.0.1", "port": 0})
	tests := []struct {
		name     string
		inst     *Instance
		role     string
		method   string
		path     string
		status   int
		contains string
	}{
		{"viewer may not migrate", unreachable, "Viewer", http.MethodPost, "/admin/migrate", http.StatusForbidden,
			"POST /admin/migrate needs the Grafana role Admin; the caller's role is Viewer"},
		{"editor may not read the schema", unreachable, "Editor", http.MethodGet, "/admin/schema", http.StatusForbidden,
			"the caller's role is Editor"},
		{"no user", unreachable, "", http.MethodGet, "/admin/schema", http.StatusForbidden, "no signed-in user"},
		{"settings error", misconfigured, "Admin", http.MethodPost, "/admin/migrate", http.StatusBadRequest,
			"jsonData.port: expected a port number from 1 to 65535"},
		{"unreachable server", unreachable, "Admin", http.MethodPost, "/admin/migrate", http.StatusServiceUnavailable,
			"check the Host and Port settings"},
		{"unreachable server, schema", unreachable, "Admin", http.MethodGet, "/admin/schema", http.StatusServiceUnavailable,
			"could not read the schema"},
		{"wrong method", unreachable, "Admin", http.MethodGet, "/admin/migrate", http.StatusMethodNotAllowed, "GET /admin/migrate: use POST"},
		{"editor may not repair", unreachable, "Editor", http.MethodPost, "/admin/repair", http.StatusForbidden,
			"POST /admin/repair needs the Grafana role Admin"},
		{"repair with GET", unreachable, "Admin", http.MethodGet, "/admin/repair", http.StatusMethodNotAllowed, "use POST"},
		{"repair, settings error", misconfigured, "Admin", http.MethodPost, "/admin/repair", http.StatusBadRequest, "jsonData.port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := call(tt.inst, tt.role, tt.method, tt.path)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tt.contains)
			if tt.status == http.StatusServiceUnavailable {
				require.Equal(t, "30", rec.Header().Get("Retry-After"))
				require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestAutoMigrateDoesNotFailTheInstance(t *testing.T) {
	inst := newTestInstance(t, map[string]any{"host": "127.0.0.1", "port": unusedPort(t), "dialTimeout": 1, "queryTimeout": 1, "autoMigrate": true})
	// The unreachable server fails the migration in the background; the
	// instance exists, and the health check reports it.
	require.Eventually(t, func() bool {
		_, failed := inst.upkeep.HealthNote(false)
		return failed
	}, 30*time.Second, 50*time.Millisecond, "automatic migration did not end within its bound")
	note, _ := inst.upkeep.HealthNote(false)
	require.Contains(t, note, "Automatic migration failed (retrying in the background):")
	res, err := inst.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	require.NoError(t, err)
	require.Equal(t, backend.HealthStatusError, res.Status)
}

func TestMigrateWaitsForOtherSchemaWorkWithinItsContext(t *testing.T) {
	inst := newTestInstance(t, map[string]any{"host": "127.0.0.1", "port": unusedPort(t), "dialTimeout": 1, "queryTimeout": 1})
	require.NoError(t, inst.upkeep.Lock(context.Background())) // automatic migration or retention running
	defer inst.upkeep.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := httptest.NewRequest(http.MethodPost, "/admin/migrate", nil)
	req = req.WithContext(backend.WithUser(ctx, &backend.User{Login: "admin", Role: "Admin"}))
	rec := httptest.NewRecorder()
	newResourceMux(inst).ServeHTTP(rec, req)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "wait for other schema work")
	require.Contains(t, rec.Body.String(), `"applied":[]`)
}
