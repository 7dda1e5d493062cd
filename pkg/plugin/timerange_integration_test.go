//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
)

// TestIntegrationFarTimeRanges: time ranges beyond what ClickHouse's DateTime
// holds (1970 to 2106) gave wrong answers without a word (issue 8.9):
// 2026-11-01 → 9999-12-31 became a one-day range, year 1 → 9999 answered
// nothing, and to = 2200 failed with a plugin error. Now every queryType
// answers the clamped range with a notice saying so, and a range wholly
// outside is a 400 naming the field.
func TestIntegrationFarTimeRanges(t *testing.T) {
	e := setupBuilder(t)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	// Every row of the dataset (its ten days to builderNow, and whole
	// buckets around them) is in each range below.
	start, end := day(2026, 9, 1), day(2027, 1, 1)
	queries := []struct {
		queryType string
		body      func() map[string]any
	}{
		{"kpi", func() map[string]any {
			return map[string]any{"metrics": []string{e.kpi[0].Metric}, "aggregation": "count", "format": "table"}
		}},
		{"dora", func() map[string]any {
			return map[string]any{"metric": "deployment_frequency", "environment": "production", "format": "table"}
		}},
		{"taskflow", func() map[string]any { return map[string]any{"view": "throughput"} }},
		{"sql", func() map[string]any {
			return map[string]any{"rawSql": "SELECT count() AS n FROM kpi_samples WHERE $__timeFilter(ts)", "format": "table"}
		}},
		{"forecast", func() map[string]any {
			return map[string]any{"mode": "completion", "historyDays": 30, "trials": 200}
		}},
	}
	// The answer over a span that holds the whole dataset is what the far
	// ranges must give.
	want := map[string]data.Frames{}
	for _, q := range queries {
		r := e.run(t, nil, q.queryType, q.body(), start, end, time.Hour)
		require.NoError(t, r.Error, q.queryType)
		want[q.queryType] = r.Frames
	}

	for _, rng := range []struct {
		name     string
		from, to time.Time
		notice   string
	}{
		{"to year 9999", start, day(9999, 12, 31), "timeRange.to"},
		// Year 1's first second is Go's zero time, which means unset.
		{"year 1 to 9999", day(1, 1, 2), day(9999, 12, 31), "timeRange.from"},
		{"to 2200", start, day(2200, 1, 1), "timeRange.to"},
		{"from before 1970", day(1900, 1, 1), end, "timeRange.from"},
	} {
		for _, q := range queries {
			t.Run(rng.name+"/"+q.queryType, func(t *testing.T) {
				r := e.query(t, q.queryType, q.body(), rng.from, rng.to)
				if r.Error != nil {
					// Task flow views fill every day of the range: the
					// clamped range may still be more days than they take.
					require.Equal(t, "taskflow", q.queryType, r.Error.Error())
					require.Contains(t, r.Error.Error(), "timeRange: the range covers more than")
					require.Equal(t, backend.StatusBadRequest, r.Status)
					return
				}
				require.Contains(t, notices(r), rng.notice, "a notice says the range was clamped")
				require.Contains(t, notices(r), "2106-02-07 06:28:15")
				if q.queryType == "forecast" {
					return // its history is the last historyDays before the end
				}
				require.Equal(t, total(t, want[q.queryType]), total(t, r.Frames), "the same answer as over the data's own span")
			})
		}
	}

	t.Run("a range wholly outside is refused", func(t *testing.T) {
		for _, q := range queries {
			r := e.query(t, q.queryType, q.body(), day(2200, 1, 1), day(2300, 1, 1))
			require.Error(t, r.Error, q.queryType)
			require.Contains(t, r.Error.Error(), "timeRange.from")
			require.Contains(t, r.Error.Error(), "2106-02-07 06:28:15")
			require.Equal(t, backend.StatusBadRequest, r.Status)
			require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
		}
	})
}

// query sends one query over [from, to] and returns its answer, error or not.
func (e *builderEnv) query(t *testing.T, queryType string, body map[string]any, from, to time.Time) backend.DataResponse {
	t.Helper()
	body["refId"] = "A"
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return e.p.QueryData(ctx, t, e.src, nil, backend.DataQuery{RefID: "A", QueryType: queryType, JSON: raw,
		TimeRange: backend.TimeRange{From: from, To: to}, Interval: time.Hour, MaxDataPoints: 1000}).Responses["A"]
}

// total sums every number of the frames: the same rows in other buckets
// give the same total.
func total(t *testing.T, fs data.Frames) float64 {
	t.Helper()
	sum := 0.0
	for _, f := range fs {
		for _, fl := range f.Fields {
			if !fl.Type().Numeric() {
				continue
			}
			for i := 0; i < fl.Len(); i++ {
				v, err := fl.NullableFloatAt(i)
				require.NoError(t, err)
				if v != nil {
					sum += *v
				}
			}
		}
	}
	return sum
}
