// Package frames turns clickhouse-go query results into Grafana data frames,
// column by column, without scanning rows into interface{} values.
//
//	rows, err := conn.Query(ctx, sql, args...)
//	frame, notices, err := frames.ReadAll(ctx, rows, maxRows) // whole result, capped
//
//	r, err := frames.NewReader(rows, 65536) // or one frame per chunk of rows
//	for {
//		chunk, err := r.Next(ctx)
//		if errors.Is(err, io.EOF) { break }
//		...
//	}
//
// The layout follows clickhouse-go's lib/column: For(chType) is the only
// factory, one file per type family (numbers, string, datetime, decimal, bool,
// enum, array/map as JSON text) and the Nullable, LowCardinality and
// SimpleAggregateFunction wrappers reuse the inner type's code.
//
// # Why typed scan targets and not whole blocks
//
// clickhouse-go v2 (v2.50) decodes each native block into its lib/column
// columns (backed by ch-go's proto columns), but the block lives in the
// unexported rows struct: driver.Rows offers Next/Scan/ColumnTypes, and no
// supported public API hands out a block, its column.Interface values or the
// ch-go columns (only Batch.Columns exists, for inserts). Copying a whole
// column per block would need ch-go's own client (a second driver and
// connection pool beside the store's) or reflection into unexported fields;
// we do neither. Instead For chooses, once per column, a pointer of the
// concrete Go type that the column's ScanRow fills through its type switch
// (*float64, *string, *time.Time, **T for Nullable, ...). Each row costs one
// Scan call with the same pre-built []any of pointers: no reflection and no
// allocation for fixed-width values (strings are allocated by the driver;
// Nullable values get the fresh *T the driver allocates, which the nullable
// field keeps). Values go into typed, fixed-size chunk slices that never
// regrow; a field is built once from them at the exact final length.
//
// Chunks: driver.Rows does not show where a block ends, so Reader.Next cuts
// chunks by row count. With the default of 65536 rows (ClickHouse's
// max_block_size) a chunk is about one block.
//
// # Notes
//
//   - Array(T) and Map(K, V) become JSON text (a string field), built with
//     encoding/json from the driver's reflective slice scan: arrays are slow
//     compared with scalar columns, so cast them in SQL when speed matters.
//   - Decimal becomes float64 (precision beyond 2^53 is lost, as in Grafana).
//   - Enum8/Enum16 become their names as strings; UUID, FixedString, IPv4 and
//     IPv6 become strings; Date, Date32, DateTime and DateTime64 become
//     time.Time.
//   - Other types (Tuple, Int128/256, AggregateFunction states, JSON, Variant,
//     Dynamic, ...) are an *UnsupportedColumnTypeError naming the column, so
//     the user can cast it with toString() or finalizeAggregation().
//
// This package imports no kpiflow package.
package frames
