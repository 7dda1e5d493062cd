//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kpiflow/kpiflow/pkg/demo"
	kpiframes "github.com/kpiflow/kpiflow/pkg/frames"
)

// TestIntegrationBundledDashboards loads every provisioned dashboard
// (provisioning/dashboards/kpiflow/*.json) and alert rule
// (provisioning/alerting/*.yaml), resolves their variables and intervals as
// Grafana does, sends every query through QueryData against the demo dataset
// and checks that each panel can show its frames as intended, by Grafana's own
// rules for what each panel type reads (written out below), and that each
// alert rule's queries give Grafana's alerting engine data it accepts.
func TestIntegrationBundledDashboards(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	env := setupDemo(t, demo.Options{Seed: 11, Days: 90, Teams: 3, Now: now, KPIInterval: time.Hour})
	dsUID := provisionedDataSourceUID(t)

	files, err := filepath.Glob(filepath.Join("..", "..", "provisioning", "dashboards", "kpiflow", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	seen := map[string]bool{}
	for _, file := range files {
		var d dashboard
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &d), file)
		t.Run(d.UID, func(t *testing.T) {
			from, to := d.timeRange(t, now)
			vars := resolveVariables(t, env, d, from, to)
			for _, p := range d.Panels {
				key := d.UID + "/" + p.Title
				seen[key] = true
				t.Run(p.Title, func(t *testing.T) {
					frames := queryPanel(t, env, dsUID, p, vars, from, to)
					frames = applyTransformations(t, p.Transformations, frames)
					checkPanel(t, env, p, panelIntents()[key], frames, from, to)
				})
			}
		})
	}
	for key := range panelIntents() {
		require.True(t, seen[key], "panelIntents names %q, which no bundled dashboard has", key)
	}

	t.Run("alert rules", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join("..", "..", "provisioning", "alerting", "*.yaml"))
		require.NoError(t, err)
		require.NotEmpty(t, files, "no provisioned alert rules")
		for _, file := range files {
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			var f alertFile
			require.NoError(t, yaml.Unmarshal(raw, &f), file)
			require.Equal(t, 1, f.APIVersion, "%s: apiVersion", file)
			require.NotEmpty(t, f.Groups, file)
			for _, g := range f.Groups {
				require.NotEmpty(t, g.Folder, "%s: group %q needs a folder", file, g.Name)
				require.NotEmpty(t, g.Interval, "%s: group %q needs an interval", file, g.Name)
				for _, r := range g.Rules {
					t.Run(r.Title, func(t *testing.T) { checkAlertRule(t, env, dsUID, r, now) })
				}
			}
		}
	})
}

// ---- provisioning files

type dashboard struct {
	UID  string `json:"uid"`
	Time struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Multi      bool   `json:"multi"`
	IncludeAll bool   `json:"includeAll"`
	AllValue   string `json:"allValue"`
	Current    struct {
		Value json.RawMessage `json:"value"`
	} `json:"current"`
	Auto      bool   `json:"auto"`
	AutoCount int    `json:"auto_count"`
	AutoMin   string `json:"auto_min"`
}

type panel struct {
	ID         int    `json:"id"`
	Title      string `json:"title"`
	Type       string `json:"type"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct {
		W int `json:"w"`
		H int `json:"h"`
	} `json:"gridPos"`
	// Interval is the panel's minimum interval ("Min interval" in the query options).
	Interval        string           `json:"interval"`
	MaxDataPoints   int              `json:"maxDataPoints"`
	Targets         []map[string]any `json:"targets"`
	Options         panelOptions     `json:"options"`
	FieldConfig     json.RawMessage  `json:"fieldConfig"`
	Transformations []transformation `json:"transformations"`
}

type panelOptions struct {
	ReduceOptions *reduceOptions `json:"reduceOptions"`
}

type reduceOptions struct {
	Values bool     `json:"values"`
	Calcs  []string `json:"calcs"`
	Fields string   `json:"fields"`
	Limit  int      `json:"limit"`
}

type transformation struct {
	ID      string          `json:"id"`
	Options json.RawMessage `json:"options"`
}

func provisionedDataSourceUID(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "provisioning", "datasources", "kpiflow.yaml"))
	require.NoError(t, err)
	var f struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
		} `yaml:"datasources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &f))
	require.Len(t, f.Datasources, 1)
	return f.Datasources[0].UID
}

// relativeRe is Grafana's relative time: now, now-30d, now-6h, now-15m.
var relativeRe = regexp.MustCompile(`^now(?:-(\d+)([smhdw]))?$`)

