package frames

import "github.com/shopspring/decimal"

// newDecimal is the column of Decimal(P, S) and DecimalN(S): scanned as the
// driver's decimal.Decimal and stored as float64, the number type panels,
// transformations and alert conditions work with. Digits beyond float64's
// 15-17 significant ones are lost, as in Grafana's own ClickHouse plugin.
func newDecimal() Column { return newConverted(decimalFloat) }

func decimalFloat(d decimal.Decimal) float64 { return d.InexactFloat64() }

var _ nullableColumn = (*typed[float64])(nil)
