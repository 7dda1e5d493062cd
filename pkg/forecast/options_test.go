package forecast

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOptionsAreImmutable(t *testing.T) {
	base := NewOptions()
	changed := base.WithTrials(500).WithPercentiles(95, 50, 50, 120).WithHorizon(0).WithModel(ModelHolt).WithSeasonLength(7).WithSeed(9)
	require.Equal(t, DefaultTrials, base.Trials(), "With… must not change the receiver")
	require.Equal(t, DefaultPercentiles(), base.Percentiles())
	require.Equal(t, ModelAuto, base.Model())
	require.Equal(t, 500, changed.Trials())
	require.Equal(t, []float64{50, 95}, changed.Percentiles(), "sorted, unique, out-of-range dropped")
	require.Equal(t, 1, changed.Horizon(), "clamped")
	require.Equal(t, ModelHolt, changed.Model())
	require.Equal(t, 7, changed.SeasonLength())
	require.Equal(t, ModelHolt, changed.WithModel("nope").Model(), "unknown models are ignored")
	require.Equal(t, MaxTrials, base.WithTrials(1e9).Trials())
	ps := changed.Percentiles()
	ps[0] = 1
	require.Equal(t, []float64{50, 95}, changed.Percentiles(), "Percentiles returns a copy")
}

func TestHowManyPercentiles(t *testing.T) {
	// Days alternate 0 and 10 items: over 10 days the total is 10× the
	// number of busy days, so "at least" must fall as the chance asked rises.
	done := make([]int, 60)
	for i := range done {
		done[i] = 10 * (i % 2)
	}
	hm, err := HowMany(History{Done: done}, 10, NewOptions().WithTrials(4000).WithPercentiles(50, 85, 95))
	require.NoError(t, err)
	require.Equal(t, 50, hm.Percentiles[0].Items, "median of 10·Binomial(10, ½)")
	require.Less(t, hm.Percentiles[1].Items, hm.Percentiles[0].Items)
	require.LessOrEqual(t, hm.Percentiles[2].Items, hm.Percentiles[1].Items)
	for _, p := range hm.Percentiles {
		require.Zero(t, p.Items%10)
	}
	_, err = HowMany(History{Done: done}, -1, NewOptions())
	require.ErrorContains(t, err, "days")
}
