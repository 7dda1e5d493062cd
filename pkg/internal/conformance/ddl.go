package conformance

import (
	"fmt"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// RetentionDays is the retention the run configures on every table that
// takes one, so that the TTL clauses are part of the DDL; it is long enough
// to keep the whole dataset.
const RetentionDays = 3650

// Settings are the data source settings the DDL is spelled for: database
// db, cluster ("" for a single server) and retention on every table.
func Settings(db, cluster string) settings.Settings {
	s := settings.Settings{Database: db, Cluster: cluster, RetentionDays: map[string]int{}}
	for _, t := range schema.RetentionTables() {
		s.RetentionDays[t] = RetentionDays
	}
	return s
}

// Statement is one DDL statement and where it comes from.
type Statement struct {
	// Source is "bootstrap" or "migration N (name)".
	Source string
	SQL    string
}

// DDL is every statement Migrate runs on a server of dialect d with
// settings s, in order: the bootstrap, then each migration.
func DDL(d dialect.Dialect, s settings.Settings) ([]Statement, error) {
	boot, err := store.BootstrapDDL(d, s)
	if err != nil {
		return nil, err
	}
	var out []Statement
	for _, sql := range boot {
		out = append(out, Statement{Source: "bootstrap", SQL: sql})
	}
	migs, err := store.Migrations(d, s)
	if err != nil {
		return nil, err
	}
	for _, m := range migs {
		for _, sql := range m.Statements {
			out = append(out, Statement{Source: fmt.Sprintf("migration %d (%s)", m.Version, m.Name), SQL: sql})
		}
	}
	return out, nil
}
