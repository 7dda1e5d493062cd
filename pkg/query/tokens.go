package query

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// TokenKind says what one Token of ClickHouse SQL is.
type TokenKind uint8

// Token kinds, as ClickHouse's lexer (src/Parsers/Lexer.cpp) tells them
// apart. Keywords are Words: SQL keywords are not reserved in ClickHouse, so
// whether a word is a keyword depends on where it stands.
const (
	// TokenSpace is a run of whitespace.
	TokenSpace TokenKind = iota + 1
	// TokenComment is a -- or // line comment, a "# " or "#!" line comment
	// (ending before the newline) or a /* */ block comment (nesting).
	TokenComment
	// TokenString is a '…' string literal, or x'…' / b'…'.
	TokenString
	// TokenQuotedIdent is a "…" or `…` quoted identifier.
	TokenQuotedIdent
	// TokenHereDoc is a $tag$…$tag$ string.
	TokenHereDoc
	// TokenWord is a bare word: a keyword, identifier or function name, a
	// Grafana variable ($team) or a macro ($__timeFilter).
	TokenWord
	// TokenNumber is a numeric literal.
	TokenNumber
	// TokenPunct is an operator or punctuation: ( ) [ ] { } , ; . and the
	// operators (+, -, ->, ::, ||, <=, !=, …), one token each; also any byte
	// ClickHouse has no token for (one UTF-8 character).
	TokenPunct
)

// Token is one token of a SQL text: Text is sql[Start:End].
type Token struct {
	Kind       TokenKind
	Start, End int
	Text       string
}

// Significant reports whether t means something to the parser (it is not
// whitespace or a comment).
func (t Token) Significant() bool { return t.Kind != TokenSpace && t.Kind != TokenComment }

// IsWord reports whether t is the bare word w, ignoring case: keywords are
// matched this way (t.IsWord("settings")).
func (t Token) IsWord(w string) bool { return t.Kind == TokenWord && strings.EqualFold(t.Text, w) }

// IsPunct reports whether t is the punctuation or operator p.
func (t Token) IsPunct(p string) bool { return t.Kind == TokenPunct && t.Text == p }

// SyntaxError is SQL the tokenizer cannot read: a quote or block comment
// that is never closed. Offset is in bytes; Line and Column count from 1.
type SyntaxError struct {
	Offset, Line, Column int
	Message              string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("rawSql: %s (line %d, column %d)", e.Message, e.Line, e.Column)
}

