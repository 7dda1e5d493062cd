package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// FieldError is input that failed decoding or validation. Field is the
// offending field's path as the user wrote it ("jsonData.port",
// "filters[1].operator").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Errorf is a FieldError with a formatted message.
func Errorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Options says how the paths and messages of one kind of input read.
type Options struct {
	// Root names the whole document, for errors about its shape ("jsonData").
	Root string
	// Prefix goes before every field's path ("jsonData.", or "" for none).
	Prefix string
	// Unknown is the message for a key the target has no field for.
	Unknown string
}

// Decode decodes raw into v (a pointer), refusing unknown keys. A decoding
// error is a *FieldError: a value of the wrong type names the field and the
// type expected, an unknown key gets o.Unknown, a *FieldError from a type's
// own UnmarshalJSON passes through, and anything else is the document not
// being a JSON object.
func Decode(raw []byte, v any, o Options) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fieldError(err, o, embedded(reflect.TypeOf(v)))
	}
	return nil
}

func fieldError(err error, o Options, embedded map[string]bool) *FieldError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := o.Root
		if path := jsonPath(typeErr.Field, embedded); path != "" {
			field = o.Prefix + path
		}
		return Errorf(field, "expected %s, got a JSON %s", kindName(typeErr.Type), typeErr.Value)
	}
	if key, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &FieldError{Field: o.Prefix + strings.Trim(key, `"`), Message: o.Unknown}
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe
	}
	return Errorf(o.Root, "expected a JSON object: %v", err)
}

// jsonPath drops the names of embedded structs, which encoding/json puts in
// a path ("Common.live") although they are no key of the JSON.
func jsonPath(field string, embedded map[string]bool) string {
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if !embedded[p] {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

// embedded collects the Go names of the structs embedded in t, at any depth.
func embedded(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	walkFields(t, func(f reflect.StructField) bool {
		if f.Anonymous && !out[f.Name] {
			out[f.Name] = true
			return true
		}
		return false
	})
	return out
}

// walkFields calls visit with each field of the struct t (or pointer to
// one), and with the fields of a field's type when visit says to descend.
func walkFields(t reflect.Type, visit func(f reflect.StructField) (descend bool)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); visit(f) {
			walkFields(f.Type, visit)
		}
	}
}

// kindName says what JSON a Go type takes.
func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

// Keys are the JSON keys Decode accepts at the top level of v (a struct or
// a pointer to one), embedded structs' keys included, in field order.
func Keys(v any) []string {
	var out []string
	walkFields(reflect.TypeOf(v), func(f reflect.StructField) bool {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "":
			return true
		case !f.IsExported():
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
		return false
	})
	return out
}
