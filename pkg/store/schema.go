package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/kpiflow/kpiflow/pkg/schema"
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

// SchemaState reads schema_migrations in the configured database and checks
// that the tables of the applied migrations exist.
//
// # Notes
//
//   - missing: no schema_migrations table, or no row in it.
//   - broken: a migration has a 'started' row and no 'done' row (it failed or
//     was interrupted half way), or a table an applied migration created is
//     gone, or one it dropped is back. Detail names the migration or the
//     table.
//   - pending: every recorded migration finished, but this build knows newer ones.
//   - ready: every migration this build knows is done.
func (s *Store) SchemaState(ctx context.Context) (SchemaState, error) {
	var n uint64
	err := s.conn.QueryRow(ctx,
		"SELECT count() FROM system.tables WHERE database = ? AND name = ?", s.settings.Database, schema.TableSchemaMigrations).Scan(&n)
	if err != nil {
		return SchemaState{}, Classify(s.settings, fmt.Errorf("look for schema_migrations: %w", err))
	}
	if n == 0 {
		return SchemaState{Status: SchemaMissing}, nil
	}
	rec, err := s.readMigrations(ctx)
	if err != nil {
		return SchemaState{}, err
	}
	state := schemaStateOf(rec)
	if state.Status != SchemaReady && state.Status != SchemaPending {
		return state, nil
	}
	existing, err := s.tableNames(ctx)
	if err != nil {
		return SchemaState{}, err
	}
	if missing := missingObjects(rec, existing); missing != "" {
		return SchemaState{Status: SchemaBroken, Version: state.Version, Detail: missing}, nil
	}
	return state, nil
}

// schemaStateOf decides the state from schema_migrations' contents.
func schemaStateOf(rec migrationRecords) SchemaState {
	if len(rec) == 0 {
		return SchemaState{Status: SchemaMissing}
	}
	version := rec.version()
	for _, v := range sortedVersions(rec) {
		r := rec[v]
		if r.started && !r.done {
			name := r.name
			if name == "" {
				name = "unnamed"
			}
			return SchemaState{Status: SchemaBroken, Version: version, Detail: fmt.Sprintf(
				"migration %d (%s) started at %s but never finished", v, name, r.startedAt.UTC().Format(time.RFC3339))}
		}
	}
	maxDone := 0
	for v, r := range rec {
		if r.done && v > maxDone {
			maxDone = v
		}
	}
	switch {
	case version < LatestVersion():
		return SchemaState{Status: SchemaPending, Version: version}
	case maxDone > LatestVersion():
		return SchemaState{Status: SchemaReady, Version: maxDone,
			Detail: fmt.Sprintf("applied by a newer kpiflow; this one knows migrations up to %d", LatestVersion())}
	}
	return SchemaState{Status: SchemaReady, Version: version}
}

func sortedVersions(rec migrationRecords) []int {
	vs := make([]int, 0, len(rec))
	for v := range rec {
		vs = append(vs, v)
	}
	sort.Ints(vs)
	return vs
}

// missingObjects names the first table or view that a done migration created
// but that no longer exists, or that it dropped but that exists again (""
// when the schema is as the migrations left it).
func missingObjects(rec migrationRecords, existing map[string]string) string {
	for _, def := range migrationDefs() {
		if !rec[def.version].done {
			continue
		}
		for _, name := range def.objects {
			if _, ok := existing[name]; !ok {
				return fmt.Sprintf("%s (created by migration %d, %s) is missing", name, def.version, def.name)
			}
		}
		for _, name := range def.drops {
			if _, ok := existing[name]; ok {
				return fmt.Sprintf("%s (dropped by migration %d, %s) exists again", name, def.version, def.name)
			}
		}
	}
	return ""
}

// tableNames maps each table in the database to its engine.
func (s *Store) tableNames(ctx context.Context) (map[string]string, error) {
	return s.tables(ctx, "engine", "list tables")
}

// tables maps each table in the database to one column of system.tables
// (engine, or engine_full for retention's TTL check); doing names the read
// in errors.
func (s *Store) tables(ctx context.Context, column, doing string) (map[string]string, error) {
	rows, err := s.conn.Query(ctx, "SELECT name, "+column+" FROM system.tables WHERE database = ?", s.settings.Database)
	if err != nil {
		return nil, Classify(s.settings, fmt.Errorf("%s: %w", doing, err))
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, fmt.Errorf("%s: %w", doing, err)
		}
		out[name] = value
	}
	if err := rows.Err(); err != nil {
		return nil, Classify(s.settings, fmt.Errorf("%s: %w", doing, err))
	}
	return out, nil
}

// TableInfo is one table of the database as the server has it.
type TableInfo struct {
	Name   string `json:"name"`
	Engine string `json:"engine"`
	// Rows and BytesOnDisk count the active parts on the connected server
	// (0 for views and Distributed tables, which hold no parts).
	Rows        uint64 `json:"rows"`
	BytesOnDisk uint64 `json:"bytesOnDisk"`
}

// MigrationInfo is one migration's state.
type MigrationInfo struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	// Status is done, pending, started (half applied) or incomplete (done,
	// but one of its tables or views is gone, or one it dropped is back;
	// Migrate runs it again).
	Status string `json:"status"`
	// Checksum is the checksum of the DDL this build would run now;
	// AppliedChecksum the one recorded when it ran. They differ when the
	// server version or the settings (cluster, retention) changed since,
	// which is expected and harmless: applied migrations never run again.
	Checksum        string `json:"checksum"`
	AppliedChecksum string `json:"appliedChecksum,omitempty"`
}

