//go:build integration

package plugin_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// TestIntegrationArrowWireSameFrames: raw SQL tables answered as Arrow
// written from the blocks (plugin.ArrowWire) decode to exactly the frames,
// meta, errors and statuses of the data.Frame path, which the same binary
// takes with GF_PLUGIN_ARROW_WIRE=false; and the answers did take the
// Arrow-from-blocks path (their schema's meta is padded).
func TestIntegrationArrowWireSameFrames(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lcCtx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
	require.NoError(t, db.Conn.Exec(lcCtx, "CREATE TABLE "+db.Name+".wide (n UInt64, ts DateTime, d Date, "+
		"s String, lc LowCardinality(String), nlc LowCardinality(Nullable(String)), dec Decimal(18, 4), ndec Nullable(Decimal(9, 2)), "+
		"nf Nullable(Float64), ni Nullable(Int32), nts Nullable(DateTime), arr Array(String), e Enum8('todo' = 1, 'done' = 2), "+
		"f32 Float32, i8 Int8, u16 UInt16) ENGINE = MergeTree ORDER BY n"))
	require.NoError(t, db.Conn.Exec(ctx, "INSERT INTO "+db.Name+".wide SELECT number, toDateTime(1795429800 + number, 'UTC'), "+
		"toDate('2026-11-23'), concat('s', toString(number)), toString(number % 7), if(number % 5 = 0, NULL, toString(number % 3)), "+
		"toDecimal64(number / 8, 4), if(number % 4 = 0, NULL, toDecimal32(number / 2, 2)), if(number % 3 = 0, NULL, number * 1.5), "+
		"if(number % 2 = 0, NULL, toInt32(-number)), if(number % 6 = 0, NULL, toDateTime(1795429800 - number, 'UTC')), "+
		"[toString(number), 'x'], CAST(number % 2 + 1 AS Enum8('todo' = 1, 'done' = 2)), number / 3, toInt8(number % 100 - 50), "+
		"toUInt16(number) FROM numbers(5000)"))

	on := plugintest.Start(t)
	bin := os.Getenv("KPIFLOW_PLUGIN_BIN")
	if bin == "" {
		var err error
		bin, err = plugintest.Build(t.TempDir())
		require.NoError(t, err)
	}
	off, err := plugintest.Launch(plugintest.Options{Binary: bin, Env: []string{"GF_PLUGIN_ARROW_WIRE=false"}, LogLevel: hclog.Warn})
	require.NoError(t, err)
	t.Cleanup(off.Kill)

	jd := db.JSONData()
	capped := db.JSONData()
	capped["maxRows"] = 1234
	byteCapped := db.JSONData()
	byteCapped["maxResultBytes"] = 1 << 20
	byteCapped["maxRows"] = 10_000_000
	base := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tr := backend.TimeRange{From: base, To: base.Add(24 * time.Hour)}
	all := "SELECT * FROM wide ORDER BY n SETTINGS max_block_size = 700"

	tests := []struct {
		name     string
		jsonData map[string]any
		queries  []backend.DataQuery
		direct   []string // refIds answered from the blocks
		// cutAnywhere: where the server's byte cap cuts the result depends
		// on timing, so the two answers agree on a prefix of rows.
		cutAnywhere bool
	}{
		{name: "every type, several blocks, NULLs", jsonData: jd, queries: []backend.DataQuery{rawQuery("A", all, tr, nil)}, direct: []string{"A"}},
		{name: "empty result", jsonData: jd, queries: []backend.DataQuery{rawQuery("A", "SELECT * FROM wide WHERE n > 1e9", tr, nil)}, direct: []string{"A"}},
		{name: "cut at max rows", jsonData: capped, queries: []backend.DataQuery{rawQuery("A", all, tr, nil)}, direct: []string{"A"}},
		{name: "cut at max result bytes", jsonData: byteCapped, queries: []backend.DataQuery{rawQuery("A",
			"SELECT number AS n, toString(number) AS s, [s, 'x'] AS arr FROM numbers(1000000) SETTINGS max_block_size = 8192", tr, nil)}, direct: []string{"A"},
			cutAnywhere: true},
		{name: "time range clamped (perQuery's notice)", jsonData: jd, queries: []backend.DataQuery{rawQuery("A", "SELECT n, ts FROM wide WHERE $__timeFilter(ts) ORDER BY n",
			backend.TimeRange{From: base, To: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)}, nil)}, direct: []string{"A"}},
		{name: "macros and ignored fields' notices", jsonData: jd, queries: []backend.DataQuery{rawQuery("A",
			"SELECT n FROM wide WHERE $__timeFilter(ts) LIMIT 3", tr, map[string]any{"format": "table", "unknownThing": 1})}, direct: []string{"A"}},
		{name: "several queries, one a time series", jsonData: jd, queries: []backend.DataQuery{
			rawQuery("A", "SELECT n, s FROM wide ORDER BY n LIMIT 10", tr, nil),
			rawQuery("B", "SELECT ts AS time, toFloat64(n) AS value, s FROM wide ORDER BY ts LIMIT 10", tr, map[string]any{"format": "timeseries"}),
			rawQuery("C", "SELECT count() AS c FROM wide", tr, nil),
		}, direct: []string{"A", "C"}},
		{name: "unsupported column type", jsonData: jd, queries: []backend.DataQuery{rawQuery("A", "SELECT (1, 'a') AS t", tr, nil)}},
		{name: "ClickHouse error", jsonData: jd, queries: []backend.DataQuery{rawQuery("A", "SELECT nope FROM wide", tr, nil)}},
		{name: "hidden query", jsonData: jd, queries: []backend.DataQuery{rawQuery("A", "SELECT 1", tr, map[string]any{"hide": true})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotRaw, got := queryArrowRaw(ctx, t, on, on.DataSource(t, tt.jsonData, nil), tt.queries)
			_, want := queryArrowRaw(ctx, t, off, off.DataSource(t, tt.jsonData, nil), tt.queries)
			require.Equal(t, len(want.Responses), len(got.Responses))
			for refID, w := range want.Responses {
				g := got.Responses[refID]
				require.Equal(t, w.Status, g.Status, refID)
				require.Equal(t, w.ErrorSource, g.ErrorSource, refID)
				if w.Error != nil {
					require.EqualError(t, g.Error, w.Error.Error(), refID)
				} else {
					require.NoError(t, g.Error, refID)
				}
				if tt.cutAnywhere {
					requireSamePrefix(t, w.Frames, g.Frames)
					continue
				}
				require.Equal(t, w.Frames, g.Frames, refID)
			}
			for _, refID := range tt.direct {
				require.NoError(t, got.Responses[refID].Error)
				require.Len(t, gotRaw[refID], 1)
				require.True(t, paddedMeta(t, gotRaw[refID][0]), "%s was not answered from the blocks", refID)
			}
			if strings.HasPrefix(tt.name, "cut") {
				require.Len(t, got.Responses["A"].Frames[0].Meta.Notices, 1)
			}
		})
	}
}

