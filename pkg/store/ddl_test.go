package store

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
)

var (
	ch1816 = dialect.For(dialect.Version{Major: 18, Minor: 16, Patch: 1})
	ch248  = dialect.For(dialect.Version{Major: 24, Minor: 8, Patch: 4})
)

func allDDL(t *testing.T, d dialect.Dialect, s settings.Settings) []string {
	t.Helper()
	out, err := BootstrapDDL(d, s)
	require.NoError(t, err)
	migs, err := Migrations(d, s)
	require.NoError(t, err)
	for _, m := range migs {
		out = append(out, m.Statements...)
	}
	return out
}

// statementFor returns the one statement creating object (its CREATE ... name).
func statementFor(t *testing.T, stmts []string, object string) string {
	t.Helper()
	var found []string
	re := regexp.MustCompile("^CREATE (TABLE|MATERIALIZED VIEW|DATABASE) IF NOT EXISTS `[a-z_]+`\\.`" + object + "`[ \n]")
	for _, s := range stmts {
		if re.MatchString(s) {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "statements creating %s", object)
	return found[0]
}

func TestKPISamplesDDLPerVersion(t *testing.T) {
	s := settings.Settings{Database: "kpiflow"}
	tests := []struct {
		name string
		d    dialect.Dialect
		want string
	}{
		{"18.16: plain String, no codecs", ch1816, "CREATE TABLE IF NOT EXISTS `kpiflow`.`kpi_samples`\n(\n" +
			"    `ts` DateTime,\n    `metric` String,\n    `value` Float64,\n    `team` String,\n    `project` String,\n" +
			"    `service` String,\n    `environment` String,\n    `source` String,\n    `label_keys` Array(String),\n" +
			"    `label_values` Array(String),\n    `event_id` String,\n    `batch_id` String,\n    `ingested_at` DateTime DEFAULT now()\n" +
			")\nENGINE = MergeTree\nPARTITION BY toYYYYMM(ts)\nORDER BY (metric, team, ts)"},
		{"24.8: LowCardinality dimensions and codecs", ch248, "CREATE TABLE IF NOT EXISTS `kpiflow`.`kpi_samples`\n(\n" +
			"    `ts` DateTime CODEC(Delta, LZ4),\n    `metric` LowCardinality(String),\n    `value` Float64,\n" +
			"    `team` LowCardinality(String),\n    `project` LowCardinality(String),\n    `service` LowCardinality(String),\n" +
			"    `environment` LowCardinality(String),\n    `source` LowCardinality(String),\n" +
			"    `label_keys` Array(String) CODEC(ZSTD(1)),\n    `label_values` Array(String) CODEC(ZSTD(1)),\n" +
			"    `event_id` String,\n    `batch_id` String,\n    `ingested_at` DateTime DEFAULT now()\n" +
			")\nENGINE = MergeTree\nPARTITION BY toYYYYMM(ts)\nORDER BY (metric, team, ts)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, statementFor(t, allDDL(t, tt.d, s), "kpi_samples"))
		})
	}
}

func TestDDLEveryVersion(t *testing.T) {
	s := settings.Settings{Database: "kpiflow"}
	t.Run("18.16 uses nothing it lacks", func(t *testing.T) {
		all := strings.Join(allDDL(t, ch1816, s), "\n")
		for _, missing := range []string{"LowCardinality", "CODEC", "TTL", "DateTime64", "toStartOfInterval", "ON CLUSTER", "Replicated", "Distributed"} {
			require.NotContains(t, all, missing)
		}
	})
	t.Run("dimension columns only become LowCardinality", func(t *testing.T) {
		all := strings.Join(allDDL(t, ch248, s), "\n")
		lc := regexp.MustCompile("`([a-z_]+)` LowCardinality\\(String\\)").FindAllStringSubmatch(all, -1)
		seen := map[string]bool{}
		for _, m := range lc {
			seen[m[1]] = true
		}
		require.Equal(t, map[string]bool{"metric": true, "team": true, "project": true, "service": true, "environment": true,
			"source": true, "kind": true, "state": true, "pipeline": true, "severity": true}, seen)
		for _, plain := range []string{"task_id", "title", "assignee", "event_id", "batch_id", "commit_sha", "parent", "display_name", "stream", "actor"} {
			require.Regexp(t, "`"+plain+"` String", all)
			require.NotContains(t, all, "`"+plain+"` LowCardinality")
		}
	})
	for _, d := range []dialect.Dialect{ch1816, ch248} {
		t.Run(d.Version.String()+" creates every table once, idempotently", func(t *testing.T) {
			stmts := allDDL(t, d, s)
			for _, tb := range schema.Tables() {
				statementFor(t, stmts, tb.Name)
			}
			for _, st := range stmts {
				require.Regexp(t, `^(CREATE (TABLE|MATERIALIZED VIEW|DATABASE) IF NOT EXISTS|DROP TABLE IF EXISTS) `, st)
				require.NotContains(t, st, ";")
			}
		})
	}
}

