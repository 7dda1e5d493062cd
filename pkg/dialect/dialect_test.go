package dialect

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want Version
		err  bool
	}{
		{"18.16.1", Version{18, 16, 1}, false},
		{"24.3.2.23", Version{24, 3, 2}, false},
		{"19.3", Version{19, 3, 0}, false},
		{"18", Version{}, true},
		{"a.b.c", Version{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := ParseVersion(tt.in)
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, v)
		})
	}
}

func TestFeatures(t *testing.T) {
	old := For(Version{18, 16, 1}).Features
	require.Equal(t, Features{}, old)
	cur := For(Version{24, 8, 0}).Features
	require.Equal(t, Features{true, true, true, true, true, true, true, true, true, true}, cur)
	require.True(t, For(Version{23, 10, 0}).Features.LTTB)
	require.False(t, For(Version{22, 6, 0}).Features.AdditionalTableFilters)
	require.False(t, For(Version{20, 4, 0}).Features.Millis64)
	require.True(t, For(Version{20, 5, 0}).Features.Millis64)
	require.Equal(t, "String", For(Version{18, 16, 1}).StringType())
	require.Equal(t, "LowCardinality(String)", For(Version{19, 3, 0}).StringType())
}

func TestBucketAndQuote(t *testing.T) {
	require.Equal(t, "toDateTime(intDiv(toUInt32(ts), 60) * 60)", Bucket("ts", 60))
	require.Equal(t, "toDateTime(intDiv(toUInt32(`ts`), 1) * 1)", Bucket("`ts`", 1))
	require.Equal(t, "ts", Bucket("ts", 0))
	require.Equal(t, "`kpi_samples`", Quote("kpi_samples"))
	// A name that was not validated still cannot end its quoting early.
	require.Equal(t, "`a\\`b`", Quote("a`b"))
	require.Equal(t, "`a\\\\`", Quote(`a\`))
}

func TestMillisBound(t *testing.T) {
	old, cur := For(Version{18, 16, 1}), For(Version{20, 5, 0})
	require.Equal(t, "toDateTime(1001)", old.MillisBound(1000250, true), "a lower bound rounds up")
	require.Equal(t, "toDateTime(1000)", old.MillisBound(1000750, false), "an upper bound rounds down")
	require.Equal(t, "toDateTime(1000)", old.MillisBound(1000000, true))
	require.Equal(t, "fromUnixTimestamp64Milli(toInt64(1000250))", cur.MillisBound(1000250, true))
}

func TestBucketMillis(t *testing.T) {
	old, cur := For(Version{18, 16, 1}), For(Version{20, 5, 0})
	require.Equal(t, "toDateTime(intDiv(toUInt32(toDateTime(ts)), 30) * 30)", old.BucketMillis("ts", 30000))
	require.Equal(t, "toDateTime(intDiv(intDiv(toUInt64(toUInt32(toDateTime(ts))) * 1000, 1500) * 1500, 1000))", old.BucketMillis("ts", 1500))
	require.Equal(t, "fromUnixTimestamp64Milli(toInt64(intDiv(toUnixTimestamp64Milli(toDateTime64(ts, 3)), 1500) * 1500))", cur.BucketMillis("ts", 1500))
	require.True(t, old.ExactMillis(3000))
	require.False(t, old.ExactMillis(3001))
	require.True(t, cur.ExactMillis(3001))
}
