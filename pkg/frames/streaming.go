package frames

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// StreamingLabelsField is the first field of a frame in Grafana Live's
// labels layout.
const StreamingLabelsField = "labels"

// StreamingLabels shapes a long result (a "time" column, group columns and
// the value column valueCol) as one frame in Grafana Live's labels layout:
// a string field "labels" ({team="a", metric="x"}), the time, then the value
// named valueName. Grafana's streaming frame splits such a frame into one
// series per label set and appends later frames of the same layout to them,
// which is how a live query with several series streams on one channel.
// names maps a group column to its label name (the column's own name when
// absent). Rows are sorted by time.
//
//	f, err := frames.StreamingLabels(res, map[string]string{"label_0": "region"}, "v", "avg")
//
// # Notes
//
// Grafana reads the labels with the pattern `\b(\w+)="([^"\n]*)"`, so label
// names are written with characters outside [A-Za-z0-9_] as "_", and double
// quotes and newlines in values as "'" and " ".
func StreamingLabels(res *data.Frame, names map[string]string, valueCol, valueName string) (*data.Frame, error) {
	var tf, vf *data.Field
	var groups []*data.Field
	for _, f := range res.Fields {
		switch f.Name {
		case "time":
			tf = f
		case valueCol:
			vf = f
		default:
			groups = append(groups, f)
		}
	}
	if tf == nil || vf == nil {
		return nil, fmt.Errorf("shape a live result: expected the columns time and %s, got %s", valueCol, fieldNames(res))
	}
	n := res.Rows()
	order := make([]int, n)
	times := make([]time.Time, n)
	for i := range order {
		order[i] = i
		if t, ok := tf.ConcreteAt(i); ok {
			if tt, ok := t.(time.Time); ok {
				times[i] = tt.UTC()
			}
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return times[order[a]].Before(times[order[b]]) })
	labelNames := make([]string, len(groups))
	for i, g := range groups {
		name := g.Name
		if n, ok := names[g.Name]; ok && n != "" {
			name = n
		}
		labelNames[i] = labelNameRe.ReplaceAllString(name, "_")
	}
	labels := make([]string, n)
	outTimes := make([]time.Time, n)
	values := make([]*float64, n)
	var sb strings.Builder
	for k, i := range order {
		sb.Reset()
		sb.WriteByte('{')
		for j, g := range groups {
			if j > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(labelNames[j])
			sb.WriteString(`="`)
			sb.WriteString(labelValueReplacer.Replace(text(g.At(i))))
			sb.WriteByte('"')
		}
		sb.WriteByte('}')
		labels[k] = sb.String()
		outTimes[k] = times[i]
		if v, err := vf.NullableFloatAt(i); err == nil && v != nil {
			x := *v
			values[k] = &x
		}
	}
	return data.NewFrame("",
		data.NewField(StreamingLabelsField, nil, labels),
		data.NewField("time", nil, outTimes),
		data.NewField(valueName, nil, values),
	), nil
}

var (
	labelNameRe        = regexp.MustCompile(`[^A-Za-z0-9_]`)
	labelValueReplacer = strings.NewReplacer(`"`, `'`, "\n", " ")
)

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case *string:
		if x == nil {
			return ""
		}
		return *x
	}
	return fmt.Sprint(v)
}

func fieldNames(f *data.Frame) string {
	names := make([]string, len(f.Fields))
	for i, fld := range f.Fields {
		names[i] = fld.Name
	}
	return strings.Join(names, ", ")
}
