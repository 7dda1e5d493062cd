package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
)

// AppliedMigration is a migration Migrate ran.
type AppliedMigration struct {
	Version  int    `json:"version"`
	Name     string `json:"name"`
	Checksum string `json:"checksum"`
	// Statements is how many DDL statements ran.
	Statements int `json:"statements"`
}

// MigrateResult says what Migrate did.
type MigrateResult struct {
	// Applied lists the migrations run now, oldest first (empty when the
	// schema was already current).
	Applied []AppliedMigration `json:"applied"`
	// Version is the schema's migration version afterwards.
	Version int `json:"version"`
}

// Migrate applies every pending migration in order, recording a 'started'
// row before and a 'done' row after each in schema_migrations.
//
//	res, err := st.Migrate(ctx)
//	// res.Applied: the migrations run now; res.Version: the schema version
//
// # Notes
//
// A migration whose 'done' row is missing (a crash or a failure half way) is
// pending and runs again in full: its statements are CREATE ... IF NOT EXISTS
// or DROP ... IF EXISTS, so what already exists is left as it is and what is
// gone stays gone. So does a done migration one of whose tables or views was
// dropped since, or one that dropped a table or view that is back (an older
// kpiflow's Migrate re-created it). Migrate stops at the first failing
// statement and returns the error with the migration and statement named.
// Concurrent Migrate calls are safe for the same reason, but callers in one
// process should serialise them to avoid doing the work twice.
func (s *Store) Migrate(ctx context.Context) (MigrateResult, error) {
	defer s.forgetStats()
	if err := CreateDatabase(ctx, s.settings); err != nil {
		return MigrateResult{}, err
	}
	d, err := s.Dialect(ctx)
	if err != nil {
		return MigrateResult{}, err
	}
	boot, err := BootstrapDDL(d, s.settings)
	if err != nil {
		return MigrateResult{}, err
	}
	for _, stmt := range boot {
		if err := s.conn.Exec(ctx, stmt); err != nil {
			return MigrateResult{}, Classify(s.settings, fmt.Errorf("create schema_migrations: %w", err))
		}
	}
	migs, err := Migrations(d, s.settings)
	if err != nil {
		return MigrateResult{}, err
	}
	rec, err := s.readMigrations(ctx)
	if err != nil {
		return MigrateResult{}, err
	}
	existing, err := s.tableNames(ctx)
	if err != nil {
		return MigrateResult{}, err
	}
	nodes, err := s.ClusterState(ctx)
	if err != nil {
		return MigrateResult{}, err
	}
	acrossNodes(existing, nodes)
	g, err := newDDLGen(d, s.settings)
	if err != nil {
		return MigrateResult{}, err
	}
	res := MigrateResult{Applied: []AppliedMigration{}, Version: rec.version()}
	for i, m := range migs {
		// A done migration whose tables were dropped since, or one of
		// whose dropped tables is back, runs again: its statements
		// recreate only what is missing and drop only what is there.
		if rec[m.Version].done && applied(g, migrationDefs()[i], existing) {
			continue
		}
		if err := s.recordMigration(ctx, m, schema.MigrationStarted); err != nil {
			return res, err
		}
		for i, stmt := range m.Statements {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				return res, Classify(s.settings, fmt.Errorf("apply migration %d (%s), statement %d of %d: %w",
					m.Version, m.Name, i+1, len(m.Statements), err))
			}
		}
		if err := s.recordMigration(ctx, m, schema.MigrationDone); err != nil {
			return res, err
		}
		res.Applied = append(res.Applied, AppliedMigration{Version: m.Version, Name: m.Name, Checksum: m.Checksum, Statements: len(m.Statements)})
		rec[m.Version] = migrationRecord{done: true, started: true, name: m.Name, checksum: m.Checksum}
		res.Version = rec.version()
	}
	return res, nil
}

// CreateDatabase creates the settings' database when the server lacks it,
// over a connection of its own to the server's default database: the
// pool's connections select the database and so cannot be made before it
// exists. A database that exists is left alone (no CREATE is sent, so a
// user without the right to create databases can migrate one made for
// them). In cluster mode BootstrapDDL then creates it on the other nodes.
func CreateDatabase(ctx context.Context, s settings.Settings) error {
	opts, err := Options(s)
	if err != nil {
		return err
	}
	opts.Auth.Database = ""
	opts.MaxOpenConns, opts.MaxIdleConns = 1, 1
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return fmt.Errorf("connect to ClickHouse at %s: %w", s.Addr(), err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", s.Database).Scan(&n); err != nil {
		return Classify(s, fmt.Errorf("look for database %s: %w", s.Database, err))
	}
	if n > 0 {
		return nil
	}
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+dialect.Quote(s.Database)); err != nil {
		return Classify(s, fmt.Errorf("create database %s: %w", s.Database, err))
	}
	return nil
}

func (s *Store) recordMigration(ctx context.Context, m Migration, state string) error {
	err := s.InsertBatch(ctx, schema.TableSchemaMigrations, []string{"version", "name", "state", "checksum", "applied_at"},
		func(b driver.Batch) error {
			return b.Append(uint32(m.Version), m.Name, state, m.Checksum, time.Now().UTC())
		})
	if err != nil {
		return fmt.Errorf("record migration %d (%s) as %s: %w", m.Version, m.Name, state, err)
	}
	return nil
}

// migrationRecord is what schema_migrations says about one version.
type migrationRecord struct {
	started, done  bool
	name, checksum string
	startedAt      time.Time
}

type migrationRecords map[int]migrationRecord

// version is the highest version such that it and every version below it
// that this build knows are done: the schema's usable level.
func (r migrationRecords) version() int {
	v := 0
	for _, def := range migrationDefs() {
		if !r[def.version].done {
			break
		}
		v = def.version
	}
	return v
}

// readMigrations reads schema_migrations, which must exist.
func (s *Store) readMigrations(ctx context.Context) (migrationRecords, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf(`SELECT version, any(name), toString(state), argMax(checksum, applied_at), min(applied_at)
FROM %s.%s GROUP BY version, state ORDER BY version`, dialect.Quote(s.settings.Database), dialect.Quote(schema.TableSchemaMigrations)))
	if err != nil {
		return nil, Classify(s.settings, fmt.Errorf("read schema_migrations: %w", err))
	}
	defer rows.Close()
	out := migrationRecords{}
	for rows.Next() {
		var (
			version         uint32
			name, state, cs string
			at              time.Time
		)
		if err := rows.Scan(&version, &name, &state, &cs, &at); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		r := out[int(version)]
		r.name = name
		switch state {
		case schema.MigrationDone:
			r.done, r.checksum = true, cs
		case schema.MigrationStarted:
			r.started, r.startedAt = true, at
			if r.checksum == "" {
				r.checksum = cs
			}
		}
		out[int(version)] = r
	}
	if err := rows.Err(); err != nil {
		return nil, Classify(s.settings, fmt.Errorf("read schema_migrations: %w", err))
	}
	return out, nil
}

// applied reports whether existing shows def's work: every table and view
// it creates is there and none it drops is.
func applied(g ddlGen, def migrationDef, existing map[string]string) bool {
	for _, o := range def.names(g) {
		if _, ok := existing[o]; !ok {
			return false
		}
	}
	for _, o := range def.dropped(g) {
		if _, ok := existing[o]; ok {
			return false
		}
	}
	return true
}
