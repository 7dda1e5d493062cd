package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// Value is one filter value: a string or a number, written in JSON as the
// scalar itself ("a", 1.5), so that a plan reads the same after a JSON round
// trip (an optimizer module sees and returns plans as JSON). Numbers compare
// with numeric columns, and with DateTime columns as Unix seconds.
//
//	plan.Filter{Column: "team", Op: plan.OpIn, Values: plan.Strings("a", "b")}
//	plan.Filter{Column: "started", Op: plan.OpGt, Values: []plan.Value{plan.Number(0)}}
//	s, ok := v.AsString() // ok for a string value
type Value struct {
	str   string
	num   float64
	isNum bool
}

// String is a string value.
func String(s string) Value { return Value{str: s} }

// Number is a numeric value.
func Number(f float64) Value { return Value{num: f, isNum: true} }

// Strings is one string value per argument.
func Strings(xs ...string) []Value {
	out := make([]Value, len(xs))
	for i, x := range xs {
		out[i] = String(x)
	}
	return out
}

// AsString returns a string value.
func (v Value) AsString() (string, bool) { return v.str, !v.isNum }

// AsNumber returns a numeric value.
func (v Value) AsNumber() (float64, bool) { return v.num, v.isNum }

// MarshalJSON writes the scalar.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.isNum {
		return json.Marshal(v.num)
	}
	return json.Marshal(v.str)
}

// UnmarshalJSON reads a JSON string or number; anything else is an error.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = String(s)
		return nil
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return errors.New("plan: a filter value number is out of range: " + string(b))
		}
		*v = Number(f)
		return nil
	}
	return errors.New("plan: a filter value must be a string or a number, got " + string(b))
}
