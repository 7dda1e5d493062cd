// Package plugintest runs gpx_kpiflow the way Grafana does and calls it as
// Grafana would: it builds the binary, starts it with hashicorp/go-plugin's
// handshake (the SDK's protocol version and magic cookie) and speaks the SDK's
// pluginv2 gRPC services to it.
//
//	p := plugintest.Start(t)
//	ds := p.DataSource(db.JSONData(), nil) // a configured data source
//	res := p.CheckHealth(ctx, t, ds)
//	resp := p.QueryData(ctx, t, ds, backend.DataQuery{RefID: "A", QueryType: "sql", JSON: ...})
//
// Set KPIFLOW_PLUGIN_BIN to test an already-built binary (scripts/test.sh
// does, with the one in dist/); otherwise the test builds ./pkg once.
// Programs that are not tests (the benchmark in pkg/internal/bench) use Build,
// Launch and NewDataSource, and call the gRPC clients directly.
package plugintest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/kpiflow/kpiflow/pkg/optimizer"
)

// PluginID is the data source plugin's id.
const PluginID = "kpiflow-clickhouse-datasource"

// Plugin is a running gpx_kpiflow process with gRPC clients to it.
type Plugin struct {
	client      *goplugin.Client
	pid         int
	Data        pluginv2.DataClient
	Diagnostics pluginv2.DiagnosticsClient
	Resource    pluginv2.ResourceClient
	Stream      pluginv2.StreamClient
}

// Start builds (or reuses) gpx_kpiflow, starts it and stops it when t ends.
func Start(t testing.TB) *Plugin {
	t.Helper()
	bin := os.Getenv("KPIFLOW_PLUGIN_BIN")
	if bin == "" {
		var err error
		if bin, err = Build(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	p, err := Launch(Options{Binary: bin, Log: testWriter{t}, LogLevel: hclog.Warn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// Options start a plugin process outside a test (Launch).
type Options struct {
	// Binary is the gpx_kpiflow executable (Build makes one).
	Binary string
	// Env is added to the process's environment, e.g. the SDK's
	// GF_PLUGIN_PROFILING_ENABLED=true and GF_PLUGIN_PROFILING_PORT.
	Env []string
	// Log receives the plugin's log lines at LogLevel and above (default: discarded).
	Log      io.Writer
	LogLevel hclog.Level
}

// Launch starts a plugin process as Grafana does and connects to it; the
// caller ends it with Kill. Tests use Start; Launch is for programs such as
// the benchmark in pkg/internal/bench.
func Launch(o Options) (*Plugin, error) {
	cmd := exec.Command(o.Binary)
	// Grafana passes its version and the plugin's to the process.
	cmd.Env = append(append(os.Environ(), "GF_VERSION=12.4.0", "GF_EDITION=oss", "GF_PLUGIN_VERSION=dev"), o.Env...)
	logOut := o.Log
	if logOut == nil {
		logOut = io.Discard
	}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{grpcplugin.ProtocolVersion: {}},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     30 * time.Second,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "gpx_kpiflow", Level: o.LogLevel, Output: logOut}),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("start %s with Grafana's plugin handshake: %w", o.Binary, err)
	}
	gc, ok := rpc.(*goplugin.GRPCClient)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("plugin answered with %T, not gRPC", rpc)
	}
	p := &Plugin{
		client:      client,
		pid:         cmd.Process.Pid,
		Data:        pluginv2.NewDataClient(gc.Conn),
		Diagnostics: pluginv2.NewDiagnosticsClient(gc.Conn),
		Resource:    pluginv2.NewResourceClient(gc.Conn),
		Stream:      pluginv2.NewStreamClient(gc.Conn),
	}
	if err := p.awaitOptimizer(); err != nil {
		client.Kill()
		return nil, err
	}
	return p, nil
}

// awaitOptimizer waits until the process has compiled the built-in
// optimizer module (it starts in the background with the process): a data
// source's health check waits for its modules, and a data source created
// later finds the built-in module ready. Without that, a test's first
// queries could run before the module and read other tables.
func (p *Plugin) awaitOptimizer() error {
	// Settings that validate; nothing needs to answer at that port.
	ds, err := NewDataSource(map[string]any{"host": "127.0.0.1", "port": 1, "dialTimeout": 1, "queryTimeout": 1}, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := p.Diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{
		PluginContext: backend.ToProto().PluginContext(ds.PluginContext()),
	}); err != nil {
		return fmt.Errorf("wait for the optimizer modules (CheckHealth over gRPC): %w", err)
	}
	return nil
}

// Exited reports whether the plugin process has ended (it should not, even
// after bad input).
func (p *Plugin) Exited() bool { return p.client.Exited() }

// Pid is the plugin process's id, for reading its /proc figures.
func (p *Plugin) Pid() int { return p.pid }

// Kill ends the plugin process.
func (p *Plugin) Kill() { p.client.Kill() }

// Build compiles gpx_kpiflow from this module's ./pkg into dir and returns
// its path. It builds the built-in optimizer module first (mage wasm) when
// this checkout has not, since the binary embeds it.
func Build(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "pkg/optimizer", optimizer.BuiltinPath)); err != nil {
		cmd := exec.Command("go", "run", "github.com/magefile/mage", "wasm")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build the built-in optimizer module (mage wasm): %w\n%s", err, b)
		}
	}
	out := filepath.Join(dir, "gpx_kpiflow_"+runtime.GOOS+"_"+runtime.GOARCH)
	cmd := exec.Command("go", "build", "-o", out, "./pkg")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build gpx_kpiflow: %w\n%s", err, b)
	}
	return out, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root (go env GOMOD): %w", err)
	}
	return filepath.Dir(string(bytes.TrimSpace(out))), nil
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}