func relative(t *testing.T, s string, now time.Time) time.Time {
	t.Helper()
	m := relativeRe.FindStringSubmatch(s)
	require.NotNil(t, m, "time %q: the test reads now and now-N[smhdw]", s)
	if m[1] == "" {
		return now
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	return now.Add(-time.Duration(n) * unit)
}

func (d dashboard) timeRange(t *testing.T, now time.Time) (time.Time, time.Time) {
	return relative(t, d.Time.From, now), relative(t, d.Time.To, now)
}

// ---- variables and intervals, as Grafana resolves them

// dashboardWidth is the width in pixels the test assumes for a dashboard (a
// 1920 px screen); a panel gets gridPos.w/24 of it.
const dashboardWidth = 1920

// roundInterval is Grafana's rangeutil.roundInterval: an interval in
// milliseconds rounded to one of Grafana's steps.
func roundInterval(ms float64) int64 {
	steps := []struct {
		below float64
		ms    int64
	}{
		{10, 1}, {15, 10}, {35, 20}, {75, 50}, {150, 100}, {350, 200}, {750, 500}, {1500, 1000},
		{3500, 2000}, {7500, 5000}, {12500, 10000}, {17500, 15000}, {25000, 20000}, {45000, 30000},
		{90000, 60000}, {210000, 120000}, {450000, 300000}, {750000, 600000}, {1050000, 900000},
		{1500000, 1200000}, {2700000, 1800000}, {5400000, 3600000}, {9000000, 7200000},
		{16200000, 10800000}, {32400000, 21600000}, {86400000, 43200000}, {604800000, 86400000},
		{1814400000, 604800000}, {3628800000, 2592000000},
	}
	for _, s := range steps {
		if ms < s.below {
			return s.ms
		}
	}
	return 31536000000
}

// parseInterval reads Grafana's interval strings (10s, 5m, 1h, 1d, 1w).
func parseInterval(t *testing.T, s string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`^(\d+)(ms|s|m|h|d|w)$`).FindStringSubmatch(s)
	require.NotNil(t, m, "interval %q", s)
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit
}

// calculateInterval is Grafana's rangeutil.calculateInterval: the range over
// the resolution, rounded, at least lowLimit.
func calculateInterval(t *testing.T, from, to time.Time, resolution int, lowLimit string) time.Duration {
	t.Helper()
	ms := roundInterval(float64(to.Sub(from).Milliseconds()) / float64(resolution))
	d := time.Duration(ms) * time.Millisecond
	if lowLimit != "" {
		d = max(d, parseInterval(t, lowLimit))
	}
	return d
}

// secondsToHms is Grafana's rangeutil.secondsToHms: the largest whole unit.
func secondsToHms(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s >= 31536000:
		return fmt.Sprintf("%dy", s/31536000)
	case s >= 86400:
		return fmt.Sprintf("%dd", s/86400)
	case s >= 3600:
		return fmt.Sprintf("%dh", s/3600)
	case s >= 60:
		return fmt.Sprintf("%dm", s/60)
	case s >= 1:
		return fmt.Sprintf("%ds", s)
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

// variableResources maps a kpiflow variable query's kind to the resource
// the data source's metricFindQuery reads (src/datasource/DataSource.ts).
var variableResources = map[string]string{"metrics": "metrics", "teams": "teams", "projects": "projects", "labelKeys": "labels/keys"}

// resolveVariables gives each variable its values as Grafana does on load:
// query variables are refreshed and keep their saved selection, "All" (no
// allValue) selects every value; custom variables keep theirs; an interval
// variable on auto is the range over auto_count steps, at least auto_min.
func resolveVariables(t *testing.T, env *builderEnv, d dashboard, from, to time.Time) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, v := range d.Templating.List {
		current := jsonStrings(t, v.Current.Value)
		all := len(current) == 1 && current[0] == "$__all"
		switch v.Type {
		case "query":
			var q struct {
				Kind string `json:"kind"`
			}
			require.NoError(t, json.Unmarshal(v.Query, &q), "variable %s: a kpiflow variable query", v.Name)
			path, ok := variableResources[q.Kind]
			require.True(t, ok, "variable %s: kind %q", v.Name, q.Kind)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			status, body := env.getResource(ctx, t, path)
			cancel()
			require.Equal(t, 200, status, "variable %s: GET %s: %s", v.Name, path, body)
			var options []string
			require.NoError(t, json.Unmarshal(body, &options))
			require.NotEmpty(t, options, "variable %s has no values on the demo data", v.Name)
			switch {
			case all && v.IncludeAll && v.AllValue != "":
				out[v.Name] = []string{v.AllValue}
			case all:
				require.True(t, v.IncludeAll, "variable %s selects All but does not include it", v.Name)
				out[v.Name] = options
			default:
				out[v.Name] = current
			}
		case "custom":
			options := strings.Split(jsonString(t, v.Query), ",")
			if all {
				out[v.Name] = options
			} else {
				out[v.Name] = current
			}
		case "interval":
			if len(current) == 1 && current[0] == "$__auto" {
				require.True(t, v.Auto, "variable %s is on auto without auto", v.Name)
				out[v.Name] = []string{secondsToHms(calculateInterval(t, from, to, v.AutoCount, v.AutoMin))}
			} else {
				out[v.Name] = current
			}
		default:
			t.Fatalf("variable %s: type %q has no rule in this test", v.Name, v.Type)
		}
	}
	return out
}