func TestRollupAndCurrentDDL(t *testing.T) {
	stmts := allDDL(t, ch1816, settings.Settings{Database: "kpiflow"})
	require.Equal(t, "CREATE TABLE IF NOT EXISTS `kpiflow`.`kpi_rollup_1h`\n(\n"+
		"    `bucket` DateTime,\n    `metric` String,\n    `team` String,\n    `project` String,\n    `service` String,\n"+
		"    `environment` String,\n    `cnt` AggregateFunction(count),\n    `sum` AggregateFunction(sum, Float64),\n"+
		"    `min` AggregateFunction(min, Float64),\n    `max` AggregateFunction(max, Float64),\n"+
		"    `q` AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), Float64),\n"+
		"    `last` AggregateFunction(argMax, Float64, DateTime)\n"+
		")\nENGINE = AggregatingMergeTree\nPARTITION BY toYYYYMM(bucket)\nORDER BY (metric, team, project, service, environment, bucket)",
		statementFor(t, stmts, "kpi_rollup_1h"))
	for table, n := range map[string]string{"kpi_rollup_1h": "3600", "kpi_rollup_1d": "86400"} {
		mv := statementFor(t, stmts, table+"_mv")
		require.Contains(t, mv, "TO `kpiflow`.`"+table+"` AS")
		require.Contains(t, mv, "toDateTime(intDiv(toUInt32(ts), "+n+") * "+n+") AS bucket")
		require.Contains(t, mv, "FROM `kpiflow`.`kpi_samples`\nGROUP BY bucket, metric, team, project, service, environment")
		for _, agg := range []string{"countState() AS `cnt`", "sumState(value) AS `sum`", "minState(value) AS `min`", "maxState(value) AS `max`",
			"quantilesTDigestState(0.5, 0.9, 0.95, 0.99)(value) AS `q`", "argMaxState(value, ts) AS `last`"} {
			require.Contains(t, mv, agg)
		}
	}
	cur := statementFor(t, stmts, "tasks_current")
	require.Contains(t, cur, "ENGINE = ReplacingMergeTree(ts)\nORDER BY task_id")
	require.Equal(t, "CREATE MATERIALIZED VIEW IF NOT EXISTS `kpiflow`.`tasks_current_mv` TO `kpiflow`.`tasks_current` AS\n"+
		"SELECT `ts`, `task_id`, `project`, `team`, `title`, `kind`, `state`, `state_category`, `assignee`, `points`, `parent_id`, "+
		"`blocked_by`, `event_id`, `batch_id`, `ingested_at`\nFROM `kpiflow`.`task_events`",
		statementFor(t, stmts, "tasks_current_mv"))
	require.Contains(t, statementFor(t, stmts, "deployments"), "ENGINE = ReplacingMergeTree(ingested_at)\nORDER BY deployment_id")
	require.Contains(t, statementFor(t, stmts, "ingest_ledger"), "ENGINE = MergeTree\nORDER BY (stream, seq)")
	require.Contains(t, statementFor(t, stmts, "schema_migrations"), "ENGINE = MergeTree\nORDER BY (version, applied_at)")
}

