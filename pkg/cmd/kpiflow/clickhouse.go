package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/ingest"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// chWriter writes straight to ClickHouse through the ingest package's
// Writer, so validation, duplicate dropping and the ledger apply exactly as
// through the API.
type chWriter struct {
	st *store.Store
	w  *ingest.Writer
}

// openClickHouse connects (waiting up to wait for the server to answer),
// creates the database when missing and applies the schema migrations.
func (a *app) openClickHouse(ctx context.Context, f clickhouseFlags, wait time.Duration) (*chWriter, error) {
	host, port, err := splitHostPort(f.addr)
	if err != nil {
		return nil, err
	}
	if !dialect.ValidIdent(f.database) {
		return nil, usageErrorf("--database: expected a name of letters, digits and underscores, got %q", f.database)
	}
	s := settings.Settings{
		Host: host, Port: port, Protocol: settings.ProtocolNative, Database: f.database,
		Username: f.user, Password: f.password, TLS: settings.TLS{Enabled: f.tls},
		DialTimeout: 10 * time.Second, QueryTimeout: 5 * time.Minute,
		MaxRows: settings.DefaultMaxRows, IngestRole: settings.DefaultIngestRole,
	}
	deadline := time.Now().Add(wait)
	for {
		err := store.CreateDatabase(ctx, s)
		if err == nil {
			break
		}
		var ce *store.ConnError
		if wait <= 0 || !errors.As(err, &ce) || time.Now().After(deadline) {
			if wait > 0 {
				return nil, &waitError{fmt.Errorf("gave up waiting for ClickHouse after %s: %w", wait, err)}
			}
			return nil, err
		}
		fmt.Fprintf(a.stderr, "waiting for ClickHouse: %v\n", err)
		if err := a.sleep(ctx, 2*time.Second); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(ctx, s)
	if err != nil {
		return nil, err
	}
	res, err := st.Migrate(ctx)
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("apply the schema migrations to %s on %s: %w", f.database, s.Addr(), err)
	}
	fmt.Fprintf(a.stdout, "schema of %s on %s at migration %d (%d applied now)\n", f.database, s.Addr(), res.Version, len(res.Applied))
	return &chWriter{st: st, w: ingest.NewWriter(st, nil)}, nil
}

func (c *chWriter) write(ctx context.Context, stream string, ds *demo.Dataset, from, to int, key string) (ingestResult, error) {
	body, err := ds.NDJSON(stream, from, to)
	if err != nil {
		return ingestResult{}, err
	}
	b, err := ingest.Decode(bytes.NewReader(body), stream, "application/x-ndjson", ingest.DefaultLimits())
	if err != nil {
		// The generator's rows are valid by construction; a failure here is
		// a mismatch between it and ingest's schema.
		return ingestResult{}, fmt.Errorf("the ingest package rejected generated rows: %w", err)
	}
	for attempt := 0; ; attempt++ {
		res, err := c.w.Write(ctx, b, key, actor())
		var ue *ingest.UnavailableError
		if errors.As(err, &ue) && attempt < 5 {
			// The same key on every retry: a write that did land is found in
			// the ledger and not repeated.
			if err := sleepCtx(ctx, min(ue.RetryAfter, 30*time.Second)); err != nil {
				return ingestResult{}, err
			}
			continue
		}
		if err != nil {
			return ingestResult{}, err
		}
		return ingestResult{Accepted: res.Accepted, Duplicates: res.Duplicates, BatchID: res.BatchID, LedgerHash: res.LedgerHash}, nil
	}
}

func (c *chWriter) close() {
	_ = c.st.Close()
}

// actor is who the ledger records for CLI writes.
func actor() string {
	host, _ := os.Hostname()
	if host == "" {
		return "kpiflow-cli"
	}
	return "kpiflow-cli@" + host
}
