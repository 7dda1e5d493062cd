// Package store owns kpiflow's connection to ClickHouse and every SQL
// statement that is not a query plan's: the pool, server version detection,
// schema migrations and retention, batch inserts, the ingest ledger's and
// ingested rows' reads and writes, and the one way queries run on someone's
// behalf (Query: attributed, read-only, cancellable).
//
//	st, err := store.Open(ctx, s, store.WithLogger(logger)) // s is a validated settings.Settings
//	defer st.Close()
//	d, err := st.Dialect(ctx)                               // detected once per pool
//	stats, err := st.TableStats(ctx, store.CatalogMaxAge)    // the planner's catalog (query.ServerCatalog)
//	rows, err := st.Query(ctx, who, sql, args...)           // who is a store.Attribution
//	defer rows.Close()                                      // kills the query when rows are left unread
//
// Failures reaching ClickHouse are classified (see ConnError) so the health
// check and the query path can tell the user what to fix. Table and column
// names come from package schema; DDL in cluster mode targets the replicated
// local tables ON CLUSTER (ddlGen). store never imports query, frames or
// ingest: they call it.
package store
