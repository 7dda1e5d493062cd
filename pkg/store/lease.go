package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/settings"
)

// DefaultLeaseTTL is how long a lease lives without renewal. A holder renews
// it every third of that; a holder that died blocks other writers of its
// stream for at most this long.
const DefaultLeaseTTL = 30 * time.Second

// checkMargin is how many seconds before its expiry Check stops trusting
// the clock and asks the server whether the lease is still held.
const checkMargin = 3

// ErrLeaseLost is returned when a lease expired and another writer took it.
var ErrLeaseLost = errors.New("the writer lease was taken by another writer after it expired")

// leasePrefix begins the name of every lease table.
const leasePrefix = "ingest_lease_"

var leaseNameRe = regexp.MustCompile(`^[a-z]+$`)

// ClickHouse exception codes the lease tells apart.
const (
	codeUnknownTable       = 60
	codeTableAlreadyExists = 57
)

// Lease is one writer's exclusive right to a named resource (an ingest
// stream) across every process that shares the ClickHouse server: several
// Grafana replicas, or the kpiflow command beside Grafana.
//
//	l, err := st.AcquireLease(ctx, "kpi", store.DefaultLeaseTTL)
//	defer l.Release(context.WithoutCancel(ctx))
//	... write; before committing: if err := l.Check(ctx); err != nil { give up }
//
// # Notes
//
// ClickHouse 18.16 has no transactions and no compare-and-set on rows, but a
// RENAME TABLE of one name succeeds for exactly one caller: the server holds
// a lock per table name while it renames, and the second caller finds the
// source gone. A lease is therefore an empty table named
// ingest_lease_<name>_<generation>_<expiry>: expiry 0 is free, otherwise it
// is held until that Unix time (the server's clock). Taking the lease renames
// the newest generation g (free, or held past its expiry) to g+1 held until
// now+TTL; renewing renames g+1 to g+2 with a later expiry; releasing renames
// it to g+3, free. The generation is the fencing token: a holder that finds
// its table gone has lost the lease. The first lease table of a name is
// created on demand; two creators racing can leave an extra table of a lower
// generation, which is never the newest and never taken.
//
// In cluster mode the lease tables live on one server only, the first of
// the cluster (shard 1, replica 1 in remote_servers, the same list on every
// server), whichever server a writer is connected to: a RENAME there is as
// atomic as on one server and takes a millisecond. ON CLUSTER renames were
// tried first and did not do: with one server down each waited the whole
// distributed_ddl_task_timeout and then failed even where it had succeeded,
// so one lost replica stopped all ingest, and every lease step added two
// tasks to the distributed DDL queue. The price is that ingest waits
// (answers 503) while that first server is down.
//
// A pool that could not free its lease (the server went away) takes it back
// at once on its next attempt; other pools wait for it to expire.
//
// Limits: mutual exclusion holds as long as a holder finishes its writes
// within the TTL of its last renewal. A holder cut off from ClickHouse for
// longer than the TTL loses the lease, and a write it had already sent may
// still land after another writer took over; Check right before the ledger
// link (answered from the clock while the lease is seconds from its expiry,
// from the server after that) keeps such a holder from extending the chain,
// but cannot undo the write.
type Lease struct {
	st *Store
	// conn is the server holding the lease tables (where names it), and g
	// writes their DDL there, never ON CLUSTER.
	conn  driver.Conn
	where string
	// server is the settings with the lease server's address, for advice.
	server settings.Settings
	g      ddlGen
	name   string
	ttl    time.Duration

	mu sync.Mutex
	// cur is the table that holds the lease now ("" once released or lost).
	cur  string
	gen  uint64
	lost bool
	// offset is the server's clock minus ours, measured when taken.
	offset time.Duration
	// expires is when the lease runs out, by the server's clock (Unix).
	expires int64

	stop chan struct{}
	done chan struct{}
}

// leaseTable is one parsed lease table name.
type leaseTable struct {
	name    string
	gen     uint64
	expires int64
}

func parseLeaseTable(prefix, name string) (leaseTable, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	genText, expText, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 {
		return leaseTable{}, false
	}
	gen, err1 := strconv.ParseUint(genText, 10, 64)
	exp, err2 := strconv.ParseInt(expText, 10, 64)
	if err1 != nil || err2 != nil {
		return leaseTable{}, false
	}
	return leaseTable{name: name, gen: gen, expires: exp}, true
}

func leaseTableName(prefix string, gen uint64, expires int64) string {
	return prefix + strconv.FormatUint(gen, 10) + "_" + strconv.FormatInt(expires, 10)
}

