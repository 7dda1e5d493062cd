// Package dialect maps a ClickHouse server version to the SQL features kpiflow
// may use with it, and holds the SQL spelling that depends on them: identifier
// quoting and time buckets.
//
// kpiflow's baseline runs on ClickHouse 18.16; newer features are used only
// where the detected version has them:
//
//	d := dialect.For(dialect.Version{Major: 18, Minor: 16, Patch: 1})
//	d.Bucket("ts", 3600) // intDiv(toUInt32(ts), 3600) * 3600
//
// The package does no I/O and imports no kpiflow package.
package dialect
