package schema_test

import (
	"bytes"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/ingest"
	"github.com/kpiflow/kpiflow/pkg/ledger"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// TestEveryPartAgreesWithTheSchema fails when a table gains (or loses) a
// column in one place only: the DDL, the planner's catalog, ingest's fields,
// the retention settings, the demo generator's row types and the ledger's
// kinds must all say what package schema says.
func TestEveryPartAgreesWithTheSchema(t *testing.T) {
	t.Run("DDL", func(t *testing.T) {
		s := settings.Settings{Database: "kpiflow"}
		colRe := regexp.MustCompile("(?m)^    `([a-z_0-9]+)` ")
		for _, v := range []dialect.Version{{Major: 18, Minor: 16, Patch: 1}, {Major: 24, Minor: 8}} {
			d := dialect.For(v)
			stmts, err := store.BootstrapDDL(d, s)
			require.NoError(t, err)
			migs, err := store.Migrations(d, s)
			require.NoError(t, err)
			for _, m := range migs {
				stmts = append(stmts, m.Statements...)
			}
			for _, tb := range schema.Tables() {
				prefix := "CREATE TABLE IF NOT EXISTS `kpiflow`.`" + tb.Name + "`\n"
				i := slices.IndexFunc(stmts, func(s string) bool { return strings.HasPrefix(s, prefix) })
				require.GreaterOrEqual(t, i, 0, "no CREATE TABLE for %s", tb.Name)
				var got []string
				for _, m := range colRe.FindAllStringSubmatch(stmts[i], -1) {
					got = append(got, m[1])
				}
				require.Equal(t, tb.ColumnNames(), got, "%s on %s", tb.Name, v)
			}
		}
	})

	t.Run("planner catalog", func(t *testing.T) {
		c := query.Catalog()
		for _, tb := range schema.Tables() {
			ct, ok := c.Table(tb.Name)
			if tb.Kind == schema.KindLedger || tb.Kind == schema.KindMigrations {
				require.False(t, ok, "%s is not for queries", tb.Name)
				continue
			}
			require.True(t, ok, tb.Name)
			require.Len(t, ct.Columns, len(tb.Columns), tb.Name)
			for i, col := range tb.Columns {
				require.Equal(t, col.Name, ct.Columns[i].Name, tb.Name)
				require.Equal(t, col.Type, ct.Columns[i].Type, tb.Name)
			}
			require.Equal(t, tb.Final(), ct.Final, tb.Name)
			require.Equal(t, tb.Labels(), ct.Labels, tb.Name)
			require.Equal(t, int64(tb.ResolutionSeconds), ct.ResolutionS, tb.Name)
		}
		require.Len(t, c.Tables, len(schema.Tables())-2)
	})

	t.Run("ingest fields", func(t *testing.T) {
		require.Equal(t, schema.StreamNames(), ingest.Streams())
		for _, s := range schema.Streams() {
			table, ok := ingest.TableFor(s.Name)
			require.True(t, ok)
			require.Equal(t, s.Table.Name, table)
			all, required := ingest.Fields(s.Name)
			var wantAll, wantReq []string
			stored := map[string]bool{schema.ColBatchID: true, schema.ColIngestedAt: true}
			for _, f := range s.Fields() {
				wantAll = append(wantAll, f.Name)
				if f.Required {
					wantReq = append(wantReq, f.Name)
				}
				stored[f.Name] = true
			}
			require.Equal(t, wantAll, all, s.Name)
			require.Equal(t, wantReq, required, s.Name)
			// Every column is either a field, or filled by ingest or the server.
			for _, c := range s.Table.Columns {
				name := c.Name
				if name == schema.ColLabelKeys || name == schema.ColLabelValues {
					name = schema.KeyLabels
				}
				require.True(t, stored[name], "%s.%s is neither sent nor filled", s.Table.Name, c.Name)
			}
		}
	})

	t.Run("retention settings", func(t *testing.T) {
		for _, tb := range schema.Tables() {
			_, err := settings.Parse([]byte(`{"host":"ch","retentionDays":{"`+tb.Name+`":3}}`), nil)
			if tb.TimeColumn == "" {
				require.Error(t, err, tb.Name)
			} else {
				require.NoError(t, err, tb.Name)
			}
		}
	})

	t.Run("demo rows", func(t *testing.T) {
		ds := demo.Generate(demo.Options{Seed: 1, Days: 2, Teams: 2, Now: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)})
		types := map[string]any{
			schema.StreamKPI: demo.KPISample{}, schema.StreamTasks: demo.TaskEvent{}, schema.StreamDeployments: demo.Deployment{},
			schema.StreamIncidents: demo.Incident{}, schema.StreamPipelines: demo.PipelineRun{}, schema.StreamTeams: demo.Team{},
		}
		require.ElementsMatch(t, schema.StreamNames(), demo.Streams())
		for _, s := range schema.Streams() {
			var fields []string
			for _, f := range s.Fields() {
				fields = append(fields, f.Name)
			}
			rt := reflect.TypeOf(types[s.Name])
			for _, f := range reflect.VisibleFields(rt) {
				tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				require.Contains(t, fields, tag, "%s.%s is not a key of the %s stream", rt, f.Name, s.Name)
			}
			// What the generator encodes, ingest takes.
			body, err := ds.NDJSON(s.Name, 0, min(ds.Len(s.Name), 200))
			require.NoError(t, err)
			_, err = ingest.Decode(bytes.NewReader(body), s.Name, ingest.ContentTypeNDJSON, ingest.DefaultLimits())
			require.NoError(t, err, s.Name)
		}
	})

	t.Run("ledger kinds", func(t *testing.T) {
		require.Equal(t, schema.LedgerKinds(), []string{ledger.KindBatch, ledger.KindErasure})
		tb, _ := schema.Lookup(schema.TableIngestLedger)
		kind, _ := tb.Column("kind")
		require.Equal(t, schema.LedgerKinds(), kind.Enum)
	})
}
