// Package dialect holds every decision that depends on the ClickHouse server's
// version, and the SQL spelling kpiflow uses everywhere: identifier quoting
// and time buckets.
//
// kpiflow's baseline runs on ClickHouse 18.16; newer features are used only
// where the detected version has them:
//
//	d := dialect.For(dialect.Version{Major: 18, Minor: 16, Patch: 1})
//	d.Features.TTL                    // false: retention drops partitions instead
//	d.MillisBound(ms, true)           // toDateTime(...) here, fromUnixTimestamp64Milli(...) on 20.5+
//	dialect.Bucket("`ts`", 3600)      // toDateTime(intDiv(toUInt32(`ts`), 3600) * 3600), on every version
//	dialect.Quote("kpi_samples")      // `kpi_samples`
//
// Nothing else in kpiflow compares versions or spells a bucket or a quoted
// identifier itself. The package does no I/O and imports no kpiflow package.
package dialect
