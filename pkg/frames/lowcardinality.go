package frames

// forLowCardinality resolves LowCardinality(T) to T's column: clickhouse-go's
// LowCardinality.ScanRow hands the same destination to its dictionary column
// (and reports NULL itself for LowCardinality(Nullable(T))), so the scan
// targets are exactly the inner type's.
func forLowCardinality(args string) (Column, error) {
	return For(args)
}
