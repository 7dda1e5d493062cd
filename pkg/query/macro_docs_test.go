package query

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMacroDocsDescribeEveryMacro holds MacroDocs to macros(): every macro
// ExpandMacros knows is described once, with its argument count.
func TestMacroDocsDescribeEveryMacro(t *testing.T) {
	known := macros()
	var names []string
	for _, d := range MacroDocs() {
		names = append(names, d.Name)
		m, ok := known[strings.TrimPrefix(d.Name, "$__")]
		require.True(t, ok, "MacroDocs describes %s, which ExpandMacros does not know", d.Name)
		require.NotEmpty(t, d.Doc, d.Name)
		switch m.nargs {
		case -1:
			require.GreaterOrEqual(t, len(d.Args), 2, d.Name)
			require.True(t, strings.HasSuffix(d.Args[len(d.Args)-1], "..."), "%s repeats its last argument", d.Name)
		default:
			require.Len(t, d.Args, m.nargs, d.Name)
		}
	}
	require.Equal(t, MacroNames(), names, "MacroDocs must list exactly the macros of macros(), sorted")
}