// TestRetireRollup1mDDL: migration 4 drops the 1m rollup's view before its
// table, with statements that are harmless to run again, and no migration
// creates either any more.
func TestRetireRollup1mDDL(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    settings.Settings
		want []string
	}{
		{"one server", settings.Settings{Database: "kpiflow"}, []string{
			"DROP TABLE IF EXISTS `kpiflow`.`kpi_rollup_1m_mv`",
			"DROP TABLE IF EXISTS `kpiflow`.`kpi_rollup_1m`",
		}},
		{"cluster: the view, the Distributed table, then the replicated one", settings.Settings{Database: "kpi", Cluster: "prod"}, []string{
			"DROP TABLE IF EXISTS `kpi`.`kpi_rollup_1m_mv` ON CLUSTER `prod`",
			"DROP TABLE IF EXISTS `kpi`.`kpi_rollup_1m` ON CLUSTER `prod`",
			"DROP TABLE IF EXISTS `kpi`.`kpi_rollup_1m_local` ON CLUSTER `prod`",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, d := range []dialect.Dialect{ch1816, ch248} {
				migs, err := Migrations(d, tt.s)
				require.NoError(t, err)
				last := migs[len(migs)-1]
				require.Equal(t, 4, last.Version)
				require.Equal(t, "retire kpi_rollup_1m", last.Name)
				require.Equal(t, tt.want, last.Statements)
				for _, m := range migs[:len(migs)-1] {
					require.NotContains(t, strings.Join(m.Statements, "\n"), "kpi_rollup_1m", "migration %d", m.Version)
				}
			}
		})
	}
	g, err := newDDLGen(ch1816, settings.Settings{Database: "kpi", Cluster: "prod"})
	require.NoError(t, err)
	defs := migrationDefs()
	require.Equal(t, []string{"kpi_rollup_1h", "kpi_rollup_1h_local", "kpi_rollup_1h_mv", "kpi_rollup_1d", "kpi_rollup_1d_local", "kpi_rollup_1d_mv"},
		defs[1].names(g), "migration 2 no longer expects the 1m rollup")
	require.Equal(t, []string{"kpi_rollup_1m_mv", "kpi_rollup_1m", "kpi_rollup_1m_local"}, defs[3].dropped(g))
}

func TestClusterDDL(t *testing.T) {
	s := settings.Settings{Database: "kpi", Cluster: "prod"}
	stmts := allDDL(t, ch248, s)
	require.Equal(t, "CREATE DATABASE IF NOT EXISTS `kpi` ON CLUSTER `prod`", stmts[0])
	for _, st := range stmts {
		require.Contains(t, st, " ON CLUSTER `prod`")
	}

	local := statementFor(t, stmts, "kpi_samples_local")
	require.True(t, strings.HasPrefix(local, "CREATE TABLE IF NOT EXISTS `kpi`.`kpi_samples_local` ON CLUSTER `prod`\n("), local)
	require.Contains(t, local, "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/kpi/kpi_samples_local', '{replica}')\nPARTITION BY toYYYYMM(ts)")
	require.Equal(t, "CREATE TABLE IF NOT EXISTS `kpi`.`kpi_samples` ON CLUSTER `prod` AS `kpi`.`kpi_samples_local`\n"+
		"ENGINE = Distributed('prod', 'kpi', 'kpi_samples_local', rand())", statementFor(t, stmts, "kpi_samples"))

	require.Contains(t, statementFor(t, stmts, "kpi_rollup_1d_local"),
		"ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/kpi/kpi_rollup_1d_local', '{replica}')")
	require.Contains(t, statementFor(t, stmts, "kpi_rollup_1d"), "ENGINE = Distributed('prod', 'kpi', 'kpi_rollup_1d_local', rand())")
	mv := statementFor(t, stmts, "kpi_rollup_1d_mv")
	require.Contains(t, mv, "`kpi`.`kpi_rollup_1d_mv` ON CLUSTER `prod` TO `kpi`.`kpi_rollup_1d_local` AS")
	require.Contains(t, mv, "FROM `kpi`.`kpi_samples_local`")

	require.Contains(t, statementFor(t, stmts, "tasks_current_local"),
		"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/kpi/tasks_current_local', '{replica}', ts)\nORDER BY task_id")
	require.Contains(t, statementFor(t, stmts, "tasks_current_mv"), "TO `kpi`.`tasks_current_local` AS")
	require.Contains(t, statementFor(t, stmts, "tasks_current_mv"), "FROM `kpi`.`task_events_local`")
	// Tables that collapse rows per key shard by that key, so FINAL sees all of a key's rows.
	require.Contains(t, statementFor(t, stmts, "task_events"), "Distributed('prod', 'kpi', 'task_events_local', cityHash64(task_id))")
	require.Contains(t, statementFor(t, stmts, "deployments_local"),
		"ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/kpi/deployments_local', '{replica}', ingested_at)")
	require.Contains(t, statementFor(t, stmts, "deployments"), "cityHash64(deployment_id))")
	require.Contains(t, statementFor(t, stmts, "schema_migrations"), "Distributed('prod', 'kpi', 'schema_migrations_local', rand())")

	// Every table of the schema has a local and a Distributed table.
	for _, tb := range schema.Tables() {
		require.Contains(t, statementFor(t, stmts, tb.Name+"_local"), "ENGINE = Replicated")
		require.Contains(t, statementFor(t, stmts, tb.Name), "ENGINE = Distributed(")
	}

	// Cluster mode works on 18.16 too, with its types.
	old := strings.Join(allDDL(t, ch1816, s), "\n")
	require.Contains(t, old, "ON CLUSTER `prod`")
	require.NotContains(t, old, "LowCardinality")
}

