package frames

// newString is the column of String, FixedString, UUID, IPv4 and IPv6: each
// of their ScanRow implementations takes a *string directly (UUID and IP
// addresses as their canonical text).
func newString() Column { return newPlain[string]() }

var _ nullableColumn = (*plain[string])(nil)
