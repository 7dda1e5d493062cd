package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAttributionIsCleaned(t *testing.T) {
	require.Len(t, clean(string(make([]byte, 500))), 64, "long values are cut")
	require.Equal(t, "-", clean(""))
	a := Attribution{User: "e'vil@x.io", Dashboard: "a*/ DROP TABLE x; /*", Panel: "1:2", FromAlert: true}
	require.Equal(t, "/* kpiflow user=e_vil@x.io dashboard=a___DROP_TABLE_x____ panel=1_2 alert=true */ ", a.Comment())
	require.Regexp(t, `^kpiflow:e_vil@x\.io:a___DROP_TABLE_x____:1_2:[0-9a-f]{12}$`, a.QueryID())
}
