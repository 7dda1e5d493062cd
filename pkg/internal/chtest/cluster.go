package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/internal/chserver"
)

// Cluster is the test cluster scripts/clickhouse-cluster.sh starts: one
// ZooKeeper and four servers, 2 shards x 2 replicas. Tests find it through
// CLICKHOUSE_CLUSTER_ADDRS, CLICKHOUSE_CLUSTER and CLICKHOUSE_CLUSTER_DIR:
//
//	c := chtest.NewCluster(t)          // skips without the cluster (fails under CI=true)
//	db := c.NewDatabase(t)             // created ON CLUSTER, dropped ON CLUSTER at the end
//	c.Kill(t, c.Shard(1)[1])           // shard 1's second replica dies (SIGKILL)
//	c.Start(t, c.Shard(1)[1])          // and comes back
//
// # Notes
//
// A server stopped by a test is started again when the test ends if the test
// did not do it, so one failing test does not leave the cluster short for the
// next. Servers are stopped only by the pid their directory records, and
// only while that pid still runs their config (see scripts/clickhouse-cluster.sh).
type Cluster struct {
	// Name is the 2x2 cluster, for the cluster setting.
	Name string
	// AllNodes is the cluster with every server as its own shard, for ON
	// CLUSTER DDL on tables that are not replicated.
	AllNodes string
	Dir      string
	// Nodes in order: shard 1 replica 1, shard 1 replica 2, shard 2 replica 1, shard 2 replica 2.
	Nodes []*Node
}

// Node is one server of the cluster.
type Node struct {
	// Index is the node's position in Cluster.Nodes, from 0; its directory is node<Index+1>.
	Index          int
	Shard, Replica int // from 1
	Host           string
	Port           int
	dir            string
}

// Addr is host:port of the node's native protocol.
func (n *Node) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

func (n *Node) String() string {
	return fmt.Sprintf("node%d (shard %d replica %d, %s)", n.Index+1, n.Shard, n.Replica, n.Addr())
}

// Name of the 4x1 cluster scripts/clickhouse-cluster.sh defines beside the 2x2 one.
const clusterAllNodes = "kpiflow_4x1"

// NewCluster returns the test cluster, or skips the test without one (fails
// under CI=true, where the cluster suite must run).
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	addrs, name, dir := os.Getenv("CLICKHOUSE_CLUSTER_ADDRS"), os.Getenv("CLICKHOUSE_CLUSTER"), os.Getenv("CLICKHOUSE_CLUSTER_DIR")
	if addrs == "" || name == "" || dir == "" {
		msg := "CLICKHOUSE_CLUSTER_ADDRS, CLICKHOUSE_CLUSTER and CLICKHOUSE_CLUSTER_DIR are not all set: " +
			`run eval "$(scripts/clickhouse-cluster.sh start)" first`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	c := &Cluster{Name: name, AllNodes: clusterAllNodes, Dir: dir}
	list := strings.Split(addrs, ",")
	if len(list) != 4 {
		t.Fatalf("CLICKHOUSE_CLUSTER_ADDRS=%q: expected the four servers' host:port", addrs)
	}
	for i, a := range list {
		host, portText, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatalf("CLICKHOUSE_CLUSTER_ADDRS: %q: expected host:port", a)
		}
		port, err := strconv.Atoi(portText)
		if err != nil {
			t.Fatalf("CLICKHOUSE_CLUSTER_ADDRS: %q: port is not a number", a)
		}
		c.Nodes = append(c.Nodes, &Node{Index: i, Shard: i/2 + 1, Replica: i%2 + 1, Host: host, Port: port,
			dir: filepath.Join(dir, "node"+strconv.Itoa(i+1))})
	}
	return c
}

// Shard returns the shard's two nodes (shards count from 1).
func (c *Cluster) Shard(n int) []*Node { return c.Nodes[2*(n-1) : 2*n] }

// Conn opens a connection to one node, closed when t ends.
func (c *Cluster) Conn(t testing.TB, n *Node) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{n.Addr()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", n, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// ClusterDatabase is a database created on every node for one test.
type ClusterDatabase struct {
	Name    string
	Cluster *Cluster
	// Conns has one connection per node, in Cluster.Nodes order.
	Conns []driver.Conn
}

// NewDatabase creates a uniquely named database ON CLUSTER and drops it ON
// CLUSTER when t ends (after any node the test stopped is back).
func (c *Cluster) NewDatabase(t testing.TB) *ClusterDatabase {
	t.Helper()
	db := &ClusterDatabase{Name: "kpiflow_ctest_" + randomHex(6), Cluster: c}
	for _, n := range c.Nodes {
		db.Conns = append(db.Conns, c.Conn(t, n))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := db.Conns[0].Exec(ctx, fmt.Sprintf("CREATE DATABASE %s ON CLUSTER %s", db.Name, c.Name)); err != nil {
		t.Fatalf("create test database on cluster %s: %v", c.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := db.Conns[0].Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s ON CLUSTER %s", db.Name, c.Name)); err != nil {
			t.Logf("drop test database %s on cluster %s: %v", db.Name, c.Name, err)
		}
	})
	return db
}

// JSONData is data source jsonData pointing at node n's database, with the
// cluster setting on.
func (db *ClusterDatabase) JSONData(n *Node) map[string]any {
	return map[string]any{"host": n.Host, "port": n.Port, "database": db.Name, "cluster": db.Cluster.Name,
		"dialTimeout": 5, "queryTimeout": 120}
}

func randomHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

// Pid is the pid the node's directory records.
func (n *Node) Pid(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dir, "pid"))
	if err != nil {
		t.Fatalf("read %s's pid: %v", n, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s's pid file: %v", n, err)
	}
	return pid
}

