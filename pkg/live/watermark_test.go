package live

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// read is one poll's rows: ingested_at and identity per row, newest first as
// the poll reads them.
type read struct {
	stamps []int64
	ids    []uint64
}

func rowsOf2(pairs ...int64) read {
	var r read
	for i := 0; i+1 < len(pairs); i += 2 {
		r.stamps = append(r.stamps, pairs[i])
		r.ids = append(r.ids, uint64(pairs[i+1]))
	}
	return r
}

func TestWatermark(t *testing.T) {
	type poll struct {
		read      read
		fresh     []int // indices delivered
		overflow  bool
		noCommit  bool
		wantSince int64
	}
	tests := []struct {
		name     string
		now      int64
		baseline read
		polls    []poll
	}{
		{
			name: "equal timestamps: a row sharing the second of one delivered comes, the delivered one does not",
			now:  100, baseline: rowsOf2(100, 1),
			polls: []poll{
				{read: rowsOf2(100, 2, 100, 1), fresh: []int{0}, wantSince: 90},
				{read: rowsOf2(100, 2, 100, 1), fresh: nil, wantSince: 90},
			},
		},
		{
			name: "late visibility within the lag: an older stamp that shows up after a newer row is delivered",
			now:  100,
			polls: []poll{
				{read: rowsOf2(110, 1), fresh: []int{0}, wantSince: 100},
				{read: rowsOf2(110, 1, 104, 2), fresh: []int{1}, wantSince: 100},
			},
		},
		{
			name: "identical rows are counted: the second copy comes when it is seen",
			now:  100,
			polls: []poll{
				{read: rowsOf2(101, 7), fresh: []int{0}, wantSince: 91},
				{read: rowsOf2(101, 7, 101, 7), fresh: []int{1}, wantSince: 91},
				{read: rowsOf2(101, 7, 101, 7), fresh: nil, wantSince: 91},
			},
		},
		{
			name: "a poll not committed (delivery failed) finds the same rows fresh again",
			now:  100,
			polls: []poll{
				{read: rowsOf2(101, 1, 100, 2), fresh: []int{0, 1}, noCommit: true, wantSince: 90},
				{read: rowsOf2(101, 1, 100, 2), fresh: []int{0, 1}, wantSince: 91},
			},
		},
		{
			name: "overflow: the oldest second of a full read is skipped and the window starts after it",
			now:  100,
			polls: []poll{
				// maxRows is 3 below: four rows mean the read was cut.
				{read: rowsOf2(105, 1, 104, 2, 104, 3, 103, 4), fresh: []int{0, 1, 2}, overflow: true, wantSince: 104},
				{read: rowsOf2(106, 5, 105, 1, 104, 2), fresh: []int{0}, wantSince: 104},
			},
		},
		{
			name: "rows older than the window are not read, so not delivered (the documented limit)",
			now:  100,
			polls: []poll{
				{read: rowsOf2(130, 1), fresh: []int{0}, wantSince: 120},
				// A row stamped 115 shows up now: below Since, a correct poll
				// would not even read it; Diff ignores it too.
				{read: rowsOf2(130, 1, 115, 2), fresh: nil, wantSince: 120},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWatermark(tc.now, 10, 3)
			w.Baseline(tc.baseline.stamps, tc.baseline.ids)
			for i, p := range tc.polls {
				fresh, step := w.Diff(p.read.stamps, p.read.ids)
				require.Equal(t, p.fresh, fresh, "poll %d", i)
				require.Equal(t, p.overflow, step.Overflow, "poll %d", i)
				if !p.noCommit {
					w.Commit(step)
				}
				require.Equal(t, p.wantSince, w.Since(), "poll %d", i)
			}
		})
	}
}

func TestWatermarkForgetsRowsLeavingTheWindow(t *testing.T) {
	w := NewWatermark(100, 10, 1000)
	_, step := w.Diff([]int64{100, 99, 95}, []uint64{1, 2, 3})
	w.Commit(step)
	require.Equal(t, 3, w.Tracked())
	_, step = w.Diff([]int64{107}, []uint64{4})
	w.Commit(step)
	// Since is 97 now: the row stamped 95 is out of the window.
	require.Equal(t, 3, w.Tracked())
	require.Equal(t, int64(107), w.Newest())
}
