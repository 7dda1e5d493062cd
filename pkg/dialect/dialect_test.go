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
	require.Equal(t, Features{true, true, true, true, true, true, true}, cur)
	require.Equal(t, "String", For(Version{18, 16, 1}).StringType())
	require.Equal(t, "LowCardinality(String)", For(Version{19, 3, 0}).StringType())
}

func TestBucketAndQuote(t *testing.T) {
	d := For(Version{18, 16, 1})
	require.Equal(t, "toDateTime(intDiv(toUInt32(ts), 60) * 60)", d.Bucket("ts", 60))
	require.Equal(t, "ts", d.Bucket("ts", 1))
	require.Equal(t, "`kpi_samples`", Quote("kpi_samples"))
	require.Panics(t, func() { Quote("a`b") })
}
