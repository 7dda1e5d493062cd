package query

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMacroDocsDescribeEveryMacro holds MacroDocs to macros(): every macro
// ExpandMacros knows is described once, statement macros say so, and only a
// last argument repeats.
func TestMacroDocsDescribeEveryMacro(t *testing.T) {
	known := macros()
	var names []string
	for _, d := range MacroDocs() {
		names = append(names, d.Name)
		m, ok := known[strings.TrimPrefix(d.Name, "$__")]
		require.True(t, ok, "MacroDocs describes %s, which ExpandMacros does not know", d.Name)
		require.NotEmpty(t, d.Doc, d.Name)
		require.Equal(t, m.statement != nil, strings.HasPrefix(d.Doc, "statement:"), "%s: statement macros' docs say so", d.Name)
		require.True(t, (m.expand == nil) != (m.statement == nil), d.Name)
		for i, a := range d.Args {
			require.NotEmpty(t, a, d.Name)
			if i < len(d.Args)-1 {
				require.False(t, strings.HasSuffix(a, "..."), "%s: only the last argument may repeat", d.Name)
			}
		}
	}
	require.Equal(t, MacroNames(), names, "MacroDocs must list exactly the macros of macros(), sorted")
}