// running reports whether pid is alive and still runs the node's config, so
// that a pid reused by another process is never signalled.
func (n *Node) running(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return strings.Contains(string(cmdline), filepath.Join(n.dir, "config.xml")) && chserver.Alive(pid)
}

// Kill ends the nodes with SIGKILL, as a crash or a power cut would, and
// waits until they are gone.
func (c *Cluster) Kill(t testing.TB, nodes ...*Node) { c.signal(t, syscall.SIGKILL, nodes) }

// Stop ends the nodes with SIGTERM (a clean shutdown) and waits until they
// are gone.
func (c *Cluster) Stop(t testing.TB, nodes ...*Node) { c.signal(t, syscall.SIGTERM, nodes) }

func (c *Cluster) signal(t testing.TB, sig syscall.Signal, nodes []*Node) {
	t.Helper()
	for _, n := range nodes {
		pid := n.Pid(t)
		if !n.running(pid) {
			t.Fatalf("%s (pid %d) is not running", n, pid)
		}
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatalf("signal %s (pid %d): %v", n, pid, err)
		}
		t.Cleanup(func() {
			// Started again by the test already, or back now for the next test.
			if !n.running(n.Pid(t)) {
				if err := n.start(); err != nil {
					t.Errorf("restart %s after the test: %v", n, err)
				}
			}
		})
	}
	for _, n := range nodes {
		pid := n.Pid(t)
		deadline := time.Now().Add(30 * time.Second)
		for n.running(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("%s (pid %d) still runs 30 s after %v", n, pid, sig)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// Start starts stopped nodes again (with their start script, which records
// the new pid) and waits until each answers a query.
func (c *Cluster) Start(t testing.TB, nodes ...*Node) {
	t.Helper()
	for _, n := range nodes {
		if n.running(n.Pid(t)) {
			t.Fatalf("%s is running already", n)
		}
		if err := n.start(); err != nil {
			t.Fatal(err)
		}
	}
}

func (n *Node) start() error {
	out, err := exec.Command(filepath.Join(n.dir, "start")).Output()
	if err != nil {
		return fmt.Errorf("start %s: %w", n, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return fmt.Errorf("start %s: its start script printed %q, not a pid", n, out)
	}
	return n.waitReady(pid, 60*time.Second)
}

// waitReady waits until the node answers SELECT 1.
func (n *Node) waitReady(pid int, timeout time.Duration) error {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{n.Addr()}, DialTimeout: time.Second})
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = conn.Exec(ctx, "SELECT 1")
		cancel()
		if err == nil {
			return nil
		}
		if !n.running(pid) {
			log, _ := os.ReadFile(filepath.Join(n.dir, "log", "error.log"))
			return fmt.Errorf("%s exited while starting: %w; end of its error log:\n%s", n, err, tail(log, 2000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %s: %w", n, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// WaitReplicated waits until every replicated table of the database has an
// empty replication queue on every node and the replicas of each shard hold
// the same parts, i.e. replicas that were down have caught up.
func (db *ClusterDatabase) WaitReplicated(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = db.replicated(); last == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("replicas of %s did not catch up within %s: %v", db.Name, timeout, last)
}

func (db *ClusterDatabase) replicated() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, conn := range db.Conns {
		var queued, readonly, inserts uint64
		err := conn.QueryRow(ctx, `SELECT sum(queue_size), sum(is_readonly), sum(inserts_in_queue) + sum(merges_in_queue)
FROM system.replicas WHERE database = ?`, db.Name).Scan(&queued, &readonly, &inserts)
		if err != nil {
			return fmt.Errorf("%s: %w", db.Cluster.Nodes[i], err)
		}
		if queued != 0 || readonly != 0 || inserts != 0 {
			return fmt.Errorf("%s: %d entries in the replication queue, %d readonly tables", db.Cluster.Nodes[i], queued, readonly)
		}
	}
	for s := 1; s <= 2; s++ {
		a, b := db.Cluster.Shard(s)[0].Index, db.Cluster.Shard(s)[1].Index
		ra, err := db.localRows(ctx, db.Conns[a])
		if err != nil {
			return err
		}
		rb, err := db.localRows(ctx, db.Conns[b])
		if err != nil {
			return err
		}
		if ra != rb {
			return fmt.Errorf("shard %d: replicas hold different rows: %v vs %v", s, ra, rb)
		}
	}
	return nil
}

// localRows maps each table of the database on one node to its row count.
func (db *ClusterDatabase) localRows(ctx context.Context, conn driver.Conn) (string, error) {
	rows, err := conn.Query(ctx, `SELECT table, sum(rows) FROM system.parts
WHERE database = ? AND active GROUP BY table ORDER BY table`, db.Name)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var table string
		var n uint64
		if err := rows.Scan(&table, &n); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s=%d ", table, n)
	}
	return b.String(), rows.Err()
}

// LocalCounts runs query (a SELECT of one UInt64, such as a count of a
// _local table) on every node and returns the answers in node order.
func (db *ClusterDatabase) LocalCounts(t testing.TB, query string, args ...any) []uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make([]uint64, len(db.Conns))
	for i, conn := range db.Conns {
		if err := conn.QueryRow(ctx, query, args...).Scan(&out[i]); err != nil {
			t.Fatalf("%s on %s: %v", query, db.Cluster.Nodes[i], err)
		}
	}
	return out
}