// DataSource describes a configured data source, as Grafana holds it.
type DataSource struct {
	Settings backend.DataSourceInstanceSettings
	// User is the signed-in user the calls are made for (an Editor by default).
	User *backend.User
}

// DataSource returns a new data source (with its own UID, so its own plugin
// instance) with the given jsonData and secureJsonData.
func (p *Plugin) DataSource(t testing.TB, jsonData map[string]any, secure map[string]string) DataSource {
	t.Helper()
	ds, err := NewDataSource(jsonData, secure)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// NewDataSource is DataSource outside a test.
func NewDataSource(jsonData map[string]any, secure map[string]string) (DataSource, error) {
	raw, err := json.Marshal(jsonData)
	if err != nil {
		return DataSource{}, fmt.Errorf("encode jsonData: %w", err)
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	uid := "kpiflow-" + hex.EncodeToString(buf)
	return DataSource{
		Settings: backend.DataSourceInstanceSettings{
			ID: 1, UID: uid, Name: uid, Type: PluginID, JSONData: raw,
			DecryptedSecureJSONData: secure, Updated: time.Now(),
		},
		User: &backend.User{Login: "editor", Name: "Editor", Email: "editor@example.com", Role: "Editor"},
	}, nil
}

// WithRole returns a copy of ds whose calls are made by a user of role.
func (ds DataSource) WithRole(role string) DataSource {
	u := *ds.User
	u.Login, u.Role = role, role
	ds.User = &u
	return ds
}

// PluginContext is what Grafana sends with every call to this data source.
func (ds DataSource) PluginContext() backend.PluginContext {
	s := ds.Settings
	return backend.PluginContext{
		OrgID: 1, PluginID: PluginID, User: ds.User, DataSourceInstanceSettings: &s,
		GrafanaConfig: backend.NewGrafanaCfg(map[string]string{}),
	}
}

// CheckHealth calls the Diagnostics service's CheckHealth.
func (p *Plugin) CheckHealth(ctx context.Context, t testing.TB, ds DataSource) *backend.CheckHealthResult {
	t.Helper()
	resp, err := p.Diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{
		PluginContext: backend.ToProto().PluginContext(ds.PluginContext()),
	})
	if err != nil {
		t.Fatalf("CheckHealth over gRPC: %v", err)
	}
	return backend.FromProto().CheckHealthResponse(resp)
}

// QueryData calls the Data service's QueryData. headers are Grafana's request
// headers, such as "FromAlert": "true" for an alert rule's evaluation.
func (p *Plugin) QueryData(ctx context.Context, t testing.TB, ds DataSource, headers map[string]string, queries ...backend.DataQuery) *backend.QueryDataResponse {
	t.Helper()
	req := &backend.QueryDataRequest{PluginContext: ds.PluginContext(), Headers: headers, Queries: queries}
	resp, err := p.Data.QueryData(ctx, ToProtoQueryData(req))
	if err != nil {
		t.Fatalf("QueryData over gRPC: %v", err)
	}
	out, err := backend.FromProto().QueryDataResponse(resp)
	if err != nil {
		t.Fatalf("decode QueryData response: %v", err)
	}
	return out
}

// ToProtoQueryData converts a request as Grafana sends it: time ranges as
// Unix milliseconds (the SDK's own conversion goes through nanoseconds,
// which overflow past 2262), and an unset (zero) time as 0.
func ToProtoQueryData(req *backend.QueryDataRequest) *pluginv2.QueryDataRequest {
	out := backend.ToProto().QueryDataRequest(req)
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	for i, q := range req.Queries {
		out.Queries[i].TimeRange.FromEpochMS = ms(q.TimeRange.From)
		out.Queries[i].TimeRange.ToEpochMS = ms(q.TimeRange.To)
	}
	return out
}

// Response is a resource call's answer.
type Response struct {
	Status  int
	Headers map[string][]string
	Body    []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode resource response (status %d) %q: %v", r.Status, r.Body, err)
	}
}

// CallResource calls the Resource service as Grafana does for
// /api/datasources/uid/<uid>/resources/<path>.
func (p *Plugin) CallResource(ctx context.Context, t testing.TB, ds DataSource, method, path string, headers map[string]string, body []byte) Response {
	t.Helper()
	out, err := p.Call(ctx, ds, method, path, headers, body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Call is CallResource outside a test.
func (p *Plugin) Call(ctx context.Context, ds DataSource, method, path string, headers map[string]string, body []byte) (Response, error) {
	hdr := map[string][]string{}
	for k, v := range headers {
		hdr[k] = []string{v}
	}
	// As Grafana does: Path is the route alone, URL carries the query string.
	route, _, _ := strings.Cut(path, "?")
	req := &backend.CallResourceRequest{
		PluginContext: ds.PluginContext(), Path: route, Method: method,
		URL: "/api/datasources/uid/" + ds.Settings.UID + "/resources/" + path, Headers: hdr, Body: body,
	}
	stream, err := p.Resource.CallResource(ctx, backend.ToProto().CallResourceRequest(req))
	if err != nil {
		return Response{}, fmt.Errorf("CallResource %s %s over gRPC: %w", method, path, err)
	}
	var out Response
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Response{}, fmt.Errorf("CallResource %s %s: receive: %w", method, path, err)
		}
		r := backend.FromProto().CallResourceResponse(msg)
		if r.Status != 0 {
			out.Status, out.Headers = r.Status, r.Headers
		}
		out.Body = append(out.Body, r.Body...)
	}
	if out.Status == 0 {
		out.Status = http.StatusOK
	}
	return out, nil
}
