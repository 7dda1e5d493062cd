package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
)

// NodeStatus is the state of one server of the cluster.
type NodeStatus string

// The node states, worst last.
const (
	// NodeReady: every table and view of the applied migrations exists and
	// no replicated table is read-only.
	NodeReady NodeStatus = "ready"
	// NodeReadonly: a replicated table is read-only (the server lost its
	// ZooKeeper session, or is still starting): it serves reads, not writes.
	NodeReadonly NodeStatus = "readonly"
	// NodeIncomplete: a table or view is missing on this server, or one a
	// migration dropped is still there (ON CLUSTER DDL did not reach it):
	// POST admin/migrate creates or drops it.
	NodeIncomplete NodeStatus = "incomplete"
	// NodeUnreachable: the server did not answer.
	NodeUnreachable NodeStatus = "unreachable"
)

// NodeState is one server of the configured cluster, as read from it directly.
type NodeState struct {
	Shard         int        `json:"shard"`
	Replica       int        `json:"replica"`
	Host          string     `json:"host"`
	Port          int        `json:"port"`
	Status        NodeStatus `json:"status"`
	ServerVersion string     `json:"serverVersion,omitempty"`
	// Missing lists the tables and views of the applied migrations that the
	// server lacks.
	Missing []string `json:"missing,omitempty"`
	// Leftover lists the tables and views the applied migrations dropped
	// that the server still has.
	Leftover []string `json:"leftover,omitempty"`
	// ReadonlyTables lists the replicated tables that refuse writes there.
	ReadonlyTables []string `json:"readonlyTables,omitempty"`
	// QueueSize is the number of replication tasks (parts to fetch, merges,
	// mutations) waiting on the server, over all kpiflow tables; DelaySeconds
	// how far its most lagging table is behind its other replica.
	QueueSize    uint64 `json:"queueSize"`
	DelaySeconds uint64 `json:"delaySeconds"`
	// Error says why the server is unreachable, or what failed reading it.
	Error string `json:"error,omitempty"`
}

// Addr is the node's host:port.
func (n NodeState) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

// ClusterState reads every server of the configured cluster: the servers
// come from system.clusters on the connected server; each is then asked
// directly, with the data source's credentials, for its tables and
// replication state. Servers that do not answer within the dial timeout are
// reported unreachable; the call fails only when the cluster itself cannot
// be listed. It returns nil without a cluster setting.
//
// # Notes
//
// Expected objects are those of the migrations schema_migrations records as
// done: both tables of each pair (the Distributed table and its _local
// table) and the views; the objects those migrations dropped must be gone. A server can be reachable from ClickHouse and not
// from Grafana; its error then says that Grafana could not reach it.
func (s *Store) ClusterState(ctx context.Context) ([]NodeState, error) {
	if s.settings.Cluster == "" {
		return nil, nil
	}
	nodes, err := s.clusterNodes(ctx)
	if err != nil {
		return nil, err
	}
	// Without the schema's state (schema_migrations is unreadable while a
	// shard is down) the servers are still reported, without the check of
	// their tables.
	expected, gone, err := s.expectedObjects(ctx)
	if err != nil {
		expected, gone = nil, nil
	}
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.readNode(ctx, &nodes[i], expected, gone)
		}()
	}
	wg.Wait()
	return nodes, nil
}

func (s *Store) clusterNodes(ctx context.Context) ([]NodeState, error) {
	rows, err := s.conn.Query(ctx,
		"SELECT shard_num, replica_num, host_name, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num",
		s.settings.Cluster)
	if err != nil {
		return nil, Classify(s.settings, fmt.Errorf("list the servers of cluster %s: %w", s.settings.Cluster, err))
	}
	defer rows.Close()
	var out []NodeState
	for rows.Next() {
		var shard, replica uint32
		var host string
		var port uint16
		if err := rows.Scan(&shard, &replica, &host, &port); err != nil {
			return nil, fmt.Errorf("list the servers of cluster %s: %w", s.settings.Cluster, err)
		}
		out = append(out, NodeState{Shard: int(shard), Replica: int(replica), Host: host, Port: int(port)})
	}
	if err := rows.Err(); err != nil {
		return nil, Classify(s.settings, fmt.Errorf("list the servers of cluster %s: %w", s.settings.Cluster, err))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cluster %q is not in remote_servers of %s: check the cluster setting (jsonData.cluster) against system.clusters",
			s.settings.Cluster, s.settings.Addr())
	}
	return out, nil
}

// expectedObjects lists what every server must hold for the migrations
// recorded as done, and what those migrations dropped (none before the
// schema is installed).
func (s *Store) expectedObjects(ctx context.Context) (expected, gone []string, err error) {
	state, err := s.SchemaState(ctx)
	if err != nil {
		return nil, nil, err
	}
	if state.Status == SchemaMissing {
		return nil, nil, nil
	}
	rec, err := s.readMigrations(ctx)
	if err != nil {
		return nil, nil, err
	}
	g, err := newDDLGen(dialect.Dialect{}, s.settings)
	if err != nil {
		return nil, nil, err
	}
	expected = []string{schema.TableSchemaMigrations, g.storage(schema.TableSchemaMigrations)}
	for _, def := range migrationDefs() {
		if rec[def.version].done {
			expected = append(expected, def.names(g)...)
			gone = append(gone, def.dropped(g)...)
		}
	}
	return expected, gone, nil
}

