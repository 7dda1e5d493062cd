package query

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTokenize(t *testing.T) {
	type tok struct {
		kind TokenKind
		text string
	}
	tests := []struct {
		sql  string
		want []tok
	}{
		{"SELECT a.b, 'x''y\\'z' FROM `t`", []tok{{TokenWord, "SELECT"}, {TokenSpace, " "}, {TokenWord, "a"}, {TokenPunct, "."},
			{TokenWord, "b"}, {TokenPunct, ","}, {TokenSpace, " "}, {TokenString, `'x''y\'z'`}, {TokenSpace, " "},
			{TokenWord, "FROM"}, {TokenSpace, " "}, {TokenQuotedIdent, "`t`"}}},
		{"-- $__x\n1", []tok{{TokenComment, "-- $__x"}, {TokenSpace, "\n"}, {TokenNumber, "1"}}},
		{"// c\n# c\n#! c", []tok{{TokenComment, "// c"}, {TokenSpace, "\n"}, {TokenComment, "# c"}, {TokenSpace, "\n"}, {TokenComment, "#! c"}}},
		{"/* a /* b */ c */x", []tok{{TokenComment, "/* a /* b */ c */"}, {TokenWord, "x"}}},
		{"$__timeFilter(ts)", []tok{{TokenWord, "$__timeFilter"}, {TokenPunct, "("}, {TokenWord, "ts"}, {TokenPunct, ")"}}},
		{"${team:csv}", []tok{{TokenPunct, "$"}, {TokenPunct, "{"}, {TokenWord, "team"}, {TokenPunct, ":"}, {TokenWord, "csv"}, {TokenPunct, "}"}}},
		{"$$a$$ $tag$ '$__x' $tag$", []tok{{TokenHereDoc, "$$a$$"}, {TokenSpace, " "}, {TokenHereDoc, "$tag$ '$__x' $tag$"}}},
		{"$__a$ $__b$", []tok{{TokenWord, "$__a$"}, {TokenSpace, " "}, {TokenWord, "$__b$"}}},
		{"(.5) x.1.1 1.5e-3 0x1F 0b101 1_000 1day", []tok{{TokenPunct, "("}, {TokenNumber, ".5"}, {TokenPunct, ")"}, {TokenSpace, " "},
			{TokenWord, "x"}, {TokenPunct, "."}, {TokenNumber, "1"}, {TokenPunct, "."}, {TokenNumber, "1"}, {TokenSpace, " "}, {TokenNumber, "1.5e-3"}, {TokenSpace, " "},
			{TokenNumber, "0x1F"}, {TokenSpace, " "}, {TokenNumber, "0b101"}, {TokenSpace, " "}, {TokenNumber, "1_000"},
			{TokenSpace, " "}, {TokenWord, "1day"}}},
		{"a->b::c||d<=e!=f<>g", []tok{{TokenWord, "a"}, {TokenPunct, "->"}, {TokenWord, "b"}, {TokenPunct, "::"}, {TokenWord, "c"},
			{TokenPunct, "||"}, {TokenWord, "d"}, {TokenPunct, "<="}, {TokenWord, "e"}, {TokenPunct, "!="}, {TokenWord, "f"},
			{TokenPunct, "<>"}, {TokenWord, "g"}}},
		{"x'4142' é", []tok{{TokenString, "x'4142'"}, {TokenSpace, " "}, {TokenPunct, "é"}}},
		{"a-b-- c", []tok{{TokenWord, "a"}, {TokenPunct, "-"}, {TokenWord, "b"}, {TokenComment, "-- c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			toks, err := Tokenize(tt.sql)
			require.NoError(t, err)
			var got []tok
			for _, x := range toks {
				require.Equal(t, tt.sql[x.Start:x.End], x.Text)
				got = append(got, tok{x.Kind, x.Text})
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestTokenizeErrors(t *testing.T) {
	tests := []struct {
		sql, msg     string
		line, column int
	}{
		{"SELECT 'abc", "string literal opened by ' is never closed", 1, 8},
		{"SELECT\n  \"abc", "quoted identifier opened by \" is never closed", 2, 3},
		{"SELECT `a\\`", "quoted identifier opened by ` is never closed", 1, 8},
		{"SELECT 1 /* a /* b */", "/* comment is never closed", 1, 10},
		{"é 'x", "never closed", 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			_, err := Tokenize(tt.sql)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			require.Contains(t, err.Error(), tt.msg)
			require.Equal(t, tt.line, se.Line)
			require.Equal(t, tt.column, se.Column)
			require.True(t, strings.HasPrefix(err.Error(), "rawSql: "), "errors name the field")
		})
	}
}

func TestTokenHelpers(t *testing.T) {
	toks, err := Tokenize("select /* c */ x")
	require.NoError(t, err)
	require.True(t, toks[0].IsWord("SELECT"))
	require.False(t, toks[2].Significant())
	require.False(t, toks[1].Significant())
	require.True(t, toks[4].Significant())
	require.False(t, toks[4].IsPunct("x"))
}

// FuzzTokenize: tokens cover the input exactly, in order, and never empty.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"SELECT $__timeFilter(ts), 'a''b' FROM `t` -- c\n/* /* */ */", "$$x$$ $t$y$t$ $", "0x 0b2 1e 1e+ .e x.1.2",
		"'\\", "/*", "#", "# x", "é\xff", "a->b::c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		toks, err := Tokenize(sql)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset >= len(sql) {
				t.Fatalf("Tokenize(%q): bad error %v", sql, err)
			}
			return
		}
		pos := 0
		for _, tk := range toks {
			if tk.Start != pos || tk.End <= tk.Start || sql[tk.Start:tk.End] != tk.Text {
				t.Fatalf("Tokenize(%q): token %+v does not continue at %d", sql, tk, pos)
			}
			pos = tk.End
		}
		if pos != len(sql) {
			t.Fatalf("Tokenize(%q) stops at %d", sql, pos)
		}
	})
}