func jsonString(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	require.NoError(t, json.Unmarshal(raw, &s))
	return s
}

// jsonStrings reads a current value: a string or a list of strings.
func jsonStrings(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	return []string{jsonString(t, raw)}
}

// varRefRe finds $name, ${name} and [[name]] references (not $__ macros).
var varRefRe = regexp.MustCompile(`\$\{(\w+)\}|\[\[(\w+)\]\]|\$([A-Za-z]\w*)`)

// interpolate expands variables in a target the way the browser sends it
// (DataSource.applyTemplateVariables): a list entry that is one multi-value
// variable becomes one entry per value; elsewhere a variable must have one
// value.
func interpolate(t *testing.T, v any, vars map[string][]string) any {
	t.Helper()
	replace := func(s string) string {
		return varRefRe.ReplaceAllStringFunc(s, func(ref string) string {
			m := varRefRe.FindStringSubmatch(ref)
			name := m[1] + m[2] + m[3]
			values, ok := vars[name]
			if !ok {
				return ref
			}
			require.Len(t, values, 1, "variable %s has several values where the query takes one (%q)", name, s)
			return values[0]
		})
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = interpolate(t, e, vars)
		}
		return out
	case []any:
		var out []any
		for _, e := range x {
			if s, ok := e.(string); ok {
				if m := varRefRe.FindStringSubmatch(s); m != nil && m[0] == s {
					if values, ok := vars[m[1]+m[2]+m[3]]; ok {
						for _, val := range values {
							out = append(out, val)
						}
						continue
					}
				}
			}
			out = append(out, interpolate(t, e, vars))
		}
		return out
	case string:
		return replace(x)
	}
	return v
}

// ---- queries

// queryPanel sends the panel's targets as Grafana's query runner does: the
// interval from the range over maxDataPoints (the panel's width in pixels
// unless set), at least the panel's min interval.
func queryPanel(t *testing.T, env *builderEnv, dsUID string, p panel, vars map[string][]string, from, to time.Time) data.Frames {
	t.Helper()
	require.NotNil(t, p.Datasource, "panel has no data source")
	require.Equal(t, dsUID, p.Datasource.UID, "panel data source is not the provisioned one")
	require.NotEmpty(t, p.Targets, "panel has no queries")
	maxDataPoints := p.MaxDataPoints
	if maxDataPoints == 0 {
		maxDataPoints = p.GridPos.W * dashboardWidth / 24
	}
	interval := calculateInterval(t, from, to, maxDataPoints, p.Interval)
	var frames data.Frames
	for _, target := range p.Targets {
		q, ok := interpolate(t, target, vars).(map[string]any)
		require.True(t, ok)
		refID, _ := q["refId"].(string)
		queryType, _ := q["queryType"].(string)
		q["intervalMs"], q["maxDataPoints"] = interval.Milliseconds(), maxDataPoints
		q["datasource"] = map[string]string{"type": "kpiflow-clickhouse-datasource", "uid": env.src.Settings.UID}
		raw, err := json.Marshal(q)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		resp := env.p.QueryData(ctx, t, env.src, nil, backend.DataQuery{
			RefID: refID, QueryType: queryType, JSON: raw, Interval: interval, MaxDataPoints: int64(maxDataPoints),
			TimeRange: backend.TimeRange{From: from, To: to},
		})
		cancel()
		r := resp.Responses[refID]
		require.NoError(t, r.Error, "target %s: %s", refID, raw)
		rows := 0
		for _, f := range r.Frames {
			rows += f.Rows()
		}
		require.Positive(t, rows, "target %s returned no rows on the demo data: %s", refID, raw)
		frames = append(frames, r.Frames...)
	}
	return frames
}

// ---- transformations, as Grafana applies them

func applyTransformations(t *testing.T, ts []transformation, frames data.Frames) data.Frames {
	t.Helper()
	for _, tr := range ts {
		switch tr.ID {
		case "organize":
			frames = organize(t, tr.Options, frames)
		case "reduce":
			frames = reduceSeriesToRows(t, tr.Options, frames)
		default:
			t.Fatalf("transformation %q has no rule in this test: write it here", tr.ID)
		}
	}
	return frames
}

