package frames

// newBool is the column of Bool (ClickHouse 22.3+; older servers return UInt8).
func newBool() Column { return newTyped[bool](nil) }
