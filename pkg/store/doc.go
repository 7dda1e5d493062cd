// Package store owns kpiflow's connection to ClickHouse: the connection pool,
// server version detection, schema migrations, batch inserts and block reads.
//
//	st, err := store.Open(ctx, s) // s is a validated settings.Settings
//	defer st.Close()
//	d, err := st.Dialect(ctx)     // detected once per pool
//
// Failures reaching ClickHouse are classified (see ConnError) so the health
// check and the query path can tell the user what to fix. store never imports
// query, frames or ingest: they call it.
package store
