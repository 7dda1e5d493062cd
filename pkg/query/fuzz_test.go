package query

import (
	"testing"
)

// FuzzParseQuery: parsing never panics, and every accepted query builds a
// plan that Validate accepts and the SQL builder writes.
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
	c := Catalog()
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		q, err := Parse(typ, body)
		if err != nil {
			return
		}
		b, err := q.Build(testEnv())
		if err != nil {
			return
		}
		if err := b.Plan.Validate(c); err != nil {
			t.Fatalf("accepted %s query %s built an invalid plan: %v", typ, body, err)
		}
		if _, _, err := SQL(b.Plan, c); err != nil {
			t.Fatalf("accepted %s query %s: SQL: %v", typ, body, err)
		}
	})
}
