package plugintest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

// ChannelPath is the path Grafana gives the plugin for a frame's
// Meta.Channel ("ds/<uid>/live/<key>" → "live/<key>").
func ChannelPath(t testing.TB, f *data.Frame) string {
	t.Helper()
	if f.Meta == nil || f.Meta.Channel == "" {
		t.Fatalf("frame %q has no Meta.Channel", f.Name)
	}
	parts := strings.SplitN(f.Meta.Channel, "/", 3)
	if len(parts) != 3 || parts[0] != "ds" {
		t.Fatalf("Meta.Channel %q is not ds/<uid>/<path>", f.Meta.Channel)
	}
	return parts[2]
}

// SubscribeStream calls the Stream service's SubscribeStream as Grafana does
// when a user subscribes to ds/<uid>/<path>.
func (p *Plugin) SubscribeStream(ctx context.Context, t testing.TB, ds DataSource, path string) *backend.SubscribeStreamResponse {
	t.Helper()
	resp, err := p.Stream.SubscribeStream(ctx, backend.ToProto().SubscribeStreamRequest(
		&backend.SubscribeStreamRequest{PluginContext: ds.PluginContext(), Path: path}))
	if err != nil {
		t.Fatalf("SubscribeStream %s over gRPC: %v", path, err)
	}
	return backend.FromProto().SubscribeStreamResponse(resp)
}

// PublishStream calls the Stream service's PublishStream.
func (p *Plugin) PublishStream(ctx context.Context, t testing.TB, ds DataSource, path string, body []byte) *backend.PublishStreamResponse {
	t.Helper()
	resp, err := p.Stream.PublishStream(ctx, backend.ToProto().PublishStreamRequest(
		&backend.PublishStreamRequest{PluginContext: ds.PluginContext(), Path: path, Data: body}))
	if err != nil {
		t.Fatalf("PublishStream %s over gRPC: %v", path, err)
	}
	return backend.FromProto().PublishStreamResponse(resp)
}

// Stream is a running RunStream call: the frames Grafana would hand to the
// channel's subscribers.
type Stream struct {
	client pluginv2.Stream_RunStreamClient
	// schema is the last schema sent: data-only packets are its rows.
	schema json.RawMessage
}

// RunStream starts the Stream service's RunStream for path, as Grafana does
// for a channel's first subscriber; cancel ctx to end it.
func (p *Plugin) RunStream(ctx context.Context, t testing.TB, ds DataSource, path string) *Stream {
	t.Helper()
	s, err := p.OpenStream(ctx, ds, path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// OpenStream is RunStream outside a test.
func (p *Plugin) OpenStream(ctx context.Context, ds DataSource, path string) (*Stream, error) {
	c, err := p.Stream.RunStream(ctx, backend.ToProto().RunStreamRequest(
		&backend.RunStreamRequest{PluginContext: ds.PluginContext(), Path: path}))
	if err != nil {
		return nil, fmt.Errorf("RunStream %s over gRPC: %w", path, err)
	}
	return &Stream{client: c}, nil
}

// Next waits for the next packet and decodes it into a frame; a packet of
// data only gets the schema of the last one that had it, as Grafana's
// streaming frame does.
func (s *Stream) Next() (*data.Frame, error) {
	pkt, _, err := s.Recv()
	if err != nil {
		return nil, err
	}
	return s.Decode(pkt)
}

// Recv waits for the next packet and returns it undecoded with when it
// arrived: a benchmark with many streams decodes later (Decode, in order),
// so its own decoding does not compete with the plugin while it measures.
func (s *Stream) Recv() ([]byte, time.Time, error) {
	pkt, err := s.client.Recv()
	at := time.Now()
	if err != nil {
		return nil, at, err
	}
	return pkt.Data, at, nil
}

// Decode decodes a packet Recv returned; packets of one stream must be
// decoded in the order they came (a data-only packet takes the schema of
// the last one that had it).
func (s *Stream) Decode(packet []byte) (*data.Frame, error) {
	var parts map[string]json.RawMessage
	if err := json.Unmarshal(packet, &parts); err != nil {
		return nil, fmt.Errorf("decode a stream packet %q: %w", packet, err)
	}
	if sch, ok := parts["schema"]; ok {
		s.schema = sch
	}
	if s.schema == nil {
		return nil, fmt.Errorf("a stream packet of data only before any schema: %q", packet)
	}
	// The SDK's decoder wants the schema first.
	raw := []byte(`{"schema":` + string(s.schema))
	if d, ok := parts["data"]; ok {
		raw = append(append(raw, `,"data":`...), d...)
	}
	raw = append(raw, '}')
	var f data.Frame
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("decode a stream frame %q: %w", packet, err)
	}
	return &f, nil
}
