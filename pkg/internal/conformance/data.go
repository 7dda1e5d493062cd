package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/ingest"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// Now ends the dataset's window (the 18.16 builder tests use the same).
var Now = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// Dataset is the seeded dataset of the 18.16 builder tests
// (pkg/plugin/query_builder_integration_test.go): ten days, two teams,
// KPI samples every 15 minutes. KPI values are rounded to quarters, as
// there: sums of quarters are exact in any order, so sums and averages
// agree bit for bit whichever order a server adds them in.
func Dataset() demo.Dataset {
	ds := demo.Generate(demo.Options{Seed: 7, Days: 10, Teams: 2, Now: Now, KPIInterval: 15 * time.Minute})
	for i := range ds.KPI {
		ds.KPI[i].Value = math.Round(ds.KPI[i].Value*4) / 4
	}
	return ds
}

// Batch is rows of one table as ingest inserts them: ingest's column list
// and one value slice per column.
type Batch struct {
	Table   string
	Columns []string
	Values  []any
}

// Batches decodes the dataset through ingest, stream by stream, in three
// batches per stream (so the rollups merge several states), with ingest's
// insert columns and batch_id set.
func Batches(ds demo.Dataset) ([]Batch, error) {
	var out []Batch
	for _, stream := range demo.Streams() {
		size := max((ds.Len(stream)+2)/3, 1)
		for c, err := range ds.Chunks(stream, size) {
			if err != nil {
				return nil, err
			}
			b, err := ingest.Decode(bytes.NewReader(c.Body), stream, "application/x-ndjson", ingest.DefaultLimits())
			if err != nil {
				return nil, fmt.Errorf("decode %s rows %d-%d: %w", stream, c.From, c.To, err)
			}
			cols, vals := ingest.InsertColumns(b, fmt.Sprintf("conformance-%s-%d", stream, c.Index))
			out = append(out, Batch{Table: b.Table(), Columns: cols, Values: vals})
		}
	}
	return out, nil
}

// Load writes the batches into st's database, each as one insert (the
// 18.16 side of the runs).
func Load(ctx context.Context, st *store.Store, batches []Batch) error {
	for _, b := range batches {
		err := st.InsertBatch(ctx, b.Table, b.Columns, func(bt driver.Batch) error {
			for i, v := range b.Values {
				if err := bt.Column(i).Append(v); err != nil {
					return fmt.Errorf("column %s: %w", b.Columns[i], err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("load %s: %w", b.Table, err)
		}
	}
	return nil
}

// Insert is the batch as one INSERT ... FORMAT JSONEachRow statement into
// db, for chDB (which has no native-protocol batches). Times are written as
// Unix seconds, so no time zone is involved.
func (b Batch) Insert(db string) (string, error) {
	var sb strings.Builder
	quoted := make([]string, len(b.Columns))
	for i, c := range b.Columns {
		quoted[i] = "`" + c + "`"
	}
	fmt.Fprintf(&sb, "INSERT INTO `%s`.`%s` (%s) FORMAT JSONEachRow\n", db, b.Table, strings.Join(quoted, ", "))
	n := b.Len()
	for r := 0; r < n; r++ {
		sb.WriteByte('{')
		for c, name := range b.Columns {
			if c > 0 {
				sb.WriteByte(',')
			}
			k, _ := json.Marshal(name)
			sb.Write(k)
			sb.WriteByte(':')
			v, err := json.Marshal(cell(b.Values[c], r))
			if err != nil {
				return "", fmt.Errorf("%s.%s row %d: %w", b.Table, name, r, err)
			}
			sb.Write(v)
		}
		sb.WriteString("}\n")
	}
	return sb.String(), nil
}

// Len is the number of rows.
func (b Batch) Len() int {
	switch v := b.Values[0].(type) {
	case []string:
		return len(v)
	case []float64:
		return len(v)
	case []time.Time:
		return len(v)
	case []*time.Time:
		return len(v)
	case [][]string:
		return len(v)
	}
	return 0
}

func cell(col any, r int) any {
	switch v := col.(type) {
	case []string:
		return v[r]
	case []float64:
		return v[r]
	case []time.Time:
		return v[r].Unix()
	case []*time.Time:
		if v[r] == nil {
			return nil
		}
		return v[r].Unix()
	case [][]string:
		if v[r] == nil {
			return []string{}
		}
		return v[r]
	}
	panic(fmt.Sprintf("conformance: no JSON form for column values of type %T", col))
}
