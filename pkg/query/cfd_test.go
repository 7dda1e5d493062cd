package query

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// cfdDayByDay is the replay cfdFrame did before it swept over changes: every
// task stepped through every day. It is the reference the sweep must match.
func cfdDayByDay(res *data.Frame, first, last int64) map[string][]float64 {
	type change struct {
		day int64
		cat string
	}
	byTask := map[string][]change{}
	tf, idf, cf := res.Fields[0], res.Fields[1], res.Fields[2]
	for i := 0; i < res.Rows(); i++ {
		id := frames.StringAt(idf, i)
		byTask[id] = append(byTask[id], change{frames.TimeAt(tf, i).Unix(), frames.StringAt(cf, i)})
	}
	n := int((last-first)/day) + 1
	counts := map[string][]float64{}
	for _, c := range schema.StateCategories() {
		counts[c] = make([]float64, n)
	}
	for _, changes := range byTask {
		sort.Slice(changes, func(i, j int) bool { return changes[i].day < changes[j].day })
		k := -1
		for d := 0; d < n; d++ {
			dayStart := first + int64(d)*day
			for k+1 < len(changes) && changes[k+1].day <= dayStart {
				k++
			}
			if k >= 0 {
				if c, ok := counts[changes[k].cat]; ok {
					c[d]++
				}
			}
		}
	}
	return counts
}

// cfdInput is tasks with random changes around [first, first+span days]:
// some before the range, some after it, some on unaligned times, some with
// a category the CFD does not know; rows shuffled.
func cfdInput(r *rand.Rand, tasks, span int) (days []int64, ids, cats []string) {
	known := append(schema.StateCategories(), "unknown")
	first := day0(0).Unix()
	for t := 0; t < tasks; t++ {
		at := first + int64(r.Intn(span+10)-5)*day
		for c := r.Intn(6); c >= 0; c-- {
			if r.Intn(5) == 0 {
				at += int64(r.Intn(int(day))) // not on a day boundary
			}
			days = append(days, at)
			ids = append(ids, fmt.Sprintf("t%d", t))
			cats = append(cats, known[r.Intn(len(known))])
			at += int64(1+r.Intn(8)) * day
		}
	}
	// In any order: the replay must not depend on the query's ORDER BY.
	r.Shuffle(len(days), func(i, j int) {
		days[i], days[j] = days[j], days[i]
		ids[i], ids[j] = ids[j], ids[i]
		cats[i], cats[j] = cats[j], cats[i]
	})
	return days, ids, cats
}

func cfdResult(days []int64, ids, cats []string) *data.Frame {
	times := make([]time.Time, len(days))
	for i, d := range days {
		times[i] = time.Unix(d, 0).UTC()
	}
	return data.NewFrame("", data.NewField("time", nil, times), data.NewField("task_id", nil, ids), data.NewField("category", nil, cats))
}

func TestCFDSweepMatchesDayByDay(t *testing.T) {
	for _, tc := range []struct {
		name        string
		tasks, span int
		seed        int64
	}{
		{"no tasks", 0, 10, 1},
		{"one day", 5, 0, 2},
		{"a week", 40, 6, 3},
		{"a quarter", 900, 89, 4},
		{"a year", 300, 364, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			days, ids, cats := cfdInput(rand.New(rand.NewSource(tc.seed)), tc.tasks, tc.span)
			first, last := day0(0).Unix(), day0(tc.span).Unix()
			out, err := cfdFrame(cfdResult(days, ids, cats), first, last)
			require.NoError(t, err)
			want := cfdDayByDay(cfdResult(days, ids, cats), first, last)
			f := out[0]
			require.Len(t, f.Fields, 1+len(schema.StateCategories()))
			for _, fld := range f.Fields[1:] {
				got := make([]float64, fld.Len())
				for i := range got {
					got[i] = fld.At(i).(float64)
				}
				require.Equal(t, want[fld.Name], got, fld.Name)
			}
		})
	}
}

// BenchmarkCFD shapes a quarter's cumulative flow of 950 tasks (the demo's
// size), rows in the query's order, by the sweep and, as the baseline, day
// by day.
//
//	go test -run '^$' -bench CFD -benchmem ./pkg/query/
func BenchmarkCFD(b *testing.B) {
	days, ids, cats := cfdInput(rand.New(rand.NewSource(1)), 950, 89)
	first, last := day0(0).Unix(), day0(89).Unix()
	// As the query returns them: by task, then by day.
	rows := make([]int, len(days))
	for i := range rows {
		rows[i] = i
	}
	sort.SliceStable(rows, func(a, b int) bool {
		ra, rb := rows[a], rows[b]
		return ids[ra] < ids[rb] || ids[ra] == ids[rb] && days[ra] < days[rb]
	})
	var sd []int64
	var si, sc []string
	for _, r := range rows {
		sd, si, sc = append(sd, days[r]), append(si, ids[r]), append(sc, cats[r])
	}
	res := cfdResult(sd, si, sc)
	b.Run("sweep", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := cfdFrame(res, first, last); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("day by day baseline", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = cfdDayByDay(res, first, last)
		}
	})
}
