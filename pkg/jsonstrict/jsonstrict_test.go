package jsonstrict

import (
	"testing"

	"github.com/stretchr/testify/require"
)

type common struct {
	Live bool `json:"live"`
}

type target struct {
	common
	Port    int               `json:"port"`
	Host    string            `json:"host"`
	Names   []string          `json:"names"`
	Limits  map[string]int    `json:"limits"`
	Nested  struct{ X int }   `json:"nested"`
	Pointer *float64          `json:"pointer"`
	Custom  custom            `json:"custom"`
	Extra   map[string]string `json:"-"`
}

type custom string

func (c *custom) UnmarshalJSON(b []byte) error {
	if string(b) != `"ok"` {
		return &FieldError{Field: "custom", Message: "expected ok"}
	}
	*c = "ok"
	return nil
}

func TestDecode(t *testing.T) {
	o := Options{Root: "jsonData", Prefix: "jsonData.", Unknown: "unknown setting"}
	tests := []struct {
		in, field, msg string
	}{
		{`{"port":"9000"}`, "jsonData.port", "expected a number, got a JSON string"},
		{`{"host":1}`, "jsonData.host", "expected a string, got a JSON number"},
		{`{"live":"yes"}`, "jsonData.live", "expected a boolean (true or false), got a JSON string"},
		{`{"names":"a"}`, "jsonData.names", "expected a list, got a JSON string"},
		{`{"limits":[1]}`, "jsonData.limits", "expected an object, got a JSON array"},
		{`{"pointer":"x"}`, "jsonData.pointer", "expected a number, got a JSON string"},
		{`{"nested":{"X":"a"}}`, "jsonData.nested.X", "expected a number, got a JSON string"},
		{`{"hots":"x"}`, "jsonData.hots", "unknown setting"},
		{`{"custom":"no"}`, "custom", "expected ok"},
		{`[1]`, "jsonData", "expected an object, got a JSON array"},
		{`{`, "jsonData", "expected a JSON object: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v target
			err := Decode([]byte(tt.in), &v, o)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
			require.Equal(t, tt.msg, fe.Message)
			require.Equal(t, tt.field+": "+tt.msg, err.Error())
		})
	}
	var v target
	require.NoError(t, Decode([]byte(`{"port":1,"live":true,"custom":"ok"}`), &v, o))
	require.Equal(t, 1, v.Port)
	require.True(t, v.Live)
}

func TestErrorWithoutPrefix(t *testing.T) {
	var v target
	err := Decode([]byte(`{"live":1}`), &v, Options{Root: "query", Unknown: "unknown field"})
	require.EqualError(t, err, "live: expected a boolean (true or false), got a JSON number",
		"an embedded struct's Go name is not part of the path")
	require.ErrorContains(t, Decode([]byte(`nope`), &v, Options{Root: "query"}), "query: expected a JSON object")
	require.Equal(t, "query: x", Errorf("query", "%s", "x").Error())
}

func TestKeys(t *testing.T) {
	type inner struct {
		Live bool `json:"live"`
	}
	type outer struct {
		inner
		Port    int    `json:"port,omitempty"`
		Skipped string `json:"-"`
		Plain   string
		hidden  string
	}
	require.Equal(t, []string{"live", "port", "Plain"}, Keys(&outer{hidden: ""}))
}