// nodePools holds a small pool per server of the cluster, opened on first
// use (opening does not connect) and closed with the Store.
type nodePools struct {
	mu    sync.Mutex
	conns map[string]driver.Conn
}

func (p *nodePools) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// nodeSettings are the data source's settings pointed at one server, so
// that Classify's advice names that server.
func (s *Store) nodeSettings(n NodeState) settings.Settings {
	ns := s.settings
	ns.Host, ns.Port = n.Host, n.Port
	return ns
}

// nodeConn is the pool to one server, with the data source's credentials.
func (s *Store) nodeConn(n NodeState) (driver.Conn, error) {
	s.nodes.mu.Lock()
	defer s.nodes.mu.Unlock()
	if c, ok := s.nodes.conns[n.Addr()]; ok {
		return c, nil
	}
	opts, err := Options(s.settings)
	if err != nil {
		return nil, err
	}
	opts.Addr = []string{n.Addr()}
	opts.MaxOpenConns, opts.MaxIdleConns = 2, 1
	c, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open a connection pool to %s: %w", n.Addr(), err)
	}
	if s.nodes.conns == nil {
		s.nodes.conns = map[string]driver.Conn{}
	}
	s.nodes.conns[n.Addr()] = c
	return c, nil
}

// onEveryNode runs f on every server of the cluster at once, each through
// its own pool, and returns the servers with each one's error (parallel).
func (s *Store) onEveryNode(ctx context.Context, f func(n NodeState, conn driver.Conn) error) ([]NodeState, []error, error) {
	nodes, err := s.clusterNodes(ctx)
	if err != nil {
		return nil, nil, err
	}
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := s.nodeConn(n)
			if err == nil {
				err = f(n, conn)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return nodes, errs, nil
}

// readNode fills n from the server itself.
func (s *Store) readNode(ctx context.Context, n *NodeState, expected, gone []string) {
	fail := func(status NodeStatus, err error) {
		n.Status, n.Error = status, err.Error()
	}
	conn, err := s.nodeConn(*n)
	if err != nil {
		fail(NodeUnreachable, err)
		return
	}
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&n.ServerVersion); err != nil {
		fail(NodeUnreachable, fmt.Errorf("Grafana could not reach %s: %w", n.Addr(), err))
		return
	}
	have, err := names(ctx, conn, "SELECT name FROM system.tables WHERE database = ?", s.settings.Database)
	if err != nil {
		fail(NodeUnreachable, fmt.Errorf("list the tables on %s: %w", n.Addr(), err))
		return
	}
	for _, e := range expected {
		if !have[e] {
			n.Missing = append(n.Missing, e)
		}
	}
	for _, g := range gone {
		if have[g] {
			n.Leftover = append(n.Leftover, g)
		}
	}
	rows, err := conn.Query(ctx, `SELECT table, is_readonly, queue_size, absolute_delay
FROM system.replicas WHERE database = ? ORDER BY table`, s.settings.Database)
	if err != nil {
		fail(NodeUnreachable, fmt.Errorf("read the replication state on %s: %w", n.Addr(), err))
		return
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		var readonly uint8
		var queue uint32
		var delay uint64
		if err := rows.Scan(&table, &readonly, &queue, &delay); err != nil {
			fail(NodeUnreachable, fmt.Errorf("read the replication state on %s: %w", n.Addr(), err))
			return
		}
		if readonly != 0 {
			n.ReadonlyTables = append(n.ReadonlyTables, table)
		}
		n.QueueSize += uint64(queue)
		n.DelaySeconds = max(n.DelaySeconds, delay)
	}
	if err := rows.Err(); err != nil {
		fail(NodeUnreachable, fmt.Errorf("read the replication state on %s: %w", n.Addr(), err))
		return
	}
	switch {
	case len(n.Missing) > 0 || len(n.Leftover) > 0:
		n.Status = NodeIncomplete
	case len(n.ReadonlyTables) > 0:
		n.Status = NodeReadonly
	default:
		n.Status = NodeReady
	}
}

// acrossNodes makes existing (the connected server's tables) say what the
// cluster has: in cluster mode a table or view missing on any server that
// answers is missing, and one a migration dropped that any server still has
// exists (ON CLUSTER DDL that did not reach it); either way its migration
// runs again.
func acrossNodes(existing map[string]string, nodes []NodeState) {
	for _, n := range nodes {
		for _, name := range n.Missing {
			delete(existing, name)
		}
		for _, name := range n.Leftover {
			if _, ok := existing[name]; !ok {
				existing[name] = "(on " + n.Addr() + ")"
			}
		}
	}
}

func names(ctx context.Context, conn driver.Conn, query string, args ...any) (map[string]bool, error) {
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out[name] = true
	}
	return out, rows.Err()
}

