package plugin

import (
	"context"
	"regexp"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"
)

func TestAttribution(t *testing.T) {
	pc := backend.PluginContext{User: &backend.User{Login: "ann", Email: "ann@example.com"}}
	tests := []struct {
		name    string
		headers map[string]string
		pc      backend.PluginContext
		id      string // regexp
		comment string
	}{
		{"dashboard panel", map[string]string{"X-Dashboard-Uid": "abc", "X-Panel-Id": "7"}, pc,
			`^kpiflow:ann:abc:7:[0-9a-f]{12}$`, "/* kpiflow user=ann dashboard=abc panel=7 */ "},
		{"prefixed and lower-case headers", map[string]string{"http_x-dashboard-uid": "abc", "x-panel-id": "7"}, pc,
			`^kpiflow:ann:abc:7:`, "/* kpiflow user=ann dashboard=abc panel=7 */ "},
		{"alert rule", map[string]string{"FromAlert": "true", "X-Rule-Uid": "r1"}, backend.PluginContext{},
			`^kpiflow:-:rule\.r1:-:`, "/* kpiflow user=- rule=r1 alert=true */ "},
		{"hostile values are cleaned", map[string]string{"X-Dashboard-Uid": "a*/ DROP TABLE x; /*", "X-Panel-Id": "1:2"},
			backend.PluginContext{User: &backend.User{Email: "e'vil@x.io"}},
			`^kpiflow:e_vil@x\.io:a___DROP_TABLE_x____:1_2:`, "/* kpiflow user=e_vil@x.io dashboard=a___DROP_TABLE_x____ panel=1_2 */ "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := attributionFor(withRequestHeaders(context.Background(), tt.headers), tt.pc)
			require.Regexp(t, regexp.MustCompile(tt.id), a.QueryID())
			require.Equal(t, tt.comment, a.Comment())
		})
	}
	a := attributionFor(context.Background(), pc)
	require.NotEqual(t, a.QueryID(), a.QueryID(), "query ids are unique")
}
