// Package ingest is kpiflow's write path: it decodes and validates ingest
// requests, drops duplicates, writes each request as one ClickHouse batch and
// appends the batch to the hash-chained ingest ledger (package ledger). It
// also verifies the ledger against the stored rows and erases a person's
// data. Its HTTP handlers are plain net/http handlers; pkg/plugin mounts them
// as resource routes and does the Grafana role checks.
//
// # API
//
//	streams := ingest.Streams() // kpi, tasks, deployments, incidents, pipelines, teams
//	b, err := ingest.Decode(body, "kpi", "application/x-ndjson", ingest.DefaultLimits())
//	// err is *RowErrors (400: every bad field, capped), *LimitError (413),
//	// *MediaTypeError (415), *StreamError (404), or an I/O error.
//	w := ingest.NewWriter(st, ingest.NopNotifier{}) // st *store.Store; one Writer per data source
//	res, err := w.Write(ctx, b, idempotencyKey, actor)
//	// res: {accepted, duplicates, batch_id, ledger_hash, replayed}
//	// err: *UnavailableError (503 with Retry-After) or another error (500)
//	rep, err := w.Verify(ctx, ingest.VerifyRequest{Stream: "kpi"})  // rep.OK, rep.Break
//	er, err := w.Erase(ctx, "Ann Example", actor)                    // admin/erase
//
//	h := ingest.Handler{Writer: w, Limits: ingest.DefaultLimits(), Actor: actorFunc}
//	mux.Handle("POST /ingest/{stream}", h) // reads r.PathValue("stream")
//	mux.Handle("GET /ledger/verify", ingest.VerifyHandler{Verifier: w})
//	mux.Handle("POST /admin/erase", ingest.EraseHandler{Eraser: w, Actor: actorFunc})
//	// errors from this package map to statuses with StatusOf and WriteError
//
// Request body: a JSON array of objects (or one object), or NDJSON with
// Content-Type application/x-ndjson; Content-Encoding gzip is accepted. Keys
// are the stream's column names (snake_case, see Fields); times are RFC 3339
// strings or epoch milliseconds; labels is an object of string to string;
// event_id is optional.
//
// # Guarantees
//
//   - All or nothing per request: any bad row rejects the request and
//     nothing is written.
//   - A retried request with the same Idempotency-Key is stored once: the
//     key names the batch (BatchID), and a key already in the ledger returns
//     the earlier answer (Replayed) without writing.
//   - A re-sent event (same event_id, given or derived from the content) is
//     never stored twice: Writer serialises each stream and drops rows whose
//     event_id is already stored, so duplicates never reach ClickHouse (nor
//     the rollups that materialized views fill on insert).
//   - Memory is bounded by the request limits (Limits), not by the data
//     stored: the duplicate check reads only the batch's event_ids back, and
//     Verify streams rows in bounded chunks.
package ingest
