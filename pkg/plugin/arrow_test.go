package plugin

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseArrowRequest(t *testing.T) {
	good := `{"query":{"refId":"B","queryType":"taskflow","view":"tasks"},"from":"2026-11-20T00:00:00Z","to":"2026-11-21T00:00:00Z"}`
	q, err := parseArrowRequest([]byte(good))
	require.NoError(t, err)
	require.Equal(t, "B", q.RefID)
	require.Equal(t, "taskflow", q.QueryType)
	require.True(t, q.TimeRange.From.Before(q.TimeRange.To))

	for _, c := range []struct{ body, field string }{
		{`{"from":"2026-11-20T00:00:00Z","to":"2026-11-21T00:00:00Z"}`, "query:"},
		{`{"query":[1],"from":"2026-11-20T00:00:00Z","to":"2026-11-21T00:00:00Z"}`, "query:"},
		{`{"query":{},"from":"yesterday","to":"2026-11-21T00:00:00Z"}`, "from:"},
		{`{"query":{},"from":"2026-11-21T00:00:00Z","to":"2026-11-20T00:00:00Z"}`, "to:"},
		{`{"query":{},"from":"2026-11-20T00:00:00Z","to":"2026-11-21T00:00:00Z","intervalMs":-1}`, "intervalMs:"},
		{`{"query":{},"from":"2026-11-20T00:00:00Z","to":"2026-11-21T00:00:00Z","nope":1}`, "nope:"},
		{`[]`, "body"},
	} {
		_, err := parseArrowRequest([]byte(c.body))
		require.ErrorContains(t, err, c.field, c.body)
	}
}

func FuzzParseArrowRequest(f *testing.F) {
	f.Add([]byte(`{"query":{"refId":"B","queryType":"taskflow"},"from":"2026-11-20T00:00:00Z","to":"2026-11-21T00:00:00Z"}`))
	f.Add([]byte(`{"query":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		q, err := parseArrowRequest(body)
		if err == nil {
			require.NotEmpty(t, q.RefID)
			require.True(t, q.TimeRange.From.Before(q.TimeRange.To))
		}
	})
}
