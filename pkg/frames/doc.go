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
// Reshaping a long result into what panels, alert rules and SQL Expressions
// read is here too (reshape.go):
//
//	series, err := frames.LongToMulti(res, names, "v", "")  // one timeseries-multi frame per series
//	wide, err := frames.TimeSeriesWide(res, maxRows)       // or one timeseries-wide frame with labels
//	frames.AsTable(res)                                    // or a table
//
// The layout follows clickhouse-go's lib/column: For(chType) is the only
// factory, one file per type family (numbers, string, datetime, decimal, bool,
// enum, array/map as JSON text) and the Nullable, LowCardinality and
// SimpleAggregateFunction wrappers reuse the inner type's code.
//
// # One pass from the driver's blocks
//
// clickhouse-go v2 (v2.50) decodes each native block into its lib/column
// columns (backed by ch-go's proto columns) and steps through it row by row;
// its driver.Rows has no public way to hand out the block, and copying values
// out row by row costs a call per value and, for String, an allocation per
// value. So the Reader keeps the blocks themselves (a pointer load per row
// from the rows' unexported block field, found by name and type, see
// block.go) and, once the number of rows is known, allocates each field at
// its final length and fills it block by block:
//
//   - numbers and DateTime from the column's native encoding (Encode, the
//     one public bulk view: a copy for numbers, a loop for DateTime);
//   - String as Go strings pointing into the block's own value buffer (no
//     copy and no allocation per value); LowCardinality(String) by its
//     dictionary, decoded once per block;
//   - Nullable(T) through the NULL map, with the block's values in one
//     allocation the field's pointers point into;
//   - every other type (Decimal, Enum, Date, DateTime64, FixedString, UUID,
//     IP, Array, Map, ...) value by value through the driver's ScanRow,
//     straight into the field.
//
// Where the driver's layout is not the expected one, the bulk paths fall
// back to ScanRow, and rows without a block field are an error naming the
// driver type; the integration tests check that the bulk paths are taken.
// A column is never Nullable in the frame unless it is in ClickHouse.
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