// organize drops the fields in excludeByName and renames by renameByName.
func organize(t *testing.T, raw json.RawMessage, frames data.Frames) data.Frames {
	t.Helper()
	var o struct {
		ExcludeByName map[string]bool   `json:"excludeByName"`
		RenameByName  map[string]string `json:"renameByName"`
	}
	require.NoError(t, json.Unmarshal(raw, &o))
	for _, f := range frames {
		var kept []*data.Field
		for _, field := range f.Fields {
			if o.ExcludeByName[field.Name] {
				continue
			}
			if n, ok := o.RenameByName[field.Name]; ok {
				field.Name = n
			}
			kept = append(kept, field)
		}
		f.Fields = kept
	}
	return frames
}

// reducerNames are the calcs this test computes, with the column name the
// reduce transformation gives them.
var reducerNames = map[string]string{"lastNotNull": "Last *", "last": "Last", "mean": "Mean", "max": "Max", "min": "Min"}

// reduceSeriesToRows is the reduce transformation in "Series to rows" mode:
// one row per number field of every frame, with the field's name ("Field"),
// its labels as columns when labelsToFields is set, and one column per
// reducer.
func reduceSeriesToRows(t *testing.T, raw json.RawMessage, frames data.Frames) data.Frames {
	t.Helper()
	var o struct {
		Mode           string   `json:"mode"`
		Reducers       []string `json:"reducers"`
		LabelsToFields bool     `json:"labelsToFields"`
	}
	require.NoError(t, json.Unmarshal(raw, &o))
	require.Equal(t, "seriesToRows", o.Mode, "reduce: only seriesToRows has a rule in this test")
	type row struct {
		name   string
		labels data.Labels
		calcs  []*float64
	}
	var rows []row
	keys := map[string]bool{}
	for _, f := range frames {
		for _, field := range f.Fields {
			if !field.Type().Numeric() {
				continue
			}
			r := row{name: field.Name, labels: field.Labels}
			for k := range field.Labels {
				keys[k] = true
			}
			for _, calc := range o.Reducers {
				_, ok := reducerNames[calc]
				require.True(t, ok, "reducer %q has no rule in this test", calc)
				r.calcs = append(r.calcs, reduce(t, field, calc))
			}
			rows = append(rows, r)
		}
	}
	out := data.NewFrame("")
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.name
	}
	out.Fields = append(out.Fields, data.NewField("Field", nil, names))
	if o.LabelsToFields {
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			vals := make([]string, len(rows))
			for i, r := range rows {
				vals[i] = r.labels[k]
			}
			out.Fields = append(out.Fields, data.NewField(k, nil, vals))
		}
	}
	for c, calc := range o.Reducers {
		vals := make([]*float64, len(rows))
		for i, r := range rows {
			vals[i] = r.calcs[c]
		}
		out.Fields = append(out.Fields, data.NewField(reducerNames[calc], nil, vals))
	}
	return data.Frames{out}
}

func numberAt(field *data.Field, i int) *float64 {
	v, err := field.NullableFloatAt(i)
	if err != nil || v == nil || math.IsNaN(*v) {
		return nil
	}
	return v
}

// reduce is Grafana's field reducer for the calcs named in reducerNames.
func reduce(t *testing.T, field *data.Field, calc string) *float64 {
	t.Helper()
	var vals []float64
	var last *float64
	for i := 0; i < field.Len(); i++ {
		v := numberAt(field, i)
		if i == field.Len()-1 {
			last = v
		}
		if v != nil {
			vals = append(vals, *v)
		}
	}
	if calc == "last" {
		return last
	}
	if len(vals) == 0 {
		return nil
	}
	var r float64
	switch calc {
	case "lastNotNull":
		r = vals[len(vals)-1]
	case "mean":
		for _, v := range vals {
			r += v
		}
		r /= float64(len(vals))
	case "max":
		r = slices.Max(vals)
	case "min":
		r = slices.Min(vals)
	default:
		t.Fatalf("reducer %q has no rule in this test", calc)
	}
	return &r
}

// ---- what each panel type reads from frames (Grafana's rules)

// displayName is Grafana's getFieldDisplayName for the frames kpiflow
// returns: the field config's displayName, then displayNameFromDS, then the
// name followed by its labels.
func displayName(field *data.Field) string {
	if c := field.Config; c != nil {
		if c.DisplayName != "" {
			return c.DisplayName
		}
		if c.DisplayNameFromDS != "" {
			return c.DisplayNameFromDS
		}
	}
	if len(field.Labels) == 0 {
		return field.Name
	}
	return field.Name + " " + field.Labels.String()
}

func isTime(f *data.Field) bool {
	return f.Type() == data.FieldTypeTime || f.Type() == data.FieldTypeNullableTime
}

