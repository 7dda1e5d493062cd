package plugintest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Chunk is one message of a QueryChunkedData stream, its frame decoded
// from Arrow.
type Chunk struct {
	RefID, FrameID string
	Status         int
	Error          string
	Frame          *data.Frame // nil for an error
	Bytes          int         // the Arrow encoding's size
	At             time.Time   // when it was received
}

// QueryChunkedData calls the Data service's QueryChunkedData (Arrow
// format) and calls each for every chunk as it arrives; each returning an
// error stops the call. It returns the call's error, if any.
func (p *Plugin) QueryChunkedData(ctx context.Context, ds DataSource, headers map[string]string, each func(Chunk) error, queries ...backend.DataQuery) error {
	req := &backend.QueryChunkedDataRequest{PluginContext: ds.PluginContext(), Headers: headers, Queries: queries,
		Format: backend.DataFrameFormat_ARROW}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := p.Data.QueryChunkedData(ctx, backend.ToProto().QueryChunkedDataRequest(req))
	if err != nil {
		return fmt.Errorf("QueryChunkedData over gRPC: %w", err)
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("QueryChunkedData: receive: %w", err)
		}
		c := Chunk{RefID: msg.RefId, FrameID: msg.FrameId, Status: int(msg.Status), Error: msg.Error,
			Bytes: len(msg.Frame), At: time.Now()}
		if len(msg.Frame) > 0 {
			if c.Frame, err = data.UnmarshalArrowFrame(msg.Frame); err != nil {
				return fmt.Errorf("decode chunk of %s/%s: %w", msg.RefId, msg.FrameId, err)
			}
		}
		if err := each(c); err != nil {
			return err
		}
	}
}

// ChunkedAnswer is a QueryChunkedData answer put together as Grafana does:
// per refId, the frames in the order their ids first came, each with the
// rows of all its chunks appended.
type ChunkedAnswer struct {
	Chunks []Chunk
	Frames map[string]data.Frames
	Errors map[string]string
}

// QueryChunked calls QueryChunkedData and assembles the answer.
func (p *Plugin) QueryChunked(ctx context.Context, t testing.TB, ds DataSource, headers map[string]string, queries ...backend.DataQuery) ChunkedAnswer {
	t.Helper()
	out := ChunkedAnswer{Frames: map[string]data.Frames{}, Errors: map[string]string{}}
	byID := map[string]*data.Frame{}
	err := p.QueryChunkedData(ctx, ds, headers, func(c Chunk) error {
		out.Chunks = append(out.Chunks, c)
		if c.Error != "" {
			out.Errors[c.RefID] = c.Error
		}
		if c.Frame == nil {
			return nil
		}
		key := c.RefID + "/" + c.FrameID
		f, ok := byID[key]
		if !ok {
			f = c.Frame.EmptyCopy() // the chunk stays as it came
			f.Meta = c.Frame.Meta
			for i, fld := range c.Frame.Fields {
				f.Fields[i].Config = fld.Config
			}
			byID[key] = f
			out.Frames[c.RefID] = append(out.Frames[c.RefID], f)
		}
		if len(f.Fields) != len(c.Frame.Fields) {
			return fmt.Errorf("chunk of %s has %d fields, its frame %d", key, len(c.Frame.Fields), len(f.Fields))
		}
		for i, fld := range c.Frame.Fields {
			for j := 0; j < fld.Len(); j++ {
				f.Fields[i].Append(fld.At(j))
			}
		}
		return nil
	}, queries...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
