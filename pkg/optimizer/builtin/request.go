package main

import "errors"

// table is what the module reads of a catalog table.
type table struct {
	name, kind, rollupOf, measure string
	res                           int64
	labels                        bool
	columns                       map[string]string
	// timeColumn is the first DateTime column (a rollup's bucket).
	timeColumn string
	funcs      []string
	quantiles  []float64
}

// aggregation is what the module reads of a plan's aggregation.
type aggregation struct {
	fn, column   string
	minus, where bool
	args         []float64
}

// ref is a filter's or group key's column or label.
type ref struct{ column, labelKey string }

// span is a value's [start, end) in the request.
type span struct{ start, end int }

// request is what the module reads of ABI v1's request.
type request struct {
	raw     []byte // the whole request
	plan    span
	nested  bool // the plan reads a nested plan: left alone
	unknown bool // a field the module does not read as expected: left alone

	source, timeColumn     string
	sourceAt, timeColumnAt span
	from, to               int64
	bucket                 int64
	bucketAt               span
	maxPoints              int64
	columns                int
	aggs                   []aggregation
	filters, groups        []ref
	tables                 []table
}

// catalogCache keeps the last catalog read: a data source sends the same
// one with every query, and an instance serves one call at a time.
type catalogCache struct {
	raw    []byte
	tables []table
}

func parseRequest(b []byte, cache *catalogCache) (*request, error) {
	s := &scanner{b: b}
	r := &request{raw: b}
	abi := int64(0)
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "abi":
			v, ok, err := s.int()
			if err != nil || !ok {
				return errSyntax
			}
			abi = v
			return nil
		case "plan":
			s.ws()
			r.plan.start = s.i
			err := r.readPlan(s)
			r.plan.end = s.i
			return err
		case "catalog":
			s.ws()
			// The same catalog as last time: comparing bytes is much
			// cheaper than scanning them in a Go wasm module. (A longer
			// value that starts alike is not valid JSON past the end, and
			// object's next step fails on it.)
			if len(cache.raw) > 0 && hasPrefix(b[s.i:], cache.raw) {
				s.i += len(cache.raw)
				r.tables = cache.tables
				return nil
			}
			start := s.i
			tables, err := readCatalog(s)
			if err != nil {
				return err
			}
			cache.raw, cache.tables = append([]byte(nil), b[start:s.i]...), tables
			r.tables = tables
			return nil
		default:
			return s.skip()
		}
	})
	if err != nil {
		return nil, err
	}
	if s.peek() != 0 {
		return nil, errSyntax
	}
	if abi != 1 {
		return nil, errors.New("this module speaks ABI v1; the request is abi " + itoa(abi))
	}
	if r.plan.end == 0 {
		return nil, errors.New("the request has no plan")
	}
	return r, nil
}

func (r *request) readPlan(s *scanner) error {
	return s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "source":
			r.source, r.sourceAt, err = strAt(s)
		case "time_column":
			r.timeColumn, r.timeColumnAt, err = strAt(s)
		case "from":
			r.nested = !s.null()
			if r.nested {
				err = s.skip()
			}
		case "time_range":
			err = s.object(func(k []byte) error {
				v, ok, err := s.int()
				r.unknown = r.unknown || !ok
				switch string(k) {
				case "from":
					r.from = v
				case "to":
					r.to = v
				}
				return err
			})
		case "bucket_s":
			s.ws()
			r.bucketAt.start = s.i
			var ok bool
			r.bucket, ok, err = s.int()
			r.bucketAt.end = s.i
			r.unknown = r.unknown || !ok
		case "max_points":
			var ok bool
			r.maxPoints, ok, err = s.int()
			r.unknown = r.unknown || !ok
		case "columns":
			err = s.array(func() error { r.columns++; return s.skip() })
		case "aggregations":
			err = s.array(func() error {
				a, err := readAggregation(s)
				r.aggs = append(r.aggs, a)
				return err
			})
		case "filters":
			err = s.array(func() error {
				f, err := readRef(s)
				r.filters = append(r.filters, f)
				return err
			})
		case "group_by":
			err = s.array(func() error {
				g, err := readRef(s)
				r.groups = append(r.groups, g)
				return err
			})
		default:
			err = s.skip()
		}
		return err
	})
}

func strAt(s *scanner) (string, span, error) {
	s.ws()
	at := span{start: s.i}
	v, err := s.str()
	at.end = s.i
	return string(v), at, err
}

func readAggregation(s *scanner) (aggregation, error) {
	var a aggregation
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "func":
			v, err := s.str()
			a.fn = string(v)
			return err
		case "column":
			v, err := s.str()
			a.column = string(v)
			return err
		case "minus":
			v, err := s.str()
			a.minus = len(v) > 0
			return err
		case "where":
			if s.null() {
				return nil
			}
			return s.array(func() error { a.where = true; return s.skip() })
		case "args":
			if s.null() {
				return nil
			}
			return s.array(func() error {
				f, err := s.float()
				a.args = append(a.args, f)
				return err
			})
		default:
			return s.skip()
		}
	})
	return a, err
}

func readRef(s *scanner) (ref, error) {
	var f ref
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "column":
			v, err := s.str()
			f.column = string(v)
			return err
		case "label_key":
			v, err := s.str()
			f.labelKey = string(v)
			return err
		default:
			return s.skip()
		}
	})
	return f, err
}

func readCatalog(s *scanner) ([]table, error) {
	var tables []table
	err := s.object(func(key []byte) error {
		if string(key) != "tables" {
			return s.skip()
		}
		return s.array(func() error {
			t, err := readTable(s)
			tables = append(tables, t)
			return err
		})
	})
	return tables, err
}

func readTable(s *scanner) (table, error) {
	t := table{columns: map[string]string{}}
	str := func(dst *string) error {
		if s.null() {
			return nil
		}
		v, err := s.str()
		*dst = string(v)
		return err
	}
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "name":
			return str(&t.name)
		case "kind":
			return str(&t.kind)
		case "rollup_of":
			return str(&t.rollupOf)
		case "measure":
			return str(&t.measure)
		case "resolution_s":
			v, _, err := s.int()
			t.res = v
			return err
		case "labels":
			v, err := s.bool()
			t.labels = v
			return err
		case "columns":
			return s.array(func() error {
				var name, typ string
				err := s.object(func(k []byte) error {
					switch string(k) {
					case "name":
						return str(&name)
					case "type":
						return str(&typ)
					default:
						return s.skip()
					}
				})
				t.columns[name] = typ
				if typ == "DateTime" && t.timeColumn == "" {
					t.timeColumn = name
				}
				return err
			})
		case "funcs":
			return s.array(func() error {
				var f string
				err := str(&f)
				t.funcs = append(t.funcs, f)
				return err
			})
		case "quantiles":
			return s.array(func() error {
				q, err := s.float()
				t.quantiles = append(t.quantiles, q)
				return err
			})
		default:
			return s.skip()
		}
	})
	return t, err
}
