package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// argumentsMarker separates the SQL from its bound arguments in a builder
// query's ExecutedQueryString (pkg/plugin's executedQuery).
const argumentsMarker = "\n-- arguments, in order: "

// splitExecuted takes a frame's ExecutedQueryString apart into the SQL sent
// and its arguments, typed as the plugin bound them: whole numbers as int64,
// other numbers as float64, lists of strings as []string.
func splitExecuted(executed string) (string, []any, error) {
	sql, rawArgs, found := strings.Cut(executed, argumentsMarker)
	if !found {
		return sql, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(rawArgs)))
	dec.UseNumber()
	var args []any
	if err := dec.Decode(&args); err != nil {
		return "", nil, fmt.Errorf("read the executed query's arguments %q: %w", rawArgs, err)
	}
	for i, a := range args {
		args[i] = typedArg(a)
	}
	return sql, args, nil
}

func typedArg(a any) any {
	switch v := a.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	case []any:
		strs := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				out := make([]any, len(v))
				for i, y := range v {
					out[i] = typedArg(y)
				}
				return out
			}
			strs = append(strs, s)
		}
		return strs
	}
	return a
}

// readRaw is the baseline: sql run through clickhouse-go with the plugin's
// query settings (its Query timeout as max_execution_time, readonly=2), and
// every value of every row scanned into a typed target.
func readRaw(ctx context.Context, conn driver.Conn, sql string, args []any) (int, error) {
	set := clickhouse.Settings{"max_execution_time": 60, "readonly": 2}
	rows, err := conn.Query(clickhouse.Context(ctx, clickhouse.WithSettings(set)), sql, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	targets := make([]any, len(types))
	for i, t := range types {
		targets[i] = reflect.New(t.ScanType()).Interface()
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}
