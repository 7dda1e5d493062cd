package store

import (
	"context"
	"fmt"
)

// SchemaStatus says whether kpiflow's tables are there.
type SchemaStatus string

// The schema states the health check reports.
const (
	SchemaMissing SchemaStatus = "missing"
	SchemaReady   SchemaStatus = "ready"
	SchemaPending SchemaStatus = "pending"
	SchemaBroken  SchemaStatus = "broken"
)

// SchemaState is the schema's state in the configured database.
type SchemaState struct {
	Status  SchemaStatus
	Version int
	// Detail names what is wrong for SchemaBroken.
	Detail string
}

// Describe is a sentence for the health check.
func (s SchemaState) Describe() string {
	switch s.Status {
	case SchemaReady:
		return fmt.Sprintf("Schema ready at migration %d.", s.Version)
	case SchemaPending:
		return fmt.Sprintf("Schema at migration %d, newer migrations pending: apply them with POST admin/migrate or turn on autoMigrate.", s.Version)
	case SchemaBroken:
		return fmt.Sprintf("Schema broken at migration %d: %s. Apply migrations again with POST admin/migrate.", s.Version, s.Detail)
	default:
		return "kpiflow's schema is not installed yet: apply it with POST admin/migrate (Grafana Admin) or turn on autoMigrate in the data source settings."
	}
}

// SchemaState reads schema_migrations in the configured database.
func (s *Store) SchemaState(ctx context.Context) (SchemaState, error) {
	var n uint64
	err := s.conn.QueryRow(ctx,
		"SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'", s.settings.Database).Scan(&n)
	if err != nil {
		return SchemaState{}, Classify(s.settings, fmt.Errorf("look for schema_migrations: %w", err))
	}
	if n == 0 {
		return SchemaState{Status: SchemaMissing}, nil
	}
	var v uint32
	if err := s.conn.QueryRow(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
		return SchemaState{}, Classify(s.settings, fmt.Errorf("read schema_migrations: %w", err))
	}
	return SchemaState{Status: SchemaReady, Version: int(v)}, nil
}
