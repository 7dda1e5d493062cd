package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// requireInPartsIsWhole holds decodeNDJSONParts to its contract for body:
// in 2 to 5 pieces it either gives up or returns exactly the batch
// decodeWhole returns, and decodeBytes answers as decodeWhole does. It
// returns for how many piece counts the body decoded in pieces.
func requireInPartsIsWhole(t *testing.T, stream, body string, lim Limits) int {
	t.Helper()
	sch, ok := schemaFor(stream)
	require.True(t, ok)
	lim = lim.orDefault()
	now := time.Now()
	data := bytes.TrimPrefix([]byte(body), []byte("\xef\xbb\xbf")) // as decodeBytes does first
	whole, wholeErr := decodeWhole(data, sch, true, lim, now)
	split := 0
	for parts := 2; parts <= 5; parts++ {
		b, ok := decodeNDJSONParts(data, sch, lim, now, parts)
		if !ok {
			continue
		}
		split++
		require.NoError(t, wholeErr, "%d parts accepted what decodeWhole refuses", parts)
		require.Equal(t, whole, b, "%d parts", parts)
	}
	b, err := decodeBytes([]byte(body), sch, true, lim, now)
	require.Equal(t, wholeErr, err)
	require.Equal(t, whole, b)
	return split
}

// kpiLines is n NDJSON KPI rows, every third with an event_id, with labels.
func kpiLines(n int, end time.Time) []string {
	out := make([]string, n)
	for i := range out {
		id := ""
		if i%3 == 0 {
			id = fmt.Sprintf(`"event_id":"e%d",`, i)
		}
		out[i] = fmt.Sprintf(`{%s"ts":%q,"metric":"kpi_%d","value":%d.5,"team":"t%d","labels":{"region":"eu-%d","runner":"r%d"}}`,
			id, end.Add(-time.Duration(i)*time.Second).UTC().Format(time.RFC3339), i%7, i, i%5, i%2, i%3)
	}
	return out
}

func TestDecodeInPartsIsDecodeWhole(t *testing.T) {
	end := time.Now().Add(-time.Hour).Truncate(time.Second)
	rows := kpiLines(40, end)
	joined := strings.Join(rows, "\n") + "\n"
	bad := append([]string(nil), rows...)
	bad[31] = `{"ts":"yesterday","metric":"m","value":1}`
	spread := append([]string(nil), rows...)
	spread[20] = strings.Replace(rows[20], `,"metric"`, ",\n\"metric\"", 1) // an object over two lines
	rawNewline := append([]string(nil), rows...)
	rawNewline[25] = strings.Replace(rows[25], `{`, "{\"note\":\"a\nb\",", 1) // unknown field, raw newline in a string
	// split is whether every piece count must decode in pieces.
	for _, tc := range []struct {
		name, stream, body string
		lim                Limits
		split              bool
	}{
		{"rows", "kpi", joined, Limits{}, true},
		{"no final newline", "kpi", strings.TrimSuffix(joined, "\n"), Limits{}, true},
		{"byte order mark and CRLF", "kpi", "\xef\xbb\xbf" + strings.Join(rows, "\r\n"), Limits{}, true},
		{"blank lines", "kpi", strings.Join(rows, "\n\n \n"), Limits{}, true},
		{"an object over two lines", "kpi", strings.Join(spread, "\n"), Limits{}, false},
		{"a raw newline in a skipped string", "kpi", strings.Join(rawNewline, "\n"), Limits{}, false},
		{"a bad row in a later piece", "kpi", strings.Join(bad, "\n"), Limits{}, false},
		{"more rows than max_rows in all", "kpi", joined, Limits{MaxRows: 39}, false},
		{"exactly max_rows", "kpi", joined, Limits{MaxRows: 40}, true},
		{"errors past max_errors", "kpi", strings.Repeat("{}\n", 30), Limits{MaxErrors: 3}, false},
		{"a syntax error", "kpi", joined + `{"ts":`, Limits{}, false},
		{"only blank lines", "kpi", strings.Repeat("\n", 50), Limits{}, true},
		{"tasks with lists and personal fields", "tasks", strings.Repeat(
			`{"ts":1714564800000,"task_id":"T-1","state_category":"done","assignee":"Ann","blocked_by":["a","b"],"points":2}`+"\n"+
				`{"ts":1714564801000,"task_id":"T-2","state_category":"todo","title":"x"}`+"\n", 12), Limits{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			split := requireInPartsIsWhole(t, tc.stream, tc.body, tc.lim)
			if tc.split {
				require.Equal(t, 4, split, "every piece count (2 to 5) decodes in pieces")
			}
		})
	}
}

func TestNDJSONParts(t *testing.T) {
	for _, tc := range []struct{ bytes, procs, want int }{
		{100, 2, 1},
		{minPartBytes*2 - 1, 2, 1},
		{minPartBytes * 2, 2, 2},
		{minPartBytes * 10, 1, 1},
		{minPartBytes * 10, 16, maxParts},
	} {
		require.Equal(t, tc.want, ndjsonParts(tc.bytes, tc.procs), "%d bytes, %d processors", tc.bytes, tc.procs)
	}
}
