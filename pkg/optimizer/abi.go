package optimizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// ABIVersion is the "abi" the host sends.
const ABIVersion = 1

// Bounds on a response's text, which panels show.
const (
	maxNotes    = 16
	maxNoteLen  = 1000
	maxErrorLen = 1000
)

// request writes ABI v1's request: {"abi":1,"plan":…,"catalog":…,"config":…}.
// The catalog arrives encoded (the host caches it).
func request(p *plan.Plan, catalog, config []byte) ([]byte, error) {
	pj, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode the plan: %w", err)
	}
	var b bytes.Buffer
	b.Grow(len(pj) + len(catalog) + len(config) + 48)
	b.WriteString(`{"abi":` + strconv.Itoa(ABIVersion) + `,"plan":`)
	b.Write(pj)
	b.WriteString(`,"catalog":`)
	b.Write(catalog)
	b.WriteString(`,"config":`)
	if len(config) == 0 {
		b.WriteString("null")
	} else {
		b.Write(config)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// response is ABI v1's answer: {plan, notes} or {error}. A missing or null
// plan leaves the plan as it was.
type response struct {
	Plan  *plan.Plan
	Notes []string
	Error string
}

// decodeResponse reads an answer strictly: one JSON object with only the
// ABI's fields (inside the plan too), and notes and error that a panel can
// show as text.
func decodeResponse(raw []byte) (response, error) {
	var wire struct {
		Plan  json.RawMessage `json:"plan"`
		Notes []string        `json:"notes"`
		Error *string         `json:"error"`
	}
	if err := decodeStrict(raw, &wire); err != nil {
		return response{}, fmt.Errorf("its answer is not ABI v1 JSON ({\"plan\", \"notes\"} or {\"error\"}): %w", err)
	}
	var r response
	if wire.Error != nil {
		if len(wire.Plan) > 0 || len(wire.Notes) > 0 {
			return response{}, errors.New("its answer has an error and a plan or notes; ABI v1 answers one or the other")
		}
		if err := checkText("error", *wire.Error, maxErrorLen); err != nil {
			return response{}, err
		}
		if *wire.Error == "" {
			return response{}, errors.New(`its answer's "error" is empty`)
		}
		r.Error = *wire.Error
		return r, nil
	}
	if len(wire.Notes) > maxNotes {
		return response{}, fmt.Errorf("its answer has %d notes, more than %d", len(wire.Notes), maxNotes)
	}
	for i, n := range wire.Notes {
		if err := checkText(fmt.Sprintf("notes[%d]", i), n, maxNoteLen); err != nil {
			return response{}, err
		}
		if n != "" {
			r.Notes = append(r.Notes, n)
		}
	}
	if len(wire.Plan) > 0 && !bytes.Equal(bytes.TrimSpace(wire.Plan), []byte("null")) {
		var p plan.Plan
		if err := decodeStrict(wire.Plan, &p); err != nil {
			return response{}, fmt.Errorf("its plan is not a kpiflow plan: %w", err)
		}
		r.Plan = &p
	}
	return r, nil
}

func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more data after the JSON value")
	}
	return nil
}

func checkText(field, s string, maxLen int) error {
	if len(s) > maxLen {
		return fmt.Errorf("its answer's %s is longer than %d bytes", field, maxLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("its answer's %s is not UTF-8", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("its answer's %s holds control characters", field)
		}
	}
	return nil
}

// RequestJSON is the request a module is sent for p with catalog c and its
// config, as the host writes it: for module authors' tools and docs.
func RequestJSON(p plan.Plan, c plan.Catalog, config json.RawMessage) ([]byte, error) {
	cat, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode the catalog: %w", err)
	}
	return request(&p, cat, config)
}
