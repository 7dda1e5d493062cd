// Package jsonstrict decodes JSON input strictly (unknown keys are errors)
// and reports every problem as a *FieldError naming the field by its path,
// so a person can fix the input from the message alone. The data source's
// settings and the query JSON both decode through it.
//
//	err := jsonstrict.Decode(raw, &v, jsonstrict.Options{Root: "jsonData", Prefix: "jsonData.", Unknown: "unknown setting"})
//	// jsonData.port: expected a number, got a JSON string
//	var fe *jsonstrict.FieldError
//	errors.As(err, &fe) // fe.Field == "jsonData.port"
//
// The package imports no kpiflow package and does no I/O.
package jsonstrict
