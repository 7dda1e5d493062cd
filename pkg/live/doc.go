// Package live streams new rows to Grafana Live subscribers: channels named
// after a query's canonical plan, fan-out to every subscriber of a channel,
// and one watermark poll of ClickHouse per channel however many subscribe.
//
//	hub := live.NewHub(src, live.DefaultConfig(), logger) // src: a live.Source (plugin fills it)
//	defer hub.Close()
//	key := live.Key("taskflow-events", scopePlan)          // same plan, same channel
//	path, err := hub.Register(ctx, key, spec)              // before the query's snapshot
//	frame.Meta.Channel = "ds/" + uid + "/" + path          // Grafana subscribes from here
//	sub, err := hub.Subscribe(path)                        // RunStream
//	defer sub.Close()
//	for { frames, err := sub.Next(ctx); ... }
//	ingest.NewWriter(st, hub)                              // Notify wakes channels at once
//
// # What a channel delivers
//
// A channel watches one raw table (Spec.Table) narrowed by filters
// (Spec.Scope) and hands each row that becomes visible there after the
// channel started to Spec.Push exactly once, whoever wrote it: this plugin's
// ingest path (Notify wakes the channel right after the ledger link is
// written), another Grafana replica, the kpiflow CLI or anything inserting
// straight into ClickHouse (found by the poll every Config.PollInterval).
// Push turns the rows into the frames subscribers get.
//
// # The watermark
//
// Rows are told apart by when they became visible, which ClickHouse does not
// record; what it records is ingested_at (DateTime DEFAULT now(), seconds,
// the server's clock at INSERT). Event time (ts) cannot order arrivals: late
// rows carry old ts. So a channel keeps a Watermark: the newest ingested_at
// it has seen, and for the rows stamped within Config.Lag before it, a count
// per row identity (a hash of all the row's values). Each poll reads the
// rows stamped at or after (newest − Lag) and delivers those whose identity
// it has counted fewer times than it now sees. That makes:
//
//   - equal timestamps safe: rows sharing a second with rows already
//     delivered are recognised by identity, not skipped by a strict ">";
//   - late visibility safe up to Lag: a block whose ingested_at was taken
//     before a newer row was seen, but which commits after it (a long
//     INSERT, a slow materialized-view chain), is still in the window;
//   - a ClickHouse restart harmless: the watermark lives in this process, a
//     failed poll changes nothing, and the next one reads the same window;
//   - identical rows counted, not merged: two rows equal in every column
//     (ingested_at included) are delivered twice because they are seen twice.
//
// The limits are in the README ("Live queries"): a row that becomes visible
// more than Lag after a newer one was seen (a Distributed table's queued
// insert to a shard that was down, a writer that sets ingested_at itself to
// an old value, a server clock stepping back more than Lag) is not
// delivered; more than Config.MaxWindowRows rows within one Lag window skip
// the oldest with a notice; and rows changed in place (a mutation) within
// the window come again.
//
// # Fan-out and slow subscribers
//
// Push runs once per poll for all subscribers; its frames go to each
// subscriber's bounded queue without waiting, and are encoded for Grafana
// Live once for all of them (Push.JSON: RunStream sends the shared bytes). A subscriber that falls behind
// gets its queued frames coalesced (rows of equal-schema frames appended)
// up to Config.MaxQueuedRows, then is dropped with ErrSlow: nothing a
// subscriber does slows the poll, other subscribers or ingest. Notify never
// blocks (a wake-up per channel, coalesced).
//
// This package imports only lower layers (schema, query/plan); what needs
// the query pipeline or the store comes through Source, which pkg/plugin
// fills.
package live
