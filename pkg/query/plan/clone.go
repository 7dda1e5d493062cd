package plan

// Clone is a deep copy of p that shares no slice, map or pointer with it,
// equal to what a JSON round trip of p gives (the form an optimizer module
// returns a plan in): empty slices of omitempty fields become nil and
// filter values are rebuilt by String or Number. It replaces that round
// trip where a copy is all that is wanted, at a fraction of its cost.
//
//	in := p.Clone() // a rewrite step may change in; p stays the fallback
func (p Plan) Clone() Plan {
	out := p
	if p.From != nil {
		from := p.From.Clone()
		out.From = &from
	}
	out.Columns = cloneStrings(p.Columns)
	out.Aggregations = nil
	if len(p.Aggregations) > 0 {
		out.Aggregations = make([]Aggregation, len(p.Aggregations))
		for i, a := range p.Aggregations {
			a.Where = cloneFilters(a.Where)
			if len(a.Args) > 0 {
				a.Args = append([]float64(nil), a.Args...)
			} else {
				a.Args = nil
			}
			out.Aggregations[i] = a
		}
	}
	out.Filters = cloneFilters(p.Filters)
	out.GroupBy = nil
	if len(p.GroupBy) > 0 {
		out.GroupBy = make([]GroupKey, len(p.GroupBy))
		for i, g := range p.GroupBy {
			if g.Remap != nil {
				// Remap's lists have no omitempty: [] and null stay apart.
				g.Remap = &Remap{From: cloneList(g.Remap.From), To: cloneList(g.Remap.To)}
			}
			out.GroupBy[i] = g
		}
	}
	out.OrderBy = nil
	if len(p.OrderBy) > 0 {
		out.OrderBy = append([]Order(nil), p.OrderBy...)
	}
	return out
}

func cloneFilters(fs []Filter) []Filter {
	if len(fs) == 0 {
		return nil
	}
	out := make([]Filter, len(fs))
	for i, f := range fs {
		if len(f.Values) > 0 {
			vs := make([]Value, len(f.Values))
			for j, v := range f.Values {
				if v.isNum {
					vs[j] = Number(v.num)
				} else {
					vs[j] = String(v.str)
				}
			}
			f.Values = vs
		} else {
			f.Values = nil
		}
		if f.Ref != nil {
			ref := *f.Ref
			f.Ref = &ref
		}
		out[i] = f
	}
	return out
}

// cloneStrings copies an omitempty list (empty becomes nil).
func cloneStrings(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	return append([]string(nil), xs...)
}

// cloneList copies a list without omitempty (empty stays empty, nil nil).
func cloneList(xs []string) []string {
	if xs == nil {
		return nil
	}
	return append([]string{}, xs...)
}
