package conformance

import "slices"

// Difference is an answer a modern server gives differently from 18.16 on
// purpose, with the reason. This is the one list of them: any other
// difference fails the run.
type Difference struct {
	// Case and Column name where the difference is.
	Case, Column string
	Reason       string
	// Convert maps the modern value to the form of the 18.16 one (nil when
	// only the type differs: times compare as Unix milliseconds).
	Convert func(v any) any
}

// Differences lists every intended difference.
func Differences() []Difference {
	return nil
}

// applyDifferences converts got's columns named by the differences of the
// case, and returns those differences.
func applyDifferences(name string, want, got *Table) []Difference {
	var used []Difference
	for _, d := range Differences() {
		if d.Case != name {
			continue
		}
		c := slices.Index(got.Names, d.Column)
		if c < 0 {
			continue
		}
		for _, row := range got.Rows {
			if d.Convert != nil {
				row[c] = d.Convert(row[c])
			}
		}
		if w := slices.Index(want.Names, d.Column); w >= 0 {
			got.Kinds[c] = want.Kinds[w]
		}
		used = append(used, d)
	}
	return used
}
