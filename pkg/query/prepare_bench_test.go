package query

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// benchQueries are the dashboard queries of the plugin's query benchmark
// (pkg/internal/bench): their planning is part of every panel's fixed cost.
func benchQueries() [][3]string {
	return [][3]string{
		{"kpi 1h by service", TypeKPI, `{"refId":"A","queryType":"kpi","metrics":["latency_p95_ms"],"aggregation":"avg","groupBy":["service"],"interval":"1h","format":"timeseries"}`},
		{"dora lead_time", TypeDORA, `{"refId":"A","queryType":"dora","metric":"lead_time","groupBy":["team"],"environment":"production","format":"timeseries"}`},
		{"taskflow cfd", TypeTaskflow, `{"refId":"A","queryType":"taskflow","view":"cfd"}`},
		{"taskflow wip", TypeTaskflow, `{"refId":"A","queryType":"taskflow","view":"wip"}`},
	}
}

// BenchmarkPrepare is Parse and Pipeline.Prepare of each dashboard query
// (the rollup rewrite step included), per query.
//
//	go test -run '^$' -bench Prepare -benchmem ./pkg/query/
func BenchmarkPrepare(b *testing.B) {
	env := testEnv()
	for _, q := range benchQueries() {
		b.Run(q[0], func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				parsed, err := Parse(q[1], []byte(q[2]))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := pipeline().Prepare(context.Background(), parsed, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClone copies the plans of benchQueries by plan.Clone and, as the
// baseline, by a JSON round trip (what the rewrite chain did before).
//
//	go test -run '^$' -bench Clone -benchmem ./pkg/query/
func BenchmarkClone(b *testing.B) {
	env := testEnv()
	var plans []plan.Plan
	for _, q := range benchQueries() {
		parsed, err := Parse(q[1], []byte(q[2]))
		require.NoError(b, err)
		pq, err := pipeline().Prepare(context.Background(), parsed, env)
		require.NoError(b, err)
		plans = append(plans, pq.Plan)
	}
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for _, p := range plans {
				_ = p.Clone()
			}
		}
	})
	b.Run("json baseline", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for _, p := range plans {
				raw, err := json.Marshal(p)
				if err != nil {
					b.Fatal(err)
				}
				var out plan.Plan
				if err := json.Unmarshal(raw, &out); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
