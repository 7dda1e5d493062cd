package schema

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTablesDescription(t *testing.T) {
	ident := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	seen := map[string]bool{}
	for _, tb := range Tables() {
		require.False(t, seen[tb.Name], "duplicate table %s", tb.Name)
		seen[tb.Name] = true
		require.NotEmpty(t, tb.OrderBy, tb.Name)
		require.NotEmpty(t, tb.ShardKey, tb.Name)
		for _, c := range tb.Columns {
			require.Regexp(t, ident, c.Name)
		}
		for _, k := range tb.OrderBy {
			_, ok := tb.Column(k)
			require.True(t, ok, "%s orders by unknown column %s", tb.Name, k)
		}
		if tb.TimeColumn != "" {
			c, ok := tb.Column(tb.TimeColumn)
			require.True(t, ok, tb.Name)
			require.Equal(t, "DateTime", c.Type, tb.Name)
		}
		if tb.Source != "" {
			_, ok := Lookup(tb.Source)
			require.True(t, ok, tb.Name)
		}
	}
	for _, s := range Streams() {
		tb := s.Table
		require.Equal(t, KindRaw, tb.Kind, s.Name)
		require.Equal(t, ColIngestedAt, tb.Columns[len(tb.Columns)-1].Name, "data tables end with ingested_at")
		require.NotContains(t, tb.InsertColumns(), ColIngestedAt, "ingested_at is defaulted by the server")
		require.Equal(t, len(tb.Columns)-1, len(tb.InsertColumns()))
	}
	kpi, _ := Lookup(TableKPISamples)
	require.Equal(t, []string{"ts", "metric", "value", "team", "project", "service", "environment", "source",
		"label_keys", "label_values", "event_id", "batch_id"}, kpi.InsertColumns())
	require.Equal(t, "(metric, team, ts)", kpi.SortingKey())
	require.True(t, kpi.Labels())
	_, ok := Lookup("nope")
	require.False(t, ok)
	require.Equal(t, []string{"kpi_samples", "task_events", "deployments", "incidents", "pipeline_runs",
		"kpi_rollup_1h", "kpi_rollup_1d"}, RetentionTables())

	dep, _ := Lookup(TableDeployments)
	require.True(t, dep.Final())
	require.Equal(t, "deployment_id", dep.SortingKey())
	res, _ := dep.Column("result")
	require.Equal(t, "Enum8('success' = 1, 'failure' = 2, 'rollback' = 3, 'cancelled' = 4)", res.Type)
	require.Equal(t, DeploymentResults(), res.Enum)
}

func TestRollups(t *testing.T) {
	var names []string
	for _, r := range RollupResolutions() {
		names = append(names, RollupName(r))
	}
	require.Equal(t, []string{TableKPIRollup1h, TableKPIRollup1d}, names)

	// The retired 1m rollup is described as it was, and known nowhere else.
	retired := RetiredTables()
	require.Len(t, retired, 1)
	m := retired[0]
	require.Equal(t, TableKPIRollup1m, m.Name)
	require.Equal(t, KindRollup, m.Kind)
	require.Equal(t, 60, m.ResolutionSeconds)
	require.Equal(t, TableKPISamples, m.Source)
	_, known := Lookup(TableKPIRollup1m)
	require.False(t, known)
	require.NotContains(t, RetentionTables(), TableKPIRollup1m)
	h, ok := Lookup(TableKPIRollup1h)
	require.True(t, ok)
	require.Equal(t, KindRollup, h.Kind)
	require.Equal(t, 3600, h.ResolutionSeconds)
	require.Equal(t, TableKPISamples, h.Source)
	require.Equal(t, "(metric, team, project, service, environment, bucket)", h.SortingKey())
	var types []string
	for _, c := range h.Columns {
		types = append(types, c.Name+" "+c.Type)
	}
	require.Equal(t, []string{"bucket DateTime", "metric String", "team String", "project String", "service String",
		"environment String", "cnt AggregateFunction(count)", "sum AggregateFunction(sum, Float64)",
		"min AggregateFunction(min, Float64)", "max AggregateFunction(max, Float64)",
		"q AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), Float64)",
		"last AggregateFunction(argMax, Float64, DateTime)"}, types)
	q := KPIRollup().States[4]
	require.Equal(t, "quantilesTDigestState(0.5, 0.9, 0.95, 0.99)", q.Call("State"))
	require.Equal(t, "countMerge", KPIRollup().States[0].Call("Merge"))
}

// TestStreamFields pins the ingest API's keys, kinds and key lookups per
// stream: they are part of the API and of the ledger's row hashes.
func TestStreamFields(t *testing.T) {
	type want struct {
		fields   string
		required []string
		timeKey  string
		prefix   []string
		final    bool
	}
	k := map[FieldKind]string{FieldDim: "dim", FieldText: "text", FieldPersonal: "personal", FieldFloat: "float",
		FieldTime: "time", FieldNullTime: "nulltime", FieldEnum: "enum", FieldLabels: "labels", FieldList: "list", FieldEventID: "eventid"}
	wants := map[string]want{
		StreamKPI: {"ts:time metric:dim value:float team:dim project:dim service:dim environment:dim source:dim labels:labels event_id:eventid",
			[]string{"ts", "metric", "value"}, "ts", []string{"metric", "team"}, false},
		StreamTasks: {"ts:time task_id:dim project:dim team:dim title:text kind:dim state:dim state_category:enum assignee:personal " +
			"points:float parent_id:dim blocked_by:list event_id:eventid",
			[]string{"ts", "task_id", "state_category"}, "ts", []string{"project", "task_id"}, false},
		StreamDeployments: {"finished_at:time deployment_id:dim service:dim team:dim environment:dim result:enum commit_sha:dim " +
			"first_commit_at:nulltime pipeline:dim event_id:eventid",
			[]string{"finished_at", "deployment_id", "result"}, "", []string{"deployment_id"}, true},
		StreamIncidents: {"incident_id:dim service:dim team:dim severity:dim opened_at:time resolved_at:nulltime caused_by_deployment:dim event_id:eventid",
			[]string{"incident_id", "opened_at"}, "", []string{"incident_id"}, true},
		StreamPipelines: {"run_id:dim pipeline:dim team:dim status:enum started_at:time finished_at:nulltime event_id:eventid",
			[]string{"run_id", "pipeline", "status", "started_at"}, "", []string{"run_id"}, true},
		StreamTeams: {"team:dim parent:dim display_name:text event_id:eventid", []string{"team"}, "", []string{"team"}, true},
	}
	require.Equal(t, []string{StreamKPI, StreamTasks, StreamDeployments, StreamIncidents, StreamPipelines, StreamTeams}, StreamNames())
	for _, s := range Streams() {
		w := wants[s.Name]
		var got string
		var required []string
		for i, f := range s.Fields() {
			if i > 0 {
				got += " "
			}
			got += f.Name + ":" + k[f.Kind]
			if f.Required {
				required = append(required, f.Name)
			}
			require.Equal(t, f.Kind == FieldEnum, f.Enum != nil, f.Name)
		}
		require.Equal(t, w.fields, got, s.Name)
		require.Equal(t, w.required, required, s.Name)
		require.Equal(t, w.timeKey, s.TimeKey(), s.Name)
		require.Equal(t, w.prefix, s.KeyPrefix(), s.Name)
		require.Equal(t, w.final, s.Table.Final(), s.Name)
	}
	_, ok := StreamFor("nope")
	require.False(t, ok)
}