// SchemaReport is everything admin/schema shows.
type SchemaReport struct {
	ServerVersion string          `json:"serverVersion"`
	Database      string          `json:"database"`
	Cluster       string          `json:"cluster,omitempty"`
	Status        SchemaStatus    `json:"status"`
	Version       int             `json:"version"`
	LatestVersion int             `json:"latestVersion"`
	Detail        string          `json:"detail,omitempty"`
	Message       string          `json:"message"`
	Tables        []TableInfo     `json:"tables"`
	Migrations    []MigrationInfo `json:"migrations"`
	// PendingDDL is what POST admin/migrate would run now, in order.
	PendingDDL []string        `json:"pendingDdl"`
	Retention  []RetentionRule `json:"retention"`
	// Nodes is every server of the cluster with its own state, in cluster
	// mode (see ClusterState); Tables then describes the connected server.
	Nodes []NodeState `json:"nodes,omitempty"`
}

// SchemaReport describes the schema: state, tables, migrations, the DDL that
// would run and the retention rules.
func (s *Store) SchemaReport(ctx context.Context) (SchemaReport, error) {
	d, err := s.Dialect(ctx)
	if err != nil {
		return SchemaReport{}, err
	}
	state, err := s.SchemaState(ctx)
	if err != nil {
		return SchemaReport{}, err
	}
	migs, err := Migrations(d, s.settings)
	if err != nil {
		return SchemaReport{}, err
	}
	rep := SchemaReport{
		ServerVersion: d.Version.String(), Database: s.settings.Database, Cluster: s.settings.Cluster,
		Status: state.Status, Version: state.Version, LatestVersion: LatestVersion(), Detail: state.Detail,
		Message: state.Describe(), Tables: []TableInfo{}, Migrations: []MigrationInfo{}, PendingDDL: []string{},
		Retention: RetentionRules(d, s.settings),
	}
	if rep.Retention == nil {
		rep.Retention = []RetentionRule{}
	}
	if rep.Tables, err = s.tableInfo(ctx); err != nil {
		return SchemaReport{}, err
	}
	if rep.Nodes, err = s.ClusterState(ctx); err != nil {
		return SchemaReport{}, err
	}
	rec := migrationRecords{}
	if state.Status == SchemaMissing {
		boot, err := BootstrapDDL(d, s.settings)
		if err != nil {
			return SchemaReport{}, err
		}
		rep.PendingDDL = append(rep.PendingDDL, boot...)
		if hasTable(rep.Tables, schema.TableSchemaMigrations) {
			rep.PendingDDL = rep.PendingDDL[:0]
		}
	} else if rec, err = s.readMigrations(ctx); err != nil {
		return SchemaReport{}, err
	}
	existing := map[string]string{}
	for _, t := range rep.Tables {
		existing[t.Name] = t.Engine
	}
	acrossNodes(existing, rep.Nodes)
	g, err := newDDLGen(d, s.settings)
	if err != nil {
		return SchemaReport{}, err
	}
	defs := migrationDefs()
	for i, m := range migs {
		r := rec[m.Version]
		info := MigrationInfo{Version: m.Version, Name: m.Name, Status: "pending", Checksum: m.Checksum, AppliedChecksum: r.checksum}
		switch {
		case r.done && !applied(g, defs[i], existing):
			info.Status = "incomplete"
		case r.done:
			info.Status = schema.MigrationDone
		case r.started:
			info.Status = schema.MigrationStarted
		}
		if info.Status != schema.MigrationDone {
			rep.PendingDDL = append(rep.PendingDDL, m.Statements...)
		}
		rep.Migrations = append(rep.Migrations, info)
	}
	return rep, nil
}

func hasTable(tables []TableInfo, name string) bool {
	for _, t := range tables {
		if t.Name == name {
			return true
		}
	}
	return false
}

// tableInfo lists the database's tables with engines and part statistics.
func (s *Store) tableInfo(ctx context.Context) ([]TableInfo, error) {
	rows, err := s.conn.Query(ctx, `SELECT t.name, t.engine, p.rows, p.bytes
FROM (SELECT name, engine FROM system.tables WHERE database = ?) AS t
ANY LEFT JOIN (
    SELECT table AS name, sum(rows) AS rows, sum(bytes_on_disk) AS bytes
    FROM system.parts WHERE database = ? AND active GROUP BY table
) AS p USING name
ORDER BY t.name`, s.settings.Database, s.settings.Database)
	if err != nil {
		return nil, Classify(s.settings, fmt.Errorf("list tables with sizes: %w", err))
	}
	defer rows.Close()
	out := []TableInfo{}
	for rows.Next() {
		var ti TableInfo
		if err := rows.Scan(&ti.Name, &ti.Engine, &ti.Rows, &ti.BytesOnDisk); err != nil {
			return nil, fmt.Errorf("list tables with sizes: %w", err)
		}
		out = append(out, ti)
	}
	if err := rows.Err(); err != nil {
		return nil, Classify(s.settings, fmt.Errorf("list tables with sizes: %w", err))
	}
	return out, nil
}
