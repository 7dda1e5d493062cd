package frames

// newEnum is the column of Enum8 and Enum16: their ScanRow writes the value's
// name into a *string, which is what a panel or an alert label wants to show.
func newEnum() Column { return newText() }
