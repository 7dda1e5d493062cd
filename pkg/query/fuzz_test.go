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
