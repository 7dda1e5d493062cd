package frames

//go:generate go run gen_numbers.go

// The number columns are the generic plain column instantiated at the Go type
// clickhouse-go's generated number columns (lib/column/column_gen.go) scan
// into directly; numbers_gen.go maps each ClickHouse name to one.
