// Package upkeep keeps a data source's schema in shape in the background:
// automatic migration when the data source starts (retried with backoff, as
// ClickHouse may come up after Grafana) and the configured retention every
// hour. Its lock also keeps the admin endpoints and these jobs from running
// DDL at the same time.
//
//	j := upkeep.New()
//	j.Start(st, s, logger)            // st *store.Store; returns within 5 s
//	defer j.Stop()
//	if err := j.Lock(ctx); err == nil { defer j.Unlock(); st.Migrate(ctx) }
//	note, failed := j.HealthNote(ready) // for the health check
//
// Failures are logged and reported by HealthNote; they never fail the data
// source.
package upkeep
