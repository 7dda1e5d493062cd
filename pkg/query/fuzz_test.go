package query

import (
	"context"
	"errors"
	"testing"
)

// FuzzParseQuery: parsing never panics, and every accepted query goes through
// the pipeline (build, rewrite, validate, SQL) or is refused as bad input.
func FuzzParseQuery(f *testing.F) {
	seeds := []struct{ typ, body string }{
		{"kpi", `{"metrics":["m"],"aggregation":"avg"}`},
		{"kpi", `{"metrics":["a","b"],"aggregation":"p95","groupBy":["team","label:region","teamLevel:2"],"interval":"1h","format":"table"}`},
		{"kpi", `{"metrics":["m"],"aggregation":"rate","filters":[{"key":"label:k","operator":"not in","value":["x","y"]}],"adhocFilters":[{"key":"team","operator":"=~","value":"^a"}]}`},
		{"kpi", `{"metrics":["m"],"aggregation":"last","interval":"1d","live":true,"datasource":{"uid":"x"},"intervalMs":1000}`},
		{"dora", `{"metric":"deployment_frequency","groupBy":["team","service"],"environment":"prod","format":"band"}`},
		{"dora", `{"metric":"time_to_restore","format":"timeseries"}`},
		{"taskflow", `{"view":"cycle_time","teams":["a"],"projects":["P"],"percentiles":[1,50,99.99]}`},
		{"taskflow", `{"view":"cfd"}`},
		{"taskflow", `{"view":"aging","hide":false}`},
		{"kpi", `{"metrics":["m"],"aggregation":"avg","filters":[{"key":"team","operator":"=","value":["a","b"]}]}`},
		{"kpi", `null`},
	}
	for _, s := range seeds {
		f.Add(s.typ, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		q, err := Parse(typ, body)
		if err != nil {
			return
		}
		pq, err := pipeline().Prepare(context.Background(), q, testEnv())
		var fe *FieldError
		if errors.As(err, &fe) {
			return
		}
		if err != nil {
			t.Fatalf("accepted %s query %s: %v", typ, body, err)
		}
		if err := pq.Plan.Validate(testEnv().Catalog); err != nil {
			t.Fatalf("accepted %s query %s planned an invalid plan: %v", typ, body, err)
		}
	})
}

// FuzzParseForecast: parsing a forecast query never panics, and every
// accepted query plans reads that Validate accepts and the SQL builder
// writes.
func FuzzParseForecast(f *testing.F) {
	for _, s := range []string{
		`{"mode":"completion","teams":["a"],"historyDays":90,"trials":10000,"percentiles":[50,70,85,95]}`,
		`{"mode":"completion","groupBy":["project"],"format":"numeric","dueDate":"2027-01-31","scopeGrowth":true,"horizon":365}`,
		`{"mode":"how_many","targetDate":"2026-12-31","alertPercentile":90}`,
		`{"mode":"task_eta","projects":["P"],"percentiles":[50,85]}`,
		`{"mode":"kpi_trend","metrics":["m"],"aggregation":"p95","groupBy":["service"],"interval":"1h","horizon":24,"model":"auto"}`,
		`{"mode":"kpi_trend","metrics":["m"],"aggregation":"avg","filters":[{"key":"team","operator":"=","value":"a"}],"format":"numeric"}`,
		`{"mode":"completion","backlog":1e3}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	c := Catalog()
	f.Fuzz(func(t *testing.T, body []byte) {
		q, err := ParseForecast(body)
		if err != nil {
			return
		}
		b, err := q.Build(testEnv())
		if err != nil {
			return
		}
		for _, p := range b.Plans {
			if _, _, err := SQL(p, c); err != nil {
				t.Fatalf("accepted forecast query %s planned an invalid read: %v", body, err)
			}
		}
	})
}
