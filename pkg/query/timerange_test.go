package query

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClampTimeRange(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	hi := time.Date(2106, 2, 7, 6, 28, 15, 0, time.UTC)
	tests := []struct {
		name             string
		from, to         time.Time
		wantFrom, wantTo time.Time
		notices          []string
		errField         string
	}{
		{"inside", day(2026, 11, 1), day(2026, 11, 2), day(2026, 11, 1), day(2026, 11, 2), nil, ""},
		{"unset", time.Time{}, time.Time{}, time.Time{}, time.Time{}, nil, ""},
		{"to 9999", day(2026, 11, 1), day(9999, 12, 31), day(2026, 11, 1), hi,
			[]string{"timeRange.to 9999-12-31 00:00:00 UTC is after what ClickHouse's DateTime holds 1970-01-01 00:00:00 UTC to 2106-02-07 06:28:15 UTC: the range ends at 2106-02-07 06:28:15 UTC"}, ""},
		{"year 1 to 9999", day(1, 1, 1), day(9999, 12, 31), time.Unix(0, 0).UTC(), hi, []string{"timeRange.from 0001-01-01", "timeRange.to 9999-12-31"}, ""},
		{"to the last second", day(2026, 1, 1), hi, day(2026, 1, 1), hi, nil, ""},
		{"wholly after", day(2200, 1, 1), day(2300, 1, 1), time.Time{}, time.Time{}, nil, "timeRange.from"},
		{"wholly before", day(1900, 1, 1), day(1960, 1, 1), time.Time{}, time.Time{}, nil, "timeRange.to"},
		{"reversed", day(2026, 1, 2), day(2026, 1, 1), time.Time{}, time.Time{}, nil, "timeRange.from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to, notices, err := ClampTimeRange(tt.from, tt.to)
			if tt.errField != "" {
				var fe *FieldError
				require.True(t, errors.As(err, &fe), "%v", err)
				require.Equal(t, tt.errField, fe.Field)
				require.Contains(t, fe.Message, " is ")
				return
			}
			require.NoError(t, err)
			require.True(t, tt.wantFrom.Equal(from), "%v", from)
			require.True(t, tt.wantTo.Equal(to), "%v", to)
			require.Len(t, notices, len(tt.notices))
			for i, n := range tt.notices {
				require.Contains(t, notices[i], n)
			}
		})
	}
}

// TestAlignRangeStaysInDateTime: whole buckets never reach past the last
// second DateTime holds.
func TestAlignRangeStaysInDateTime(t *testing.T) {
	env := Env{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2106, 2, 7, 6, 28, 15, 0, time.UTC)}
	for _, b := range []int64{60, 3600, 86400, 23 * 86400} {
		from, to := alignRange(env, b)
		require.LessOrEqual(t, to, int64(4294967295), "bucket %d", b)
		require.Zero(t, from%b)
		require.Zero(t, to%b)
		require.Less(t, from, to)
	}
}

func TestUnwrapSDKTime(t *testing.T) {
	// What the SDK makes of Grafana's milliseconds (backend.FromProto).
	sdk := func(ms int64) time.Time { return time.Unix(0, ms*int64(time.Millisecond)) }
	for _, want := range []time.Time{
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1600, 6, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 28, 16, 30, 0, 123e6, time.UTC),
		time.Unix(0, 0),
	} {
		require.True(t, want.Equal(UnwrapSDKTime(sdk(want.UnixMilli()))), "%s came back as %s", want, UnwrapSDKTime(sdk(want.UnixMilli())))
	}
	odd := time.Unix(5, 3)
	require.Equal(t, odd, UnwrapSDKTime(odd), "not from the SDK: as it is")
	require.True(t, UnwrapSDKTime(time.Time{}).IsZero())
}