// ClusterSummary is a sentence about the servers for the health check, and
// whether kpiflow can work: false when a shard has no server that answers or
// a server lacks tables (queries then fail or miss data).
func ClusterSummary(cluster string, nodes []NodeState) (string, bool) {
	ready := 0
	var problems []string
	shardUp := map[int]bool{}
	for _, n := range nodes {
		shardUp[n.Shard] = shardUp[n.Shard] || n.Status == NodeReady || n.Status == NodeReadonly
		if n.Status == NodeReady {
			ready++
			continue
		}
		p := fmt.Sprintf("%s (shard %d, replica %d) is %s", n.Addr(), n.Shard, n.Replica, n.Status)
		switch n.Status {
		case NodeIncomplete:
			var what []string
			if len(n.Missing) > 0 {
				what = append(what, "missing "+strings.Join(n.Missing, ", "))
			}
			if len(n.Leftover) > 0 {
				what = append(what, "still has "+strings.Join(n.Leftover, ", ")+", which a migration dropped")
			}
			p += " (" + strings.Join(what, "; ") + ": apply migrations again with POST admin/migrate)"
		case NodeReadonly:
			p += " (read-only tables " + strings.Join(n.ReadonlyTables, ", ") + ": its ZooKeeper session is lost or it is starting)"
		case NodeUnreachable:
			p += ": " + n.Error
		}
		problems = append(problems, p)
	}
	ok := true
	var down []string
	for shard, up := range shardUp {
		if !up {
			ok = false
			down = append(down, strconv.Itoa(shard))
		}
	}
	sort.Strings(down)
	for _, n := range nodes {
		if n.Status == NodeIncomplete {
			ok = false
		}
	}
	msg := fmt.Sprintf("Cluster %s: %d of %d servers ready.", cluster, ready, len(nodes))
	if len(down) > 0 {
		msg += fmt.Sprintf(" No server of shard %s answers: queries fail and ingest answers 503 until one is back.", strings.Join(down, ", "))
	}
	if len(problems) > 0 {
		msg += " " + strings.Join(problems, "; ") + "."
	}
	return msg, ok
}

// ReadReplicas reads one kpiflow table so that every row already written is
// seen: on one server a plain read; in cluster mode the query runs on every
// server of the cluster against its _local table. Through the Distributed
// table one replica of each shard answers, chosen at random, and a row
// inserted a moment ago into the other replica may not have been fetched yet
// (a few milliseconds on a quiet network): the duplicate check, the ledger
// head and the Idempotency-Key lookup must not miss it.
//
//	err := st.ReadReplicas(ctx, "ingest_ledger", func(t string) string {
//		return "SELECT max(seq) FROM " + t + " WHERE stream = ?"
//	}, []any{"kpi"}, func(r driver.Rows) error { ... r.Scan(&seq) ... })
//
// # Notes
//
// sql builds the query from the qualified table name. scan sees every row of
// every server, one at a time (the same row once per replica). Servers that
// do not answer are skipped while each shard has one that does; otherwise
// the error is a ConnError naming the shard. A row stored only on a server
// that died before its replica fetched it is missed until it is back: that
// window is ClickHouse's (no insert_quorum, see the README's cluster section).
func (s *Store) ReadReplicas(ctx context.Context, table string, sql func(table string) string, args []any, scan func(driver.Rows) error) error {
	if _, ok := schema.Lookup(table); !ok {
		return fmt.Errorf("read %q: not a kpiflow table", table)
	}
	read := func(conn driver.Conn, name string, cs settings.Settings, scan func(driver.Rows) error) error {
		rows, err := conn.Query(ctx, sql(name), args...)
		if err != nil {
			return Classify(cs, fmt.Errorf("read %s on %s: %w", table, cs.Addr(), err))
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return Classify(cs, rows.Err())
	}
	if s.settings.Cluster == "" {
		return read(s.conn, s.table(table), s.settings, scan)
	}
	g, err := newDDLGen(dialect.Dialect{}, s.settings)
	if err != nil {
		return err
	}
	var mu sync.Mutex // scan sees one row at a time
	locked := func(r driver.Rows) error {
		mu.Lock()
		defer mu.Unlock()
		return scan(r)
	}
	nodes, errs, err := s.onEveryNode(ctx, func(n NodeState, conn driver.Conn) error {
		return read(conn, g.qualified(g.storage(table)), s.nodeSettings(n), locked)
	})
	if err != nil {
		return err
	}
	answered := map[int]bool{}
	for i, err := range errs {
		var ce *ConnError
		switch {
		case err == nil:
			answered[nodes[i].Shard] = true
		case !errors.As(err, &ce):
			return err
		}
	}
	for _, n := range nodes {
		if !answered[n.Shard] {
			var down []string
			for _, m := range nodes {
				if m.Shard == n.Shard {
					down = append(down, m.Addr())
				}
			}
			return &ConnError{Category: CategoryUnreachable, Advice: shardDownAdvice(s.settings.Cluster, n.Shard),
				Err: fmt.Errorf("read %s: no server of shard %d answers (%s)", table, n.Shard, strings.Join(down, ", "))}
		}
	}
	return nil
}