// AcquireLease takes the lease called name (lowercase letters), waiting while
// another writer holds it, until ctx ends. The lease is renewed in the
// background until Release.
func (s *Store) AcquireLease(ctx context.Context, name string, ttl time.Duration) (*Lease, error) {
	if !leaseNameRe.MatchString(name) {
		return nil, fmt.Errorf("lease name %q: expected lowercase letters", name)
	}
	if ttl < time.Second {
		return nil, fmt.Errorf("lease %s: a TTL of %s is too short (at least 1s)", name, ttl)
	}
	g, err := s.ddl(ctx)
	if err != nil {
		return nil, err
	}
	conn, server, where, err := s.leaseServer(ctx)
	if err != nil {
		return nil, err
	}
	g.cluster = ""
	l := &Lease{st: s, conn: conn, where: where, server: server, g: g, name: name, ttl: ttl}
	wait := 10 * time.Millisecond
	for {
		ok, retryIn, err := l.try(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			l.stop, l.done = make(chan struct{}), make(chan struct{})
			go l.renewLoop()
			return l, nil
		}
		if retryIn <= 0 || retryIn > wait {
			retryIn = wait
		}
		// Jitter, so writers that lost a race do not retry in step.
		retryIn = retryIn/2 + rand.N(retryIn/2+1)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the %s writer lease (held by another writer): %w", name, ctx.Err())
		case <-time.After(retryIn):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

func (l *Lease) prefix() string { return leasePrefix + l.name + "_" }

// leaseServer is the server that holds the lease tables: the connected one,
// or in cluster mode the cluster's first server (see Lease), named in where
// for messages.
func (s *Store) leaseServer(ctx context.Context) (driver.Conn, settings.Settings, string, error) {
	if s.settings.Cluster == "" {
		return s.conn, s.settings, s.settings.Addr(), nil
	}
	nodes, err := s.clusterNodes(ctx)
	if err != nil {
		return nil, settings.Settings{}, "", err
	}
	conn, err := s.nodeConn(nodes[0])
	if err != nil {
		return nil, settings.Settings{}, "", err
	}
	return conn, s.nodeSettings(nodes[0]), fmt.Sprintf("%s (the first server of cluster %s, which holds every writer lease)",
		nodes[0].Addr(), s.settings.Cluster), nil
}

// newest lists the lease tables and returns the newest generation and the
// server's clock (ok is false when there is none yet).
func (l *Lease) newest(ctx context.Context) (leaseTable, time.Time, bool, error) {
	var now time.Time
	var names []string
	err := l.listTables(ctx, "SELECT now(), groupArray(name) FROM system.tables WHERE database = ? AND match(name, ?)",
		[]any{l.st.settings.Database, "^" + regexp.QuoteMeta(l.prefix()) + "[0-9]+_[0-9]+$"}, &now, &names)
	if err != nil {
		return leaseTable{}, now, false, Classify(l.server, fmt.Errorf("read the %s writer lease on %s: %w", l.name, l.where, err))
	}
	var best leaseTable
	found := false
	for _, n := range names {
		if t, ok := parseLeaseTable(l.prefix(), n); ok && (!found || t.gen > best.gen) {
			best, found = t, true
		}
	}
	return best, now, found, nil
}

// try makes one attempt to take the lease. When it is held, retryIn is how
// long until it expires.
func (l *Lease) try(ctx context.Context) (bool, time.Duration, error) {
	cur, now, found, err := l.newest(ctx)
	if err != nil {
		return false, 0, err
	}
	if !found {
		err := l.exec(ctx, fmt.Sprintf("CREATE TABLE %s%s (held UInt8) ENGINE = Memory",
			l.g.qualified(leaseTableName(l.prefix(), 0, 0)), l.g.onCluster()))
		if err != nil && !isCode(err, codeTableAlreadyExists) {
			return false, 0, Classify(l.server, fmt.Errorf("create the %s writer lease on %s: %w", l.name, l.where, err))
		}
		return false, 0, nil
	}
	if cur.expires != 0 && cur.expires > now.Unix() && !l.st.isOrphan(l.name, cur.name) {
		return false, time.Duration(cur.expires-now.Unix()) * time.Second, nil
	}
	gen, expires := cur.gen+1, now.Unix()+int64(l.ttl/time.Second)
	next := leaseTableName(l.prefix(), gen, expires)
	if err := l.rename(ctx, cur.name, next); err != nil {
		if isCode(err, codeUnknownTable) || isCode(err, codeTableAlreadyExists) {
			return false, 0, nil // another writer was faster
		}
		return false, 0, Classify(l.server, fmt.Errorf("take the %s writer lease on %s: %w", l.name, l.where, err))
	}
	l.st.setOrphan(l.name, "")
	l.mu.Lock()
	l.cur, l.gen, l.offset, l.expires = next, gen, time.Until(now), expires
	l.mu.Unlock()
	return true, 0, nil
}

// isOrphan reports whether table is a lease this pool failed to free.
func (s *Store) isOrphan(name, table string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return table != "" && s.orphans[name] == table
}

// setOrphan records (table "": forgets) the lease this pool failed to free.
func (s *Store) setOrphan(name, table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.orphans == nil {
		s.orphans = map[string]string{}
	}
	if table == "" {
		delete(s.orphans, name)
		return
	}
	s.orphans[name] = table
}

// listTables reads system.tables. On 18.16 such a read fails with "table
// doesn't exist" when a table is renamed while the server lists them; that is
// the very race the lease is about, so the read is simply made again.
func (l *Lease) listTables(ctx context.Context, query string, args []any, dest ...any) error {
	for attempt := 0; ; attempt++ {
		err := l.conn.QueryRow(ctx, query, args...).Scan(dest...)
		if err == nil || !isCode(err, codeUnknownTable) || attempt == 20 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * time.Millisecond):
		}
	}
}

