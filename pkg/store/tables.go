package store

import (
	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// typeFor is a column's type on a server of dialect d: a dimension is
// LowCardinality(String) where the server has it.
func typeFor(c schema.Column, d dialect.Dialect) string {
	if c.Dimension {
		return d.StringType()
	}
	return c.Type
}
