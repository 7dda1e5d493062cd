package main

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner reads just enough JSON for the request: objects and arrays are
// walked with callbacks, values the module does not need are skipped
// without building anything. encoding/json would cost a Go wasm module
// about 200 µs a call and a larger binary; this costs a few µs.
type scanner struct {
	b []byte
	i int
}

var errSyntax = errors.New("malformed JSON")

// maxDepth bounds nesting, so a hostile request cannot exhaust the stack.
const maxDepth = 64

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return errSyntax
	}
	s.i++
	return nil
}

// object calls fn for each member with the scanner at its value; fn must
// consume the value (or call skip). null is an empty object.
func (s *scanner) object(fn func(key []byte) error) error {
	if s.null() {
		return nil
	}
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errSyntax
		}
	}
}

// array calls fn for each element with the scanner at it. null is an
// empty array.
func (s *scanner) array(fn func() error) error {
	if s.null() {
		return nil
	}
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return errSyntax
		}
	}
}

// str reads a string. Without escapes it returns a slice of the input;
// with them, a decoded copy.
func (s *scanner) str() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	start := s.i
	s.i += plainRun(s.b[s.i:])
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], nil
		case c == '\\':
			s.i = start
			return s.unescape()
		case c < 0x20:
			return nil, errSyntax
		default:
			s.i++
		}
	}
	return nil, errSyntax
}

func (s *scanner) unescape() ([]byte, error) {
	var out []byte
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return out, nil
		case c < 0x20:
			return nil, errSyntax
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return nil, errSyntax
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, errSyntax
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					s.i += 2
					if lo, ok := s.hex4(); ok {
						r2 = lo
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, errSyntax
		}
	}
	return nil, errSyntax
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s.b[s.i:s.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	s.i += 4
	return rune(v), true
}

// num reads a number's text.
func (s *scanner) num() ([]byte, error) {
	s.ws()
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			s.i++
			continue
		}
		break
	}
	if s.i == start {
		return nil, errSyntax
	}
	return s.b[start:s.i], nil
}

// int reads an integer; ok is false for a number that is not one (the
// module then leaves the plan alone).
func (s *scanner) int() (v int64, ok bool, err error) {
	txt, err := s.num()
	if err != nil {
		return 0, false, err
	}
	v, perr := strconv.ParseInt(string(txt), 10, 64)
	if perr != nil {
		if _, ferr := strconv.ParseFloat(string(txt), 64); ferr != nil {
			return 0, false, errSyntax
		}
		return 0, false, nil
	}
	return v, true, nil
}

// float reads a number.
func (s *scanner) float() (float64, error) {
	txt, err := s.num()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(txt), 64)
	if err != nil {
		return 0, errSyntax
	}
	return f, nil
}

func (s *scanner) literal(word string) error {
	s.ws()
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return errSyntax
	}
	s.i += len(word)
	return nil
}

// null reports (and consumes) a null.
func (s *scanner) null() bool {
	if s.peek() == 'n' && s.literal("null") == nil {
		return true
	}
	return false
}

// skip consumes any value.
func (s *scanner) skip() error { return s.skipDepth(0) }

func (s *scanner) skipDepth(depth int) error {
	if depth > maxDepth {
		return errSyntax
	}
	switch c := s.peek(); {
	case c == '{':
		return s.object(func([]byte) error { return s.skipDepth(depth + 1) })
	case c == '[':
		return s.array(func() error { return s.skipDepth(depth + 1) })
	case c == '"':
		_, err := s.str()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := s.num()
		return err
	default:
		return errSyntax
	}
}

// bool reads true or false.
func (s *scanner) bool() (bool, error) {
	if s.peek() == 't' {
		return true, s.literal("true")
	}
	return false, s.literal("false")
}

// appendString writes v as a JSON string.
func appendString(out []byte, v string) []byte {
	out = append(out, '"')
	for i := 0; i < len(v); i++ {
		if n := plainRun(v[i:]); n > 0 {
			out = append(out, v[i:i+n]...)
			if i += n; i == len(v) {
				break
			}
		}
		switch c := v[i]; {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c < 0x20:
			out = append(out, `\u00`...)
			out = append(out, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}

// Word-at-a-time helpers. Under the host's deadline checks every loop
// iteration of a module costs a call out of the sandbox (wazero's
// WithCloseOnContextDone), so loops over bytes take steps of words.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special marks the bytes of x that are '"', '\\' or below 0x20 (the lowest
// mark is exact, which is all plainRun reads).
func special(x uint64) uint64 {
	zero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	return zero(x^(ones*'"')) | zero(x^(ones*'\\')) | ((x - ones*0x20) & ^x & highs)
}

// plainRun is how many bytes b starts with that a JSON string holds as they
// are, eight a step (the tail of fewer than eight bytes is left to the
// caller's byte loop).
func plainRun[T string | []byte](b T) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
			uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
		if m := special(x); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	return i
}

// hasPrefix is bytes.HasPrefix, 64 bytes a step.
func hasPrefix(b, prefix []byte) bool {
	if len(b) < len(prefix) {
		return false
	}
	i, n := 0, len(prefix)
	le := binary.LittleEndian
	for ; i+64 <= n; i += 64 {
		x, y := b[i:i+64], prefix[i:i+64]
		// Unrolled: each loop iteration is a check.
		d := (le.Uint64(x) ^ le.Uint64(y)) | (le.Uint64(x[8:]) ^ le.Uint64(y[8:])) |
			(le.Uint64(x[16:]) ^ le.Uint64(y[16:])) | (le.Uint64(x[24:]) ^ le.Uint64(y[24:])) |
			(le.Uint64(x[32:]) ^ le.Uint64(y[32:])) | (le.Uint64(x[40:]) ^ le.Uint64(y[40:])) |
			(le.Uint64(x[48:]) ^ le.Uint64(y[48:])) | (le.Uint64(x[56:]) ^ le.Uint64(y[56:]))
		if d != 0 {
			return false
		}
	}
	for ; i < n; i++ {
		if b[i] != prefix[i] {
			return false
		}
	}
	return true
}
