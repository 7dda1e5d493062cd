package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
)

// RetentionMethod is how old rows of a table are removed.
type RetentionMethod string

// The retention methods, chosen per table by RetentionRules.
const (
	// RetentionTTL: the server expires rows itself (TTL, ClickHouse 19.6+).
	RetentionTTL RetentionMethod = "ttl"
	// RetentionDropPartitions: ApplyRetention drops whole monthly partitions
	// whose newest row is older than the limit.
	RetentionDropPartitions RetentionMethod = "drop_partitions"
	// RetentionDelete: for unpartitioned tables on servers without TTL,
	// ApplyRetention deletes old rows with a mutation (ALTER TABLE ... DELETE).
	RetentionDelete RetentionMethod = "delete"
)

// RetentionRule is the configured retention of one table.
type RetentionRule struct {
	Table  string          `json:"table"`
	Column string          `json:"column"`
	Days   int             `json:"days"`
	Method RetentionMethod `json:"method"`
}

// RetentionRules lists, sorted by table, the retention configured in s and
// how a server of dialect d applies it. It is pure.
func RetentionRules(d dialect.Dialect, s settings.Settings) []RetentionRule {
	var out []RetentionRule
	for _, t := range schema.Tables() {
		days := s.RetentionDays[t.Name]
		if days <= 0 || t.TimeColumn == "" {
			continue
		}
		r := RetentionRule{Table: t.Name, Column: t.TimeColumn, Days: days}
		switch {
		case d.Features.TTL:
			r.Method = RetentionTTL
		case t.PartitionBy != "":
			r.Method = RetentionDropPartitions
		default:
			r.Method = RetentionDelete
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}

// RetentionAction is one change ApplyRetention made.
type RetentionAction struct {
	Table  string          `json:"table"`
	Method RetentionMethod `json:"method"`
	// Statement is the DDL that ran.
	Statement string `json:"statement"`
	// Partition is the dropped partition, for RetentionDropPartitions.
	Partition string `json:"partition,omitempty"`
}

// ApplyRetention enforces the configured retention as of now.
//
//	actions, err := st.ApplyRetention(ctx, time.Now())
//
// # Notes
//
// With TTL it only makes sure each table's TTL matches the settings
// (ALTER TABLE ... MODIFY TTL when it does not), so changed settings take
// effect; the server expires the rows. Without TTL it drops every monthly
// partition whose newest row is older than now minus the limit, so rows live
// up to a month longer than the limit; unpartitioned tables get a DELETE
// mutation, issued only when there is something to delete. Tables that do
// not exist yet are skipped. In cluster mode partitions are listed on the
// connected node and dropped ON CLUSTER.
func (s *Store) ApplyRetention(ctx context.Context, now time.Time) ([]RetentionAction, error) {
	d, err := s.Dialect(ctx)
	if err != nil {
		return nil, err
	}
	rules := RetentionRules(d, s.settings)
	if len(rules) == 0 {
		return nil, nil
	}
	g, err := newDDLGen(d, s.settings)
	if err != nil {
		return nil, err
	}
	engines, err := s.tables(ctx, "engine_full", "list tables for retention")
	if err != nil {
		return nil, err
	}
	actions := []RetentionAction{}
	for _, r := range rules {
		local := g.storage(r.Table)
		engineFull, ok := engines[local]
		if !ok {
			continue
		}
		cutoff, err := retentionCutoff(now, r)
		if err != nil {
			return actions, err
		}
		var acts []RetentionAction
		switch r.Method {
		case RetentionTTL:
			acts, err = s.syncTTL(ctx, g, r, engineFull)
		case RetentionDropPartitions:
			acts, err = s.dropPartitions(ctx, g, r, cutoff)
		case RetentionDelete:
			acts, err = s.deleteOld(ctx, g, r, cutoff)
		}
		actions = append(actions, acts...)
		if err != nil {
			return actions, err
		}
	}
	return actions, nil
}

// retentionCutoff is now minus the rule's days. Settings bound the days, but
// the rules may come from elsewhere (a caller building settings by hand), so
// the bound is checked again here: a cutoff that overflowed into the future
// would drop every partition.
func retentionCutoff(now time.Time, r RetentionRule) (time.Time, error) {
	if r.Days < 1 || r.Days > settings.MaxRetentionDays {
		return time.Time{}, &settings.FieldError{Field: "jsonData.retentionDays." + r.Table,
			Message: fmt.Sprintf("expected 1 to %d days, got %d", settings.MaxRetentionDays, r.Days)}
	}
	cutoff := now.UTC().AddDate(0, 0, -r.Days)
	if !cutoff.Before(now) {
		return time.Time{}, fmt.Errorf("retention of %s: cutoff %s is not before now (%s)", r.Table, cutoff, now)
	}
	return cutoff, nil
}

func (s *Store) syncTTL(ctx context.Context, g ddlGen, r RetentionRule, engineFull string) ([]RetentionAction, error) {
	if ttlMatches(engineFull, r.Column, r.Days) {
		return nil, nil
	}
	stmt := g.modifyTTL(r)
	if err := s.conn.Exec(ctx, stmt); err != nil {
		return nil, Classify(s.settings, fmt.Errorf("set %d-day TTL on %s: %w", r.Days, r.Table, err))
	}
	return []RetentionAction{{Table: r.Table, Method: r.Method, Statement: stmt}}, nil
}

var spaceRe = regexp.MustCompile(`[\s` + "`" + `]+`)

// ttlMatches reports whether a table's engine_full already has the TTL
// "col + INTERVAL days DAY". Servers store it normalised, as
// "TTL col + toIntervalDay(days)", so both spellings are accepted.
func ttlMatches(engineFull, col string, days int) bool {
	e := spaceRe.ReplaceAllString(engineFull, "")
	for _, want := range []string{
		fmt.Sprintf("TTL%s+toIntervalDay(%d)", col, days),
		fmt.Sprintf("TTL%s+INTERVAL%dDAY", col, days),
	} {
		if i := strings.Index(e, want); i >= 0 {
			rest := e[i+len(want):]
			// Not a prefix of a longer expression, such as "+ toIntervalDay(300)" or a second term.
			if rest == "" || strings.HasPrefix(rest, "SETTINGS") || strings.HasPrefix(rest, ",") {
				return true
			}
		}
	}
	return false
}

var partitionRe = regexp.MustCompile(`^[0-9]{6}$`)

func (s *Store) dropPartitions(ctx context.Context, g ddlGen, r RetentionRule, cutoff time.Time) ([]RetentionAction, error) {
	parts, err := s.expiredPartitions(ctx, g.storage(r.Table), cutoff)
	if err != nil {
		return nil, fmt.Errorf("list expired partitions of %s: %w", r.Table, err)
	}
	var out []RetentionAction
	for _, p := range parts {
		if !partitionRe.MatchString(p) {
			// Only toYYYYMM partitions are ours; never splice anything else into DDL.
			return out, fmt.Errorf("drop old partitions of %s: unexpected partition %q (expected YYYYMM)", r.Table, p)
		}
		// system.parts' min/max index could disagree with the rows (a part
		// written since the listing, a server clock or time zone surprise):
		// the newest row itself decides, right before the drop.
		newest, err := s.newestInPartition(ctx, g, r, p)
		if err != nil {
			return out, err
		}
		if newest >= cutoff.Unix() {
			continue
		}
		stmt := g.dropPartition(r.Table, p)
		if err := s.conn.Exec(ctx, stmt); err != nil {
			return out, Classify(s.settings, fmt.Errorf("drop partition %s of %s: %w", p, r.Table, err))
		}
		out = append(out, RetentionAction{Table: r.Table, Method: r.Method, Statement: stmt, Partition: p})
	}
	return out, nil
}

// expiredPartitions lists the active partitions of a table whose newest row
// is older than cutoff. The min/max index of the partition key's time column
// gives each part's newest row, whatever the server's time zone.
//
// In cluster mode each server lists its own parts, so the partitions are
// listed on every server that answers and a partition is expired only where
// no server holds a newer row in it (newestInPartition then checks the rows
// of every shard before the drop).
func (s *Store) expiredPartitions(ctx context.Context, table string, cutoff time.Time) ([]string, error) {
	const query = `SELECT partition, max(toUInt32(max_time)) FROM system.parts
WHERE database = ? AND table = ? AND active GROUP BY partition`
	newest := map[string]uint32{}
	read := func(conn driver.Conn) error {
		rows, err := conn.Query(ctx, query, s.settings.Database, table)
		if err != nil {
			return Classify(s.settings, err)
		}
		defer rows.Close()
		for rows.Next() {
			var p string
			var t uint32
			if err := rows.Scan(&p, &t); err != nil {
				return err
			}
			newest[p] = max(newest[p], t)
		}
		return Classify(s.settings, rows.Err())
	}
	if s.settings.Cluster == "" {
		if err := read(s.conn); err != nil {
			return nil, err
		}
	} else {
		nodes, err := s.clusterNodes(ctx)
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			conn, err := s.nodeConn(n)
			if err == nil {
				err = read(conn)
			}
			var ce *ConnError
			if err != nil && !errors.As(err, &ce) {
				return nil, fmt.Errorf("list the parts of %s on %s: %w", table, n.Addr(), err)
			}
		}
	}
	var out []string
	for p, t := range newest {
		if int64(t) < cutoff.Unix() {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// newestInPartition is the Unix time of the newest row in one monthly
// partition of a rule's table.
func (s *Store) newestInPartition(ctx context.Context, g ddlGen, r RetentionRule, partition string) (int64, error) {
	t := mustTable(r.Table)
	var newest uint32
	// The plain name: in cluster mode the Distributed table, so every
	// shard's rows count (a shard that does not answer fails the read).
	q := fmt.Sprintf("SELECT max(toUInt32(%s)) FROM %s WHERE %s = %s",
		dialect.Quote(r.Column), g.qualified(r.Table), t.PartitionBy, partition)
	if err := s.conn.QueryRow(ctx, q).Scan(&newest); err != nil {
		return 0, Classify(s.settings, fmt.Errorf("read the newest row of partition %s of %s: %w", partition, r.Table, err))
	}
	return int64(newest), nil
}

func (s *Store) deleteOld(ctx context.Context, g ddlGen, r RetentionRule, cutoff time.Time) ([]RetentionAction, error) {
	// Counted through the plain name: every shard's rows (Distributed in cluster mode).
	table := g.qualified(r.Table)
	col := dialect.Quote(r.Column)
	at := uint32(max(cutoff.Unix(), 0))
	var n uint64
	if err := s.conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s WHERE %s < toDateTime(?)", table, col), at).Scan(&n); err != nil {
		return nil, Classify(s.settings, fmt.Errorf("count expired rows of %s: %w", r.Table, err))
	}
	if n == 0 {
		// A mutation rewrites parts; issue none when nothing is due.
		return nil, nil
	}
	stmt := g.deleteBefore(r, at)
	if err := s.conn.Exec(ctx, stmt); err != nil {
		return nil, Classify(s.settings, fmt.Errorf("delete expired rows of %s: %w", r.Table, err))
	}
	return []RetentionAction{{Table: r.Table, Method: r.Method, Statement: stmt}}, nil
}

// The retention statements. Values spliced in are our own: a number of days,
// a partition id checked against partitionRe, a Unix time.

func (g ddlGen) modifyTTL(r RetentionRule) string {
	return fmt.Sprintf("ALTER TABLE %s%s MODIFY TTL %s", g.qualified(g.storage(r.Table)), g.onCluster(), ttlExpr(r.Column, r.Days))
}

func (g ddlGen) dropPartition(table, partition string) string {
	return fmt.Sprintf("ALTER TABLE %s%s DROP PARTITION %s", g.qualified(g.storage(table)), g.onCluster(), partition)
}

func (g ddlGen) deleteBefore(r RetentionRule, unix uint32) string {
	return fmt.Sprintf("ALTER TABLE %s%s DELETE WHERE %s < toDateTime(%d)", g.qualified(g.storage(r.Table)), g.onCluster(), dialect.Quote(r.Column), unix)
}

// ModifyTTL is the statement ApplyRetention runs to give rule r's table its
// TTL on a server of dialect d with settings s. It is pure, so the spelling
// can be checked on servers the tests cannot run (see pkg/internal/conformance).
func ModifyTTL(d dialect.Dialect, s settings.Settings, r RetentionRule) (string, error) {
	g, err := newDDLGen(d, s)
	if err != nil {
		return "", err
	}
	return g.modifyTTL(r), nil
}

// TTLMatches reports whether a table's engine_full (system.tables) already
// has rule r's TTL, in which case ApplyRetention leaves the table alone.
func TTLMatches(engineFull string, r RetentionRule) bool {
	return ttlMatches(engineFull, r.Column, r.Days)
}
