package plugin

import (
	"fmt"
	"net/http"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/kpiflow/kpiflow/pkg/settings"
)

// roleRank orders Grafana's organisation roles; anything else (None, no
// user) ranks lowest.
func roleRank(role string) int {
	switch role {
	case settings.RoleViewer:
		return 1
	case settings.RoleEditor:
		return 2
	case settings.RoleAdmin:
		return 3
	}
	return 0
}

// requireRole reports whether the caller's Grafana role is need or higher,
// and otherwise answers 403 naming the role needed; source, when not empty,
// says where the requirement comes from.
func requireRole(w http.ResponseWriter, r *http.Request, need, source string) bool {
	role := ""
	if u := backend.UserFromContext(r.Context()); u != nil {
		role = u.Role
	}
	if roleRank(role) >= roleRank(need) {
		return true
	}
	if role == "" {
		role = "none (no signed-in user)"
	}
	atLeast := need
	if need != settings.RoleAdmin {
		atLeast += " or higher"
	}
	writeJSON(w, http.StatusForbidden, map[string]string{
		"error": fmt.Sprintf("%s %s needs the Grafana role %s%s; the caller's role is %s",
			r.Method, r.URL.Path, atLeast, source, role),
		"requiredRole": need,
	})
	return false
}
