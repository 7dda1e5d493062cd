//go:build integration

package frames_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/frames"
)

// resultPathSQL is 1M rows shaped like kpi_samples as a raw SQL panel reads
// them: a DateTime, six short strings and a Float64.
const resultPathSQL = `SELECT toDateTime(1700000000 + intDiv(number, 24)) AS ts, concat('metric_', toString(number % 5)) AS metric,
	number * 0.25 AS value, concat('team-', toString(number % 9)) AS team, concat('project-', toString(number % 9)) AS project,
	concat('svc-', toString(number % 27)) AS service, 'production' AS environment, 'prometheus' AS source
	FROM system.numbers LIMIT 1000000`

// BenchmarkIntegrationResultPath times, alternating in each iteration, the
// plugin's CPU path for a large result against its baseline:
//
//   - raw: clickhouse-go reading every value into typed targets (what a
//     client of the driver does; the baseline of the plugin benchmark);
//
//   - frames: frames.ReadAll (query, driver decoding, fields);
//
//   - sdk_arrow: the SDK's data.Frame → Arrow IPC (Frame.MarshalArrow, what
//     the SDK runs on every response);
//
//   - direct_arrow: the same Arrow IPC bytes built with arrow-go's builders
//     sized once and filled in bulk, into a buffer sized once: what an SDK
//     API taking Arrow records (instead of data.Frame) would cost.
//
//     go test -tags integration -run '^$' -bench ResultPath -benchtime 5x ./pkg/frames/
func BenchmarkIntegrationResultPath(b *testing.B) {
	conn, _ := openBoth(b)
	ctx := context.Background()
	readRawValues(ctx, b, conn) // warm up the pool
	var rawT, framesT, sdkT, directT time.Duration
	var sdkLen, directLen int
	n := 0
	for b.Loop() {
		t0 := time.Now()
		rows := readRawValues(ctx, b, conn)
		t1 := time.Now()
		res, err := conn.Query(ctx, resultPathSQL)
		if err != nil {
			b.Fatal(err)
		}
		f, _, err := frames.ReadAll(ctx, res, 0)
		_ = res.Close()
		if err != nil || f.Rows() != rows {
			b.Fatalf("frames read %v rows (%v), raw %d", f.Rows(), err, rows)
		}
		t2 := time.Now()
		sdk, err := f.MarshalArrow()
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		direct, err := directArrow(f)
		if err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		rawT, framesT, sdkT, directT = rawT+t1.Sub(t0), framesT+t2.Sub(t1), sdkT+t3.Sub(t2), directT+t4.Sub(t3)
		sdkLen, directLen = len(sdk), len(direct)
		n++
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	b.ReportMetric(per(rawT), "raw_ms")
	b.ReportMetric(per(framesT), "frames_ms")
	b.ReportMetric(per(sdkT), "sdk_arrow_ms")
	b.ReportMetric(per(directT), "direct_arrow_ms")
	b.ReportMetric(float64(framesT)/float64(rawT), "frames/raw")
	b.ReportMetric(float64(framesT+sdkT)/float64(rawT), "frames+sdk_arrow/raw")
	b.ReportMetric(float64(framesT+directT)/float64(rawT), "frames+direct_arrow/raw")
	b.ReportMetric(float64(sdkT)/float64(directT), "sdk/direct_arrow")
	b.ReportMetric(float64(directLen)/float64(sdkLen), "direct/sdk_bytes")
}

func readRawValues(ctx context.Context, b *testing.B, conn driver.Conn) int {
	rows, err := conn.Query(ctx, resultPathSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	targets := make([]any, len(types))
	for i, t := range types {
		targets[i] = reflect.New(t.ScanType()).Interface()
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

// values is a field's storage as a slice (the SDK keeps a field's values in
// one Go slice), read without boxing each value.
func values[T any](f *data.Field) []T {
	if f.Len() == 0 {
		return nil
	}
	return unsafe.Slice(f.PointerAt(0).(*T), f.Len())
}

// directArrow encodes a frame of time, string and float64 fields as one Arrow
// IPC file, as the SDK does, but with every buffer sized once.
func directArrow(f *data.Frame) ([]byte, error) {
	mem := memory.NewGoAllocator()
	n := f.Rows()
	fields := make([]arrow.Field, len(f.Fields))
	cols := make([]arrow.Array, len(f.Fields))
	size := 0
	for i, fld := range f.Fields {
		switch fld.Type() {
		case data.FieldTypeTime:
			bl := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Nanosecond})
			bl.Reserve(n)
			for _, t := range values[time.Time](fld) {
				bl.UnsafeAppend(arrow.Timestamp(t.UnixNano()))
			}
			fields[i], cols[i] = arrow.Field{Name: fld.Name, Type: bl.Type()}, bl.NewArray()
			size += 8 * n
		case data.FieldTypeString:
			vals := values[string](fld)
			total := 0
			for _, v := range vals {
				total += len(v)
			}
			bl := array.NewStringBuilder(mem)
			bl.Reserve(n)
			bl.ReserveData(total)
			bl.AppendValues(vals, nil)
			fields[i], cols[i] = arrow.Field{Name: fld.Name, Type: arrow.BinaryTypes.String}, bl.NewArray()
			size += 4*n + total
		case data.FieldTypeFloat64:
			bl := array.NewFloat64Builder(mem)
			bl.AppendValues(values[float64](fld), nil)
			fields[i], cols[i] = arrow.Field{Name: fld.Name, Type: arrow.PrimitiveTypes.Float64}, bl.NewArray()
			size += 8 * n
		default:
			return nil, fmt.Errorf("directArrow: field type %s", fld.Type())
		}
	}
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(schema, cols, int64(n))
	defer rec.Release()
	var buf bytes.Buffer
	buf.Grow(size + size/16 + 4096)
	w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		return nil, err
	}
	if err := w.Write(rec); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