func TestRetentionDDL(t *testing.T) {
	s := settings.Settings{Database: "kpiflow", RetentionDays: map[string]int{"kpi_samples": 90, "kpi_rollup_1h": 14, "deployments": 365}}
	t.Run("TTL where the server has it", func(t *testing.T) {
		stmts := allDDL(t, ch248, s)
		require.True(t, strings.HasSuffix(statementFor(t, stmts, "kpi_samples"), "ORDER BY (metric, team, ts)\nTTL ts + INTERVAL 90 DAY"))
		require.True(t, strings.HasSuffix(statementFor(t, stmts, "kpi_rollup_1h"), "bucket)\nTTL bucket + INTERVAL 14 DAY"))
		require.True(t, strings.HasSuffix(statementFor(t, stmts, "deployments"), "ORDER BY deployment_id\nTTL finished_at + INTERVAL 365 DAY"))
		require.NotContains(t, statementFor(t, stmts, "kpi_rollup_1d"), "TTL")
		require.NotContains(t, statementFor(t, stmts, "task_events"), "TTL")

		c := s
		c.Cluster = "prod"
		stmts = allDDL(t, ch248, c)
		require.Contains(t, statementFor(t, stmts, "kpi_samples_local"), "TTL ts + INTERVAL 90 DAY")
		require.NotContains(t, statementFor(t, stmts, "kpi_samples"), "TTL", "Distributed tables have no TTL")
	})
	t.Run("no TTL on 18.16", func(t *testing.T) {
		require.NotContains(t, strings.Join(allDDL(t, ch1816, s), "\n"), "TTL")
	})
	t.Run("method per table", func(t *testing.T) {
		require.Equal(t, []RetentionRule{
			{Table: "deployments", Column: "finished_at", Days: 365, Method: RetentionTTL},
			{Table: "kpi_rollup_1h", Column: "bucket", Days: 14, Method: RetentionTTL},
			{Table: "kpi_samples", Column: "ts", Days: 90, Method: RetentionTTL},
		}, RetentionRules(ch248, s))
		require.Equal(t, []RetentionRule{
			{Table: "deployments", Column: "finished_at", Days: 365, Method: RetentionDelete},
			{Table: "kpi_rollup_1h", Column: "bucket", Days: 14, Method: RetentionDropPartitions},
			{Table: "kpi_samples", Column: "ts", Days: 90, Method: RetentionDropPartitions},
		}, RetentionRules(ch1816, s))
		require.Empty(t, RetentionRules(ch248, settings.Settings{Database: "kpiflow"}))
	})
}

func TestTTLMatches(t *testing.T) {
	tests := []struct {
		engineFull string
		want       bool
	}{
		{"MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (metric, team, ts) TTL ts + toIntervalDay(90) SETTINGS index_granularity = 8192", true},
		{"MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (metric, team, ts) TTL `ts` + INTERVAL 90 DAY", true},
		{"MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (metric, team, ts) TTL ts + toIntervalDay(900) SETTINGS index_granularity = 8192", false},
		{"MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (metric, team, ts) TTL ts + toIntervalDay(30) SETTINGS index_granularity = 8192", false},
		{"MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (metric, team, ts) SETTINGS index_granularity = 8192", false},
		{"MergeTree ORDER BY x TTL ingested_at + toIntervalDay(90)", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ttlMatches(tt.engineFull, "ts", 90), tt.engineFull)
	}
}

