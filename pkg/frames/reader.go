package frames

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// DefaultChunkRows is the chunk size Reader uses when given none: ClickHouse's
// default max_block_size, so a chunk is about one native block.
const DefaultChunkRows = 65536

// ctxCheckRows is how often (in rows) a read looks at its context: often
// enough to stop promptly, rarely enough to cost nothing per row.
const ctxCheckRows = 1024

// Notices are what a caller should attach to the frame's Meta.Notices.
type Notices []data.Notice

// Reader reads a result into frames, one chunk of rows per Next call.
//
//	r, err := frames.NewReader(rows, 0) // 0: DefaultChunkRows
//	for {
//		frame, err := r.Next(ctx)
//		if errors.Is(err, io.EOF) { break }
//		if err != nil { return err }
//		send(frame) // every chunk has the same fields, in the same order
//	}
//
// # Notes
//
// The first Next call returns a frame even when the result is empty, so the
// caller always learns the fields; later calls return io.EOF once the rows
// are used up. Reader never closes rows. Closing clickhouse-go rows reads and
// drops the rest of the result, so stop the query on the server first (cancel
// its context, or KILL QUERY) when abandoning a large one.
type Reader struct {
	rows      driver.Rows
	names     []string
	chTypes   []string
	cols      []Column
	targets   []any
	chunkRows int
	read      int
	started   bool
	done      bool
}

// NewReader prepares a Reader for rows, choosing each column's Go type once
// from its ClickHouse type. A column of an unsupported type is an
// *UnsupportedColumnTypeError naming it.
func NewReader(rows driver.Rows, chunkRows int) (*Reader, error) {
	if chunkRows <= 0 {
		chunkRows = DefaultChunkRows
	}
	types := rows.ColumnTypes()
	r := &Reader{
		rows:      rows,
		names:     make([]string, len(types)),
		chTypes:   make([]string, len(types)),
		cols:      make([]Column, len(types)),
		targets:   make([]any, len(types)),
		chunkRows: chunkRows,
	}
	for i, ct := range types {
		r.names[i], r.chTypes[i] = ct.Name(), ct.DatabaseTypeName()
		col, err := For(r.chTypes[i])
		if err != nil {
			var ue *UnsupportedColumnTypeError
			if errors.As(err, &ue) {
				ue.Column = r.names[i]
			}
			return nil, err
		}
		r.cols[i], r.targets[i] = col, col.Target()
	}
	return r, nil
}

// Columns returns the result's column names and ClickHouse types.
func (r *Reader) Columns() (names, chTypes []string) { return r.names, r.chTypes }

// RowsRead is the number of rows read so far.
func (r *Reader) RowsRead() int { return r.read }

// Next reads up to the chunk size of rows into a new frame. It returns
// io.EOF when no rows are left (but never on the first call).
func (r *Reader) Next(ctx context.Context) (*data.Frame, error) {
	if r.done && r.started {
		return nil, io.EOF
	}
	n, err := r.fill(ctx, r.chunkRows)
	if err != nil {
		return nil, err
	}
	if n == 0 && r.started {
		return nil, io.EOF
	}
	r.started = true
	return r.frame(), nil
}

// fill scans up to limit rows into the columns and returns how many it read.
func (r *Reader) fill(ctx context.Context, limit int) (int, error) {
	n := 0
	for n < limit && !r.done {
		if n%ctxCheckRows == 0 {
			if err := ctx.Err(); err != nil {
				return n, fmt.Errorf("read query result: %w", err)
			}
		}
		if !r.rows.Next() {
			r.done = true
			if err := r.rows.Err(); err != nil {
				return n, fmt.Errorf("read query result after %d rows: %w", r.read, err)
			}
			break
		}
		if err := r.rows.Scan(r.targets...); err != nil {
			return n, fmt.Errorf("read row %d of the query result: %w", r.read+1, err)
		}
		for _, c := range r.cols {
			c.Append()
		}
		n++
		r.read++
	}
	return n, nil
}

// frame builds a frame from the values read since the last one.
func (r *Reader) frame() *data.Frame {
	fields := make([]*data.Field, len(r.cols))
	for i, c := range r.cols {
		fields[i] = c.Field(r.names[i])
	}
	return data.NewFrame("", fields...)
}

// ReadAll reads the whole result into one frame, or its first maxRows rows
// with a notice saying the result was cut (maxRows <= 0: no cap). A notice
// therefore means rows are left unread: stop the query before closing rows.
//
//	frame, notices, err := frames.ReadAll(ctx, rows, settings.MaxRows)
func ReadAll(ctx context.Context, rows driver.Rows, maxRows int) (*data.Frame, Notices, error) {
	r, err := NewReader(rows, 0)
	if err != nil {
		return nil, nil, err
	}
	limit := maxRows
	if maxRows <= 0 {
		limit = int(^uint(0) >> 1)
	}
	if _, err := r.fill(ctx, limit); err != nil {
		return nil, nil, err
	}
	var notices Notices
	// One more row decides whether the cap cut anything; it is not kept.
	if maxRows > 0 && !r.done {
		if r.rows.Next() {
			notices = append(notices, data.Notice{
				Severity: data.NoticeSeverityWarning,
				Text: fmt.Sprintf("The result was cut at %d rows (the data source's Max rows setting); "+
					"aggregate or filter in SQL, or add a LIMIT, to see all of it", maxRows),
			})
		} else if err := r.rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("read query result after %d rows: %w", r.read, err)
		}
	}
	return r.frame(), notices, nil
}
