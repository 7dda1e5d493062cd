package main

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// These tests run the module's logic natively; pkg/optimizer's tests run
// the same code compiled to wasip1 through the host.

func catalogJSON(t testing.TB) string {
	raw, err := json.Marshal(query.Catalog())
	require.NoError(t, err)
	return string(raw)
}

func TestHandleKeepsEveryOtherByte(t *testing.T) {
	// Escapes, unicode and odd spacing in fields the module does not touch
	// come back exactly as sent.
	planJSON := `{ "source" : "kpi_samples", "time_column":"ts", "time_range":{"from":3600,"to":7200},
		"bucket_s":3600, "aggregations":[{"func":"avg","column":"value","alias":"v"}],
		"filters":[{"column":"metric","op":"in","values":["a\"b","\u00e9t\u00e9","x\\y"]}],
		"group_by":[{"column":"team","alias":"team"}], "limit":11}`
	req := `{"abi":1,"plan":` + planJSON + `,"catalog":` + catalogJSON(t) + `,"config":{"ignored":[1,2,{"x":null}]}}`
	var cache catalogCache
	out := handle([]byte(req), &cache)
	var resp struct {
		Plan  json.RawMessage `json:"plan"`
		Notes []string        `json:"notes"`
	}
	require.NoError(t, json.Unmarshal(out, &resp), string(out))
	want := strings.Replace(strings.Replace(planJSON, `"kpi_samples"`, `"kpi_rollup_1h"`, 1), `"ts"`, `"bucket"`, 1)
	require.Equal(t, want, string(resp.Plan))
	require.Len(t, resp.Notes, 1)

	// The second call reads the cached catalog and answers the same.
	require.Equal(t, string(out), string(handle([]byte(req), &cache)))
}

func TestHandleLeavesAlone(t *testing.T) {
	cat := catalogJSON(t)
	for name, planJSON := range map[string]string{
		"nested":      `{"from":{"source":"kpi_samples"},"time_column":"time","bucket_s":3600}`,
		"other table": `{"source":"deployments","time_column":"finished_at","time_range":{"from":3600,"to":7200},"aggregations":[{"func":"count","alias":"n"}]}`,
		"float range": `{"source":"kpi_samples","time_column":"ts","time_range":{"from":3600.5,"to":7200},"bucket_s":3600,"aggregations":[{"func":"avg","column":"value","alias":"v"}]}`,
		"no time":     `{"source":"kpi_samples","columns":["value"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			var cache catalogCache
			out := handle([]byte(`{"abi":1,"plan":`+planJSON+`,"catalog":`+cat+`}`), &cache)
			require.Equal(t, `{"notes":[]}`, string(out))
		})
	}
}

func TestWidenStaysWithinTheHostsRule(t *testing.T) {
	c := query.Catalog()
	for _, b := range []int64{1, 7, 30, 45, 60, 90, 120, 300} {
		for _, span := range []int64{3600, 86400, 7 * 86400, 90 * 86400} {
			for _, maxPoints := range []int64{1, 10, 100, 1000, 1001} {
				from := (1_700_000_123 / b) * b
				p := plan.Plan{Source: "kpi_samples", TimeColumn: "ts", TimeRange: plan.TimeRange{From: from, To: from + span},
					Bucket: b, MaxPoints: maxPoints, Aggregations: []plan.Aggregation{{Func: plan.FuncAvg, Column: "value", Alias: "v"}},
					Filters: []plan.Filter{{LabelKey: "k", Op: plan.OpEq, Values: plan.Strings("v")}}}
				r := &request{source: p.Source, timeColumn: p.TimeColumn, from: p.TimeRange.From, to: p.TimeRange.To, bucket: b, maxPoints: maxPoints}
				rw, _ := r.widen("")
				if rw.bucket == 0 {
					require.LessOrEqual(t, plan.Buckets(p.TimeRange, b), maxPoints*3, "b=%d span=%d max=%d: not widened", b, span, maxPoints)
					continue
				}
				q := p
				q.Bucket = rw.bucket
				require.NoError(t, plan.CheckRewriteIn(c, &p, &q), "b=%d span=%d max=%d → %d", b, span, maxPoints, rw.bucket)
			}
		}
	}
}

func FuzzHandle(f *testing.F) {
	cat := catalogJSON(f)
	f.Add(`{"abi":1,"plan":{"source":"kpi_samples","time_column":"ts","time_range":{"from":3600,"to":7200},"bucket_s":3600,` +
		`"aggregations":[{"func":"quantile","column":"value","args":[0.9],"alias":"v"}],"max_points":1},"catalog":` + cat + `}`)
	f.Add(`{"abi":1,"plan":{"source":"x\u0041","filters":[{"label_key":"k","values":[1e5,-2,"s"]}]},"catalog":{"tables":[{"name":"xA","kind":"raw"}]}}`)
	f.Add(`{"abi":1,"plan":null}`)
	f.Fuzz(func(t *testing.T, req string) {
		var cache catalogCache
		for range 2 { // the second time through the catalog cache
			out := handle([]byte(req), &cache)
			var resp map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(out, &resp), "answer to %q is not JSON: %s", req, out)
			_, hasErr := resp["error"]
			_, hasNotes := resp["notes"]
			require.True(t, hasErr != hasNotes, "%s", out)
			if p, ok := resp["plan"]; ok {
				require.True(t, json.Valid(p))
			}
		}
	})
}

// FuzzScanner: on valid JSON, skip consumes exactly the value, and strings
// decode as encoding/json decodes them.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{`"a\"b\\c\u00e9\ud83d\ude00"`, `{"a":[1,-2.5e3,true,false,null,{}]}`, `"plain and long enough to take the word steps"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) {
			s := &scanner{b: []byte(in)}
			_ = s.skip() // must not panic
			return
		}
		s := &scanner{b: []byte(in)}
		if err := s.skip(); err != nil {
			var v any
			_ = json.Unmarshal([]byte(in), &v)
			require.Greater(t, depth(v), maxDepth-1, "valid JSON %q refused: %v", in, err)
			return
		}
		require.Zero(t, s.peek(), "%q: left %q", in, in[s.i:])
		var want string
		// (Invalid UTF-8 passes through as bytes, where encoding/json
		// would put U+FFFD: the host only sends valid UTF-8.)
		if json.Unmarshal([]byte(in), &want) == nil && utf8.ValidString(in) {
			s := &scanner{b: []byte(in)}
			got, err := s.str()
			require.NoError(t, err)
			require.Equal(t, want, string(got))
			var back string
			require.NoError(t, json.Unmarshal(appendString(nil, want), &back))
			require.Equal(t, want, back, "round trip")
		}
	})
}

func depth(v any) int {
	d := 0
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	case map[string]any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}