func isString(f *data.Field) bool {
	return f.Type() == data.FieldTypeString || f.Type() == data.FieldTypeNullableString
}

// displayValue is one value a stat, gauge or bar gauge shows: its title and
// the field it comes from.
type displayValue struct {
	title  string
	field  string
	labels data.Labels
	value  *float64
}

// fieldDisplayValues is Grafana's getFieldDisplayValues (stat, gauge, bar
// gauge): the fields matched by reduceOptions.fields (a /regex/ on the
// display name) or, without it, every number field; with values each row is
// one value, titled by the row's other string fields (joined by spaces) plus
// the field's name when the frame has other number fields
// (getSmartDisplayNameForRow); otherwise each field is reduced by each calc
// and titled by its display name. At most limit (default 25) values. The
// panel types' defaults (no reduceOptions) are values false, calcs
// [lastNotNull], fields "".
func fieldDisplayValues(t *testing.T, o *reduceOptions, frames data.Frames) []displayValue {
	t.Helper()
	if o == nil {
		o = &reduceOptions{Calcs: []string{"lastNotNull"}}
	}
	calcs := o.Calcs
	if len(calcs) == 0 {
		calcs = []string{"last"}
	}
	limit := o.Limit
	if limit == 0 {
		limit = 25
	}
	match := func(f *data.Field) bool { return f.Type().Numeric() }
	if o.Fields != "" {
		require.True(t, strings.HasPrefix(o.Fields, "/") && strings.HasSuffix(o.Fields, "/"), "fields %q: a /regex/", o.Fields)
		re := regexp.MustCompile(o.Fields[1 : len(o.Fields)-1])
		match = func(f *data.Field) bool { return re.MatchString(displayName(f)) }
	}
	var out []displayValue
	for _, frame := range frames {
		for _, field := range frame.Fields {
			if !match(field) || isTime(field) {
				continue
			}
			if !o.Values {
				for _, calc := range calcs {
					out = append(out, displayValue{title: displayName(field), field: field.Name, labels: field.Labels,
						value: reduce(t, field, calc)})
				}
				continue
			}
			for i := 0; i < field.Len() && len(out) < limit; i++ {
				var parts []string
				others := 0
				for _, other := range frame.Fields {
					switch {
					case other == field:
					case isString(other):
						if s := kpiframes.StringAt(other, i); s != "" {
							parts = append(parts, s)
						}
					case other.Type().Numeric():
						others++
					}
				}
				if others > 0 || len(parts) == 0 {
					parts = append(parts, displayName(field))
				}
				out = append(out, displayValue{title: strings.Join(parts, " "), field: field.Name, labels: field.Labels,
					value: numberAt(field, i)})
			}
		}
	}
	return out
}

// panelIntent is what a panel is meant to show, beyond what its type needs.
type panelIntent struct {
	// titles of the values a stat or bar gauge shows, in order; nil checks
	// only that it shows some.
	titles func(env *builderEnv, from, to time.Time) []string
	// field is the field a stat's or bar gauge's values must come from.
	field string
	// perLabel: a stat shows one value per value of this label (at least
	// two on the demo data), in place of fixed titles.
	perLabel string
	// grain is the column a table has one row per value of, and wantRows
	// how many rows that is on the demo data (nil: any).
	grain    string
	wantRows func(env *builderEnv, from, to time.Time) int
	// columns a table shows exactly, in order (nil: any).
	columns []string
}

// panelIntents, by "dashboard uid/panel title". Every stat, bar gauge and
// table of the bundled dashboards has one.
func panelIntents() map[string]panelIntent {
	fixed := func(titles ...string) func(*builderEnv, time.Time, time.Time) []string {
		return func(*builderEnv, time.Time, time.Time) []string { return titles }
	}
	return map[string]panelIntent{
		"kpiflow-taskflow/Work in progress": {
			// One bar per state with open work, named by the state.
			titles: func(env *builderEnv, _, _ time.Time) []string { return openStates(env) },
			field:  "tasks",
		},
		"kpiflow-taskflow/Cycle time percentiles": {titles: fixed("p50", "p85", "p95"), field: "cycle_time"},
		"kpiflow-taskflow/Aging work in progress": {grain: "task_id"},
		"kpiflow-kpis/Coverage (last)": {
			grain: "Project", columns: []string{"Project", "Coverage"},
			wantRows: func(env *builderEnv, from, to time.Time) int {
				projects := map[string]bool{}
				for _, k := range env.kpi {
					if k.Metric == "coverage_pct" && !k.TS.Before(from) && !k.TS.After(to) {
						projects[k.Project] = true
					}
				}
				return len(projects)
			},
		},
		"kpiflow-kpis/Raw SQL: samples per metric":                         {grain: "metric", columns: []string{"metric", "samples", "first", "last"}},
		"kpiflow-dora/Deployment frequency (deploy days)":                  {titles: fixed("deployment_frequency"), field: "deployment_frequency"},
		"kpiflow-dora/Lead time for changes (median)":                      {titles: fixed("lead_time"), field: "lead_time"},
		"kpiflow-dora/Change failure rate":                                 {titles: fixed("change_failure_rate"), field: "change_failure_rate"},
		"kpiflow-dora/Time to restore service (median)":                    {titles: fixed("time_to_restore"), field: "time_to_restore"},
		"kpiflow-forecast/Completion dates":                                {grain: "percentile", wantRows: func(*builderEnv, time.Time, time.Time) int { return 4 }},
		"kpiflow-forecast/Days to the P85 date, per team":                  {perLabel: "team", field: "days_to_p85"},
		"kpiflow-forecast/Per-task ETAs (tasks in progress, oldest first)": {grain: "task_id"},
	}
}