// queryArrowRaw calls QueryData over gRPC and returns each response's Arrow bytes
// and the decoded response.
func queryArrowRaw(ctx context.Context, t *testing.T, p *plugintest.Plugin, ds plugintest.DataSource, queries []backend.DataQuery) (map[string][][]byte, *backend.QueryDataResponse) {
	t.Helper()
	req := &backend.QueryDataRequest{PluginContext: ds.PluginContext(), Queries: queries}
	resp, err := p.Data.QueryData(ctx, plugintest.ToProtoQueryData(req))
	require.NoError(t, err)
	raw := map[string][][]byte{}
	for refID, r := range resp.Responses {
		raw[refID] = r.Frames
	}
	out, err := backend.FromProto().QueryDataResponse(resp)
	require.NoError(t, err)
	return raw, out
}

// paddedMeta reports whether a frame's schema holds its meta padded with
// spaces, as frames.ArrowFile writes it (the SDK's MarshalArrow does not).
func paddedMeta(t *testing.T, b []byte) bool {
	r, err := ipc.NewFileReader(bytes.NewReader(b))
	require.NoError(t, err)
	defer r.Close()
	md := r.Schema().Metadata()
	i := md.FindKey("meta")
	return i >= 0 && strings.HasSuffix(md.Values()[i], " ")
}

// requireSamePrefix checks two answers cut at different rows: the same
// fields, meta but for the cut notice's row count, and values on the rows
// both have.
func requireSamePrefix(t *testing.T, want, got data.Frames) {
	t.Helper()
	require.Len(t, got, len(want))
	for i, w := range want {
		g := got[i]
		require.Equal(t, w.Meta.ExecutedQueryString, g.Meta.ExecutedQueryString)
		require.Len(t, g.Meta.Notices, len(w.Meta.Notices))
		for j, n := range w.Meta.Notices {
			require.Equal(t, n.Severity, g.Meta.Notices[j].Severity)
			digits := regexp.MustCompile(`[0-9]+`)
			require.Equal(t, digits.ReplaceAllString(n.Text, "N"), digits.ReplaceAllString(g.Meta.Notices[j].Text, "N"))
		}
		require.Len(t, g.Fields, len(w.Fields))
		rows := min(w.Rows(), g.Rows())
		require.Positive(t, rows)
		for f := range w.Fields {
			require.Equal(t, w.Fields[f].Name, g.Fields[f].Name)
			require.Equal(t, w.Fields[f].Type(), g.Fields[f].Type())
			for r := 0; r < rows; r++ {
				require.Equal(t, w.Fields[f].At(r), g.Fields[f].At(r))
			}
		}
	}
}