func TestMigrationsChecksumsAndErrors(t *testing.T) {
	s := settings.Settings{Database: "kpiflow"}
	a, err := Migrations(ch1816, s)
	require.NoError(t, err)
	b, err := Migrations(ch1816, s)
	require.NoError(t, err)
	require.Equal(t, a, b, "pure: same input, same DDL")
	for i, m := range a {
		require.Equal(t, i+1, m.Version, "versions are 1..n in order")
		require.Equal(t, checksum(m.Statements), m.Checksum)
		require.Len(t, m.Checksum, 64)
	}
	require.Equal(t, len(a), LatestVersion())
	c, err := Migrations(ch248, s)
	require.NoError(t, err)
	require.NotEqual(t, a[0].Checksum, c[0].Checksum, "the checksum covers the SQL actually run")

	_, err = Migrations(ch1816, settings.Settings{Database: "kpi-flow"})
	require.ErrorContains(t, err, "jsonData.database")
	_, err = BootstrapDDL(ch1816, settings.Settings{Database: "kpiflow", Cluster: "a b"})
	require.ErrorContains(t, err, "jsonData.cluster")
}

func TestColumnTypePerVersion(t *testing.T) {
	kpi, _ := schema.Lookup(schema.TableKPISamples)
	c, _ := kpi.Column("team")
	require.Equal(t, "String", typeFor(c, ch1816))
	require.Equal(t, "LowCardinality(String)", typeFor(c, ch248))
	v, _ := kpi.Column("value")
	require.Equal(t, "Float64", typeFor(v, ch248))
}

// FuzzTTLMatches: any engine_full text is read without panicking, and a
// text holding exactly the wanted TTL matches.
func FuzzTTLMatches(f *testing.F) {
	f.Add("MergeTree ORDER BY x TTL ts + toIntervalDay(90) SETTINGS index_granularity = 8192", "ts", 90)
	f.Add("", "ts", 1)
	f.Add("TTL", "", 0)
	f.Add("TTL ts + toIntervalDay(", "ts", -5)
	f.Fuzz(func(t *testing.T, engineFull, col string, days int) {
		_ = ttlMatches(engineFull, col, days)
		if dialect.ValidIdent(col) && days > 0 {
			require.True(t, ttlMatches("MergeTree ORDER BY x TTL "+col+" + toIntervalDay("+strconv.Itoa(days)+")", col, days))
		}
	})
}

func TestRetentionStatements(t *testing.T) {
	r := RetentionRule{Table: "kpi_samples", Column: "ts", Days: 30}
	tests := []struct {
		cluster                       string
		update, ttl, drop, deleteRows string
	}{
		{"",
			"ALTER TABLE `kpiflow`.`task_events` UPDATE `assignee` = ? WHERE `assignee` = ?",
			"ALTER TABLE `kpiflow`.`kpi_samples` MODIFY TTL ts + INTERVAL 30 DAY",
			"ALTER TABLE `kpiflow`.`kpi_samples` DROP PARTITION 202401",
			"ALTER TABLE `kpiflow`.`kpi_samples` DELETE WHERE `ts` < toDateTime(1700000000)"},
		{"prod",
			"ALTER TABLE `kpiflow`.`task_events_local` ON CLUSTER `prod` UPDATE `assignee` = ? WHERE `assignee` = ?",
			"ALTER TABLE `kpiflow`.`kpi_samples_local` ON CLUSTER `prod` MODIFY TTL ts + INTERVAL 30 DAY",
			"ALTER TABLE `kpiflow`.`kpi_samples_local` ON CLUSTER `prod` DROP PARTITION 202401",
			"ALTER TABLE `kpiflow`.`kpi_samples_local` ON CLUSTER `prod` DELETE WHERE `ts` < toDateTime(1700000000)"},
	}
	for _, tt := range tests {
		g, err := newDDLGen(ch248, settings.Settings{Database: "kpiflow", Cluster: tt.cluster})
		require.NoError(t, err)
		require.Equal(t, tt.ttl, g.modifyTTL(r))
		require.Equal(t, tt.update, g.updateValue("task_events", "assignee"), "erasure rewrites the tables holding the rows")
		require.Equal(t, tt.drop, g.dropPartition(r.Table, "202401"))
		require.Equal(t, tt.deleteRows, g.deleteBefore(r, 1700000000))
	}
}
