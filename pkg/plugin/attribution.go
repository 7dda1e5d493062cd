package plugin

import (
	"context"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/kpiflow/kpiflow/pkg/store"
)

// Queries run attributed to the Grafana user and the dashboard, panel or
// alert rule (store.Attribution); this file reads those from the request.

type headersKey struct{}

// withRequestHeaders keeps a QueryData request's headers in ctx, so handlers
// registered through perQuery (which see one query, not the request) can
// attribute their queries.
func withRequestHeaders(ctx context.Context, headers map[string]string) context.Context {
	return context.WithValue(ctx, headersKey{}, headers)
}

// header looks a request header up by name, ignoring case and the "http_"
// prefix the SDK gives forwarded HTTP headers.
func header(headers map[string]string, name string) string {
	for k, v := range headers {
		if len(k) > 5 && strings.EqualFold(k[:5], "http_") {
			k = k[5:]
		}
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// attributionFor collects the Grafana user and the dashboard, panel or alert
// rule from the plugin context and the request headers Grafana sends.
func attributionFor(ctx context.Context, pc backend.PluginContext) store.Attribution {
	h, _ := ctx.Value(headersKey{}).(map[string]string)
	a := store.Attribution{
		Dashboard: header(h, "X-Dashboard-Uid"),
		Panel:     header(h, "X-Panel-Id"),
		Rule:      header(h, "X-Rule-Uid"),
		FromAlert: strings.EqualFold(header(h, "FromAlert"), "true"),
	}
	if pc.User != nil {
		a.User = pc.User.Login
		if a.User == "" {
			a.User = pc.User.Email
		}
	}
	return a
}