// openStates are the states of the demo's tasks whose latest event is not
// done, sorted.
func openStates(env *builderEnv) []string {
	type latest struct {
		ts       time.Time
		state    string
		category string
	}
	byTask := map[string]latest{}
	for _, e := range env.ds.Tasks {
		if l, ok := byTask[e.TaskID]; !ok || !e.TS.Before(l.ts) {
			byTask[e.TaskID] = latest{e.TS, e.State, e.StateCategory}
		}
	}
	states := map[string]bool{}
	for _, l := range byTask {
		if l.category != "done" {
			states[l.state] = true
		}
	}
	var out []string
	for s := range states {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func checkPanel(t *testing.T, env *builderEnv, p panel, in panelIntent, frames data.Frames, from, to time.Time) {
	t.Helper()
	switch p.Type {
	case "timeseries":
		checkTimeSeriesPanel(t, frames)
	case "stat", "bargauge", "gauge":
		require.True(t, in.titles != nil || in.perLabel != "", "no panelIntent for this %s panel: say what it shows", p.Type)
		values := fieldDisplayValues(t, p.Options.ReduceOptions, frames)
		require.NotEmpty(t, values, "the panel shows No data")
		if in.perLabel != "" {
			seen := map[string]bool{}
			for _, v := range values {
				require.Equal(t, in.field, v.field, "value %q comes from the wrong field", v.title)
				require.NotNil(t, v.value, "value %q is empty", v.title)
				l, ok := v.labels[in.perLabel]
				require.True(t, ok, "value %q has no label %s", v.title, in.perLabel)
				require.False(t, seen[l], "two values for %s=%s", in.perLabel, l)
				seen[l] = true
			}
			require.GreaterOrEqual(t, len(seen), 2, "one value per %s: %v", in.perLabel, seen)
			return
		}
		var titles []string
		for _, v := range values {
			require.Equal(t, in.field, v.field, "value %q comes from the wrong field", v.title)
			require.NotNil(t, v.value, "value %q is empty", v.title)
			titles = append(titles, v.title)
		}
		want := in.titles(env, from, to)
		if p.Type == "bargauge" {
			require.GreaterOrEqual(t, len(titles), 2, "a bar gauge of one bar: %v", titles)
			sort.Strings(titles)
		}
		require.Equal(t, want, titles)
	case "table":
		require.NotEmpty(t, in.grain, "no panelIntent for this table: say its grain")
		checkTablePanel(t, env, in, frames, from, to)
	case "kpiflow-taskflow-panel":
		checkTaskflowPanel(t, frames)
	case "kpiflow-forecast-panel":
		checkForecastPanel(t, frames)
	default:
		t.Fatalf("panel type %q has no rule in this test: write what it reads from frames", p.Type)
	}
}

// checkTimeSeriesPanel: Grafana's time series panel draws frames with a time
// field and number fields; a number field per series (wide, or one frame per
// series with labels). A long frame (string columns beside time and numbers)
// is not drawn as series.
func checkTimeSeriesPanel(t *testing.T, frames data.Frames) {
	t.Helper()
	points := 0
	for _, f := range frames {
		if f.Rows() == 0 {
			continue
		}
		times, numbers := 0, 0
		for _, field := range f.Fields {
			switch {
			case isTime(field):
				times++
			case field.Type().Numeric():
				numbers++
				for i := 0; i < field.Len(); i++ {
					if numberAt(field, i) != nil {
						points++
					}
				}
			case isString(field):
				t.Fatalf("frame %q is long (string field %q beside time): the time series panel needs wide frames", f.Name, field.Name)
			}
		}
		require.Equal(t, 1, times, "frame %q needs one time field", f.Name)
		require.Positive(t, numbers, "frame %q has no number field", f.Name)
	}
	require.Positive(t, points, "no points to draw")
}

// checkTablePanel: the table panel shows the first frame (others behind a
// frame picker); its rows must be the panel's grain, one per value.
func checkTablePanel(t *testing.T, env *builderEnv, in panelIntent, frames data.Frames, from, to time.Time) {
	t.Helper()
	require.NotEmpty(t, frames)
	f := frames[0]
	require.Positive(t, f.Rows(), "empty table")
	var names []string
	var grain *data.Field
	for _, field := range f.Fields {
		names = append(names, field.Name)
		if field.Name == in.grain {
			grain = field
		}
	}
	if in.columns != nil {
		require.Equal(t, in.columns, names)
	}
	require.NotNil(t, grain, "no column %q in %v", in.grain, names)
	seen := map[string]bool{}
	for i := 0; i < grain.Len(); i++ {
		v := fmt.Sprint(grain.At(i))
		if s, ok := grain.At(i).(*string); ok && s != nil {
			v = *s
		}
		require.False(t, seen[v], "two rows for %s %q: the table has the wrong grain", in.grain, v)
		seen[v] = true
	}
	if in.wantRows != nil {
		require.Equal(t, in.wantRows(env, from, to), f.Rows(), "rows, one per %s", in.grain)
	}
}

// checkTaskflowPanel: kpiflow's task flow panel draws a cfd frame (time and
// number fields) and lists a tasks frame (task_id, state_category), with
// ages from an aging frame (task_id, age).
func checkTaskflowPanel(t *testing.T, frames data.Frames) {
	t.Helper()
	var cfd, tasks, aging bool
	for _, f := range frames {
		names := map[string]bool{}
		hasTime, numbers := false, 0
		for _, field := range f.Fields {
			names[field.Name] = true
			hasTime = hasTime || isTime(field)
			if field.Type().Numeric() {
				numbers++
			}
		}
		switch {
		case names["task_id"] && names["state_category"]:
			tasks = true
		case names["task_id"] && names["age"]:
			aging = true
		case hasTime && numbers > 0:
			cfd = true
		}
	}
	require.True(t, cfd, "no cumulative flow frame")
	require.True(t, tasks, "no tasks frame")
	require.True(t, aging, "no aging frame")
}

// checkForecastPanel: kpiflow's forecast panel draws a KPI trend (a frame
// with time, yhat and its yhat_lower/yhat_upper band) or a burn-up (a frame
// with time, done and percentile fields p50, p85, ...) with its dates table
// (percentile, date).
func checkForecastPanel(t *testing.T, frames data.Frames) {
	t.Helper()
	var trend, burnup, dates bool
	for _, f := range frames {
		names := map[string]int{}
		hasTime := false
		for _, field := range f.Fields {
			names[field.Name]++
			hasTime = hasTime || isTime(field)
		}
		switch {
		case hasTime && names["yhat"] == 1 && names["yhat_lower"] > 0 && names["yhat_lower"] == names["yhat_upper"]:
			trend = true
		case hasTime && names["done"] == 1 && names["p85"] == 1:
			burnup = true
		case names["percentile"] == 1 && names["date"] == 1:
			dates = true
		}
	}
	require.True(t, trend || (burnup && dates), "neither a trend frame nor a burn-up frame with its dates table")
}

// ---- alert rules

type alertFile struct {
	APIVersion int `yaml:"apiVersion"`
	Groups     []struct {
		OrgID    int         `yaml:"orgId"`
		Name     string      `yaml:"name"`
		Folder   string      `yaml:"folder"`
		Interval string      `yaml:"interval"`
		Rules    []alertRule `yaml:"rules"`
	} `yaml:"groups"`
}

type alertRule struct {
	UID       string `yaml:"uid"`
	Title     string `yaml:"title"`
	Condition string `yaml:"condition"`
	Data      []struct {
		RefID             string `yaml:"refId"`
		RelativeTimeRange struct {
			From int64 `yaml:"from"`
			To   int64 `yaml:"to"`
		} `yaml:"relativeTimeRange"`
		DatasourceUID string         `yaml:"datasourceUid"`
		Model         map[string]any `yaml:"model"`
	} `yaml:"data"`
	NoDataState  string `yaml:"noDataState"`
	ExecErrState string `yaml:"execErrState"`
	For          string `yaml:"for"`
}

// checkAlertRule sends the rule's data source queries as Grafana's alerting
// does (FromAlert header, the rule's relative range, intervalMs 1000 and
// maxDataPoints 43200 unless the model sets them) and evaluates its
// expressions by Grafana's rules for data source results (pkg/expr):
// a frame with time is a series only when wide (time and numbers, one
// series per number field); a frame without time is numeric data when it has
// exactly one number field, string fields being labels, one row per label
// set. reduce turns series into numbers; threshold compares numbers or the
// points of series.
func checkAlertRule(t *testing.T, env *builderEnv, dsUID string, r alertRule, now time.Time) {
	t.Helper()
	require.NotEmpty(t, r.UID)
	require.Contains(t, []string{"NoData", "OK", "Alerting", "KeepLast"}, r.NoDataState)
	require.Contains(t, []string{"Error", "OK", "Alerting", "KeepLast"}, r.ExecErrState)
	type result struct {
		series  int // series in the result (alert instances after a reduce)
		numbers int // numbers (alert instances)
	}
	results := map[string]result{}
	for _, d := range r.Data {
		require.Equal(t, d.RefID, d.Model["refId"], "data %s: model.refId", d.RefID)
		if d.DatasourceUID == "__expr__" {
			expr, _ := d.Model["expression"].(string)
			in, ok := results[expr]
			require.True(t, ok, "%s: expression %q names no earlier query", d.RefID, expr)
			switch d.Model["type"] {
			case "reduce":
				require.Positive(t, in.series, "%s: reduce needs series from %s", d.RefID, expr)
				results[d.RefID] = result{numbers: in.series}
			case "threshold":
				conds, _ := d.Model["conditions"].([]any)
				require.Len(t, conds, 1, "%s: one threshold condition", d.RefID)
				require.Positive(t, in.series+in.numbers, "%s: nothing to compare from %s", d.RefID, expr)
				results[d.RefID] = in
			default:
				t.Fatalf("%s: expression type %v has no rule in this test", d.RefID, d.Model["type"])
			}
			continue
		}
		require.Equal(t, dsUID, d.DatasourceUID, "%s: not the provisioned kpiflow data source", d.RefID)
		model := map[string]any{}
		for k, v := range d.Model {
			model[k] = v
		}
		intervalMs, maxDataPoints := int64(1000), int64(43200)
		if v, ok := model["intervalMs"].(int); ok {
			intervalMs = int64(v)
		}
		model["intervalMs"], model["maxDataPoints"] = intervalMs, maxDataPoints
		raw, err := json.Marshal(model)
		require.NoError(t, err)
		queryType, _ := model["queryType"].(string)
		from := now.Add(-time.Duration(d.RelativeTimeRange.From) * time.Second)
		to := now.Add(-time.Duration(d.RelativeTimeRange.To) * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		resp := env.p.QueryData(ctx, t, env.src, map[string]string{"FromAlert": "true"}, backend.DataQuery{
			RefID: d.RefID, QueryType: queryType, JSON: raw, TimeRange: backend.TimeRange{From: from, To: to},
			Interval: time.Duration(intervalMs) * time.Millisecond, MaxDataPoints: maxDataPoints,
		})
		cancel()
		res := resp.Responses[d.RefID]
		require.NoError(t, res.Error, "%s: %s", d.RefID, raw)
		results[d.RefID] = alertable(t, d.RefID, res.Frames)
	}
	cond, ok := results[r.Condition]
	require.True(t, ok, "condition %q names no query or expression", r.Condition)
	require.Positive(t, cond.numbers+cond.series, "the condition has no instances on the demo data")
}

// alertable classifies a data source result as Grafana's alerting reads it.
func alertable(t *testing.T, refID string, frames data.Frames) (r struct{ series, numbers int }) {
	t.Helper()
	for _, f := range frames {
		if f.Rows() == 0 {
			continue
		}
		var times, numbers, strs []*data.Field
		for _, field := range f.Fields {
			switch {
			case isTime(field):
				times = append(times, field)
			case field.Type().Numeric():
				numbers = append(numbers, field)
			case isString(field):
				strs = append(strs, field)
			}
		}
		if len(times) > 0 {
			require.Len(t, times, 1, "%s: frame %q has several time fields", refID, f.Name)
			require.Empty(t, strs, "%s: frame %q is long: input data must be a wide series", refID, f.Name)
			require.NotEmpty(t, numbers, "%s: frame %q has no number field", refID, f.Name)
			r.series += len(numbers)
			continue
		}
		require.Len(t, numbers, 1, "%s: frame %q without time must have exactly one number field", refID, f.Name)
		seen := map[string]bool{}
		for i := 0; i < f.Rows(); i++ {
			var labels []string
			for _, s := range strs {
				labels = append(labels, s.Name+"="+kpiframes.StringAt(s, i))
			}
			key := strings.Join(labels, ",")
			require.False(t, seen[key], "%s: two rows with labels {%s}", refID, key)
			seen[key] = true
		}
		r.numbers += f.Rows()
	}
	require.Positive(t, r.series+r.numbers, "%s: no data on the demo dataset", refID)
	return r
}