func syntaxErr(sql string, offset int, format string, args ...any) *SyntaxError {
	line := 1 + strings.Count(sql[:offset], "\n")
	col := 1 + utf8.RuneCountInString(sql[strings.LastIndexByte(sql[:offset], '\n')+1:offset])
	return &SyntaxError{Offset: offset, Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

// Tokenize splits ClickHouse SQL into tokens following ClickHouse's own
// lexer, so that string literals, quoted identifiers and comments are told
// apart from the SQL around them. The tokens cover sql completely and in
// order: concatenating their Text gives sql back. An unclosed quote or block
// comment is a *SyntaxError.
//
//	toks, err := query.Tokenize("SELECT '$__x' -- $__y\nFROM t")
//	// SELECT, space, '$__x' (TokenString), space, -- $__y (TokenComment), newline, FROM, space, t
//
// # Notes
//
// The raw SQL macros (ExpandMacros) and the raw SQL checks share this one
// tokenizer. It reads tokens, not grammar: it does not check that the SQL
// is valid (ClickHouse does that).
func Tokenize(sql string) ([]Token, error) {
	var out []Token
	prev := Token{} // the last significant token, for the dot and number rules
	for pos := 0; pos < len(sql); {
		kind, end, err := nextToken(sql, pos, prev)
		if err != nil {
			return nil, err
		}
		t := Token{Kind: kind, Start: pos, End: end, Text: sql[pos:end]}
		out = append(out, t)
		if t.Significant() {
			prev = t
		}
		pos = end
	}
	return out, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isWordByte is ClickHouse's word character: letters, digits, _ and $.
func isWordByte(c byte) bool { return isIdentByte(c) || c == '$' }

// nextToken reads the token at sql[pos] and returns its kind and end.
func nextToken(sql string, pos int, prev Token) (TokenKind, int, error) {
	c := sql[pos]
	rest := sql[pos:]
	switch {
	case isSpace(c):
		end := pos + 1
		for end < len(sql) && isSpace(sql[end]) {
			end++
		}
		return TokenSpace, end, nil
	case strings.HasPrefix(rest, "--"), strings.HasPrefix(rest, "//"),
		strings.HasPrefix(rest, "# "), strings.HasPrefix(rest, "#!"):
		return TokenComment, lineEnd(sql, pos), nil
	case strings.HasPrefix(rest, "/*"):
		return blockComment(sql, pos)
	case c == '\'':
		end, err := quoted(sql, pos, "string literal")
		return TokenString, end, err
	case c == '"' || c == '`':
		end, err := quoted(sql, pos, "quoted identifier")
		return TokenQuotedIdent, end, err
	case (c == 'x' || c == 'X' || c == 'b' || c == 'B') && len(rest) > 1 && rest[1] == '\'':
		end, err := quoted(sql, pos+1, "string literal")
		return TokenString, end, err
	case c == '$':
		if end, ok := hereDoc(sql, pos); ok {
			return TokenHereDoc, end, nil
		}
		if len(rest) == 1 || !isWordByte(rest[1]) {
			return TokenPunct, pos + 1, nil
		}
		return TokenWord, wordEnd(sql, pos), nil
	case isDigit(c):
		return number(sql, pos, prev)
	case c == '.':
		// A dot after a name, a bracket or a number is an accessor (t.col,
		// x.1.1); otherwise a dot before a digit starts a number (.5).
		accessor := prev.Kind == TokenWord || prev.Kind == TokenQuotedIdent || prev.Kind == TokenNumber ||
			prev.IsPunct(")") || prev.IsPunct("]")
		if accessor || len(rest) == 1 || !isDigit(rest[1]) {
			return TokenPunct, pos + 1, nil
		}
		return TokenNumber, fraction(sql, pos+1), nil
	case isWordByte(c):
		return TokenWord, wordEnd(sql, pos), nil
	}
	for _, op := range []string{"->", "::", "||", "<=", ">=", "<>", "!=", "==", "@@"} {
		if strings.HasPrefix(rest, op) {
			return TokenPunct, pos + len(op), nil
		}
	}
	if c < utf8.RuneSelf {
		return TokenPunct, pos + 1, nil
	}
	_, n := utf8.DecodeRuneInString(rest)
	return TokenPunct, pos + n, nil
}

func lineEnd(sql string, pos int) int {
	if i := strings.IndexByte(sql[pos:], '\n'); i >= 0 {
		return pos + i
	}
	return len(sql)
}

func wordEnd(sql string, pos int) int {
	end := pos + 1
	for end < len(sql) && isWordByte(sql[end]) {
		end++
	}
	return end
}

// blockComment reads a /* */ comment; ClickHouse nests them.
func blockComment(sql string, pos int) (TokenKind, int, error) {
	depth := 0
	for i := pos; i+1 < len(sql); {
		switch {
		case sql[i] == '/' && sql[i+1] == '*':
			depth++
			i += 2
		case sql[i] == '*' && sql[i+1] == '/':
			depth--
			i += 2
			if depth == 0 {
				return TokenComment, i, nil
			}
		default:
			i++
		}
	}
	return 0, 0, syntaxErr(sql, pos, "the /* comment is never closed with */")
}

// quoted reads a literal opened by the quote at sql[pos]: a doubled quote or
// a backslash escape continues it, as in ClickHouse.
func quoted(sql string, pos int, what string) (int, error) {
	q := sql[pos]
	for i := pos + 1; i < len(sql); i++ {
		switch sql[i] {
		case '\\':
			i++
		case q:
			if i+1 < len(sql) && sql[i+1] == q {
				i++
				continue
			}
			return i + 1, nil
		}
	}
	return 0, syntaxErr(sql, pos, "the %s opened by %c is never closed", what, q)
}

// hereDoc reads $tag$…$tag$ at sql[pos] when the tag is empty or a name and
// the closing tag follows. A tag starting with __ is a macro, not a heredoc.
func hereDoc(sql string, pos int) (int, bool) {
	i := pos + 1
	for i < len(sql) && isIdentByte(sql[i]) {
		i++
	}
	if i >= len(sql) || sql[i] != '$' || strings.HasPrefix(sql[pos+1:i], "__") {
		return 0, false
	}
	tag := sql[pos : i+1]
	end := strings.Index(sql[i+1:], tag)
	if end < 0 {
		return 0, false
	}
	return i + 1 + end + len(tag), true
}

// number reads a numeric literal (123, 1_000, 0x1F, 0b101, 1.5e-3). Digits
// followed by word characters are a word, as in ClickHouse (1day).
func number(sql string, pos int, prev Token) (TokenKind, int, error) {
	end := pos
	digits := func(hex bool) {
		for end < len(sql) && (isDigit(sql[end]) || hex && isHexDigit(sql[end]) ||
			sql[end] == '_' && end+1 < len(sql) && isHexDigit(sql[end+1])) {
			end++
		}
	}
	switch {
	case prev.IsPunct("."):
		// After a dot only an integer: x.1.1 is two tuple accesses.
		digits(false)
	case strings.HasPrefix(sql[pos:], "0x") || strings.HasPrefix(sql[pos:], "0X"):
		end += 2
		digits(true)
	case (strings.HasPrefix(sql[pos:], "0b") || strings.HasPrefix(sql[pos:], "0B")) && pos+2 < len(sql) && (sql[pos+2] == '0' || sql[pos+2] == '1'):
		end += 2
		digits(false)
	default:
		digits(false)
		if end < len(sql) && sql[end] == '.' {
			end = fraction(sql, end+1)
		} else {
			end = exponent(sql, end)
		}
	}
	if end < len(sql) && isWordByte(sql[end]) {
		return TokenWord, wordEnd(sql, end), nil
	}
	return TokenNumber, end, nil
}

// fraction reads the digits after a decimal point and an exponent.
func fraction(sql string, end int) int {
	for end < len(sql) && (isDigit(sql[end]) || sql[end] == '_') {
		end++
	}
	return exponent(sql, end)
}

func exponent(sql string, end int) int {
	if end+1 < len(sql) && (sql[end] == 'e' || sql[end] == 'E') {
		i := end + 1
		if sql[i] == '+' || sql[i] == '-' {
			i++
		}
		if i < len(sql) && isDigit(sql[i]) {
			for i < len(sql) && isDigit(sql[i]) {
				i++
			}
			return i
		}
	}
	return end
}