func (l *Lease) rename(ctx context.Context, from, to string) error {
	return l.exec(ctx, fmt.Sprintf("RENAME TABLE %s TO %s%s", l.g.qualified(from), l.g.qualified(to), l.g.onCluster()))
}

func (l *Lease) exec(ctx context.Context, stmt string) error {
	return l.conn.Exec(ctx, stmt)
}

// isCode reports whether err is ClickHouse exception code. An ON CLUSTER
// statement reports a host's failure inside another exception's message
// ("There was an error on [host:port]: Code: 60, ..."), so that counts too.
func isCode(err error, code int32) bool {
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) {
		return false
	}
	return ex.Code == code || strings.Contains(ex.Message, fmt.Sprintf("Code: %d,", code))
}

// Token is the lease's generation, which grows with every take, renewal and
// release: a fencing token.
func (l *Lease) Token() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// move renames the lease's table to the next generation with expiry exp
// (0: free). It reports ErrLeaseLost when the table is gone.
func (l *Lease) move(ctx context.Context, expires int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return ErrLeaseLost
	}
	if l.cur == "" {
		return nil
	}
	next := leaseTableName(l.prefix(), l.gen+1, expires)
	if err := l.rename(ctx, l.cur, next); err != nil {
		if isCode(err, codeUnknownTable) {
			l.lost, l.cur = true, ""
			return ErrLeaseLost
		}
		return Classify(l.server, fmt.Errorf("renew the %s writer lease on %s: %w", l.name, l.where, err))
	}
	l.cur, l.gen, l.expires = next, l.gen+1, expires
	if expires == 0 {
		l.cur = ""
	}
	return nil
}

func (l *Lease) renewLoop() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
			err := l.move(ctx, time.Now().Add(l.offset+l.ttl).Unix())
			cancel()
			if errors.Is(err, ErrLeaseLost) {
				return
			}
		}
	}
}

// Check reports ErrLeaseLost when another writer took the lease (it expired
// without renewal), so the holder can stop before it commits anything.
func (l *Lease) Check(ctx context.Context) error {
	// Held throughout, so a renewal cannot rename the table between reading
	// its name and looking for it.
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost || l.cur == "" {
		return ErrLeaseLost
	}
	// Nobody can take the lease before it expires by the server's clock, so
	// well before that there is nothing to ask. The margin covers the
	// offset's error (the server's now() has whole seconds).
	if time.Now().Add(l.offset).Unix() < l.expires-checkMargin {
		return nil
	}
	var n uint64
	if err := l.listTables(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = ?",
		[]any{l.st.settings.Database, l.cur}, &n); err != nil {
		return Classify(l.server, fmt.Errorf("check the %s writer lease on %s: %w", l.name, l.where, err))
	}
	if n == 0 {
		l.lost, l.cur = true, ""
		return ErrLeaseLost
	}
	return nil
}

// Release stops the renewal and frees the lease. It returns ErrLeaseLost
// when the lease had been taken by another writer meanwhile. When the server
// cannot be reached, the pool remembers the lease as its own, so its next
// AcquireLease takes it back at once instead of waiting for it to expire
// (a crashed server would otherwise hold up this pool's retry for the TTL).
func (l *Lease) Release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	cur := l.cur
	l.mu.Unlock()
	err := l.move(ctx, 0)
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		l.st.setOrphan(l.name, cur)
	}
	return err
}
