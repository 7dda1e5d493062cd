package frames

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	chproto "github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// DefaultChunkRows is the chunk size Reader uses when given none: ClickHouse's
// default max_block_size, so a chunk is about one native block.
const DefaultChunkRows = 65536

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
// Reading keeps the driver's native blocks (not copies of their values) and
// builds each field once, at its final length, from them: block by block,
// in bulk where the column's encoding allows (numbers, String, DateTime,
// their Nullable forms, LowCardinality(String)), else value by value through
// the driver's ScanRow straight into the field. A block is let go as soon
// as its rows are in the fields.
//
// The first Next call returns a frame even when the result is empty, so the
// caller always learns the fields; later calls return io.EOF once the rows
// are used up. Reader never closes rows. Closing clickhouse-go rows reads and
// drops the rest of the result, so stop the query on the server first (cancel
// its context, or KILL QUERY) when abandoning a large one.
type Reader struct {
	rows      driver.Rows
	blocks    blockTracker
	names     []string
	chTypes   []string
	cols      []Column
	chunkRows int
	read      int
	started   bool
	done      bool

	// segs are the rows read since the last frame, as ranges of blocks.
	segs    []segment
	pending int
	// last is the block the rows are in, and lastRow the row they are on.
	last    *chproto.Block
	lastRow int
}

// segment is rows [from, to) of a block.
type segment struct {
	block    *chproto.Block
	from, to int
}

// NewReader prepares a Reader for rows, choosing each column's Go type once
// from its ClickHouse type. A column of an unsupported type is an
// *UnsupportedColumnTypeError naming it.
func NewReader(rows driver.Rows, chunkRows int) (*Reader, error) {
	if chunkRows <= 0 {
		chunkRows = DefaultChunkRows
	}
	blocks, err := newBlockTracker(rows)
	if err != nil {
		return nil, err
	}
	types := rows.ColumnTypes()
	r := &Reader{
		rows:      rows,
		blocks:    blocks,
		names:     make([]string, len(types)),
		chTypes:   make([]string, len(types)),
		cols:      make([]Column, len(types)),
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
		r.cols[i] = col
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
	return r.next(ctx, r.chunkRows, false)
}

// NextBlock reads the rows of one native block as ClickHouse delivered it
// (the rest of the current block, or the next one), at most limit of them
// (limit <= 0: no bound), into a new frame: a chunk per block as soon as it
// arrives, so time to the first rows and memory follow the block size, not
// the result size. It returns io.EOF when no rows are left, but never on
// the first call: the first frame tells the fields, even of an empty
// result. Next and NextBlock read the same rows; use one of them.
//
//	for {
//		chunk, err := r.NextBlock(ctx, 0)
//		if errors.Is(err, io.EOF) { break }
//		...
//	}
func (r *Reader) NextBlock(ctx context.Context, limit int) (*data.Frame, error) {
	if limit <= 0 {
		limit = int(^uint(0) >> 1)
	}
	return r.next(ctx, limit, true)
}

// next reads the frame of Next and NextBlock.
func (r *Reader) next(ctx context.Context, limit int, oneBlock bool) (*data.Frame, error) {
	if r.done && r.started {
		return nil, io.EOF
	}
	n, err := r.fill(ctx, limit, oneBlock)
	if err != nil {
		return nil, err
	}
	if n == 0 && r.started {
		return nil, io.EOF
	}
	r.started = true
	return r.frame()
}

// MoreRows reports whether the result has rows that were not read. It steps
// past one of them, so call it only when done reading (a row cap reached),
// before stopping the query.
func (r *Reader) MoreRows() (bool, error) {
	if r.done {
		return false, nil
	}
	if r.last != nil && r.lastRow+1 < r.last.Rows() {
		return true, nil
	}
	if r.rows.Next() {
		return true, nil
	}
	if err := r.rows.Err(); err != nil {
		return false, fmt.Errorf("read query result after %d rows: %w", r.read, err)
	}
	return false, nil
}

// fill takes up to limit more rows, as ranges of the driver's blocks, and
// returns how many it took; with oneBlock it stops at the end of the first
// block it reads from. The context is checked once per block.
func (r *Reader) fill(ctx context.Context, limit int, oneBlock bool) (int, error) {
	n := 0
	for n < limit && !r.done && !(oneBlock && n > 0) {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("read query result: %w", err)
		}
		if !r.rows.Next() {
			r.done = true
			if err := r.rows.Err(); err != nil {
				return n, fmt.Errorf("read query result after %d rows: %w", r.read, err)
			}
			break
		}
		blk := r.blocks.block()
		if len(blk.Columns) != len(r.cols) {
			return n, fmt.Errorf("read query result: a block has %d columns, the result %d", len(blk.Columns), len(r.cols))
		}
		pos := 0
		if blk == r.last {
			pos = r.lastRow + 1
		}
		k := min(blk.Rows()-pos, limit-n)
		// The rows are on row pos; step over the others this range takes.
		for i := 1; i < k; i++ {
			if !r.rows.Next() {
				return n, fmt.Errorf("read query result: the block ended at row %d of %d", pos+i, blk.Rows())
			}
		}
		r.segs = append(r.segs, segment{block: blk, from: pos, to: pos + k})
		r.last, r.lastRow = blk, pos+k-1
		r.pending += k
		r.read += k
		n += k
	}
	return n, nil
}

// frame builds a frame from the rows taken since the last one: each field
// allocated once at its final length, filled block by block.
func (r *Reader) frame() (*data.Frame, error) {
	fields := make([]*data.Field, len(r.cols))
	dsts := make([]any, len(r.cols))
	for i, c := range r.cols {
		var err error
		if fields[i], dsts[i], err = c.newField(r.names[i], r.pending); err != nil {
			return nil, err
		}
	}
	at := 0
	for si, s := range r.segs {
		for i, c := range r.cols {
			col := s.block.Columns[i]
			native := string(col.Type()) == r.chTypes[i]
			if err := c.fill(dsts[i], at, col, s.from, s.to, native); err != nil {
				return nil, fmt.Errorf("read column %q of the query result: %w", r.names[i], err)
			}
		}
		at += s.to - s.from
		r.segs[si] = segment{} // the block can go
	}
	for _, c := range r.cols {
		c.release()
	}
	r.segs, r.pending = r.segs[:0], 0
	return data.NewFrame("", fields...), nil
}

// CutNotice is the notice of a result cut at maxRows rows (the data source's
// Max rows setting).
func CutNotice(maxRows int) data.Notice {
	return data.Notice{
		Severity: data.NoticeSeverityWarning,
		Text: fmt.Sprintf("The result was cut at %d rows (the data source's Max rows setting); "+
			"aggregate or filter in SQL, or add a LIMIT, to see all of it", maxRows),
	}
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
	if _, err := r.fill(ctx, rowLimit(maxRows), false); err != nil {
		return nil, nil, err
	}
	notices, err := r.capNotices(maxRows)
	if err != nil {
		return nil, nil, err
	}
	f, err := r.frame()
	if err != nil {
		return nil, nil, err
	}
	return f, notices, nil
}

// rowLimit is the number of rows a cap of maxRows lets through (<= 0: all).
func rowLimit(maxRows int) int {
	if maxRows <= 0 {
		return int(^uint(0) >> 1)
	}
	return maxRows
}

// capNotices is the notice that the cap of maxRows cut the result, once
// that many rows were read: one more row decides whether the cap cut
// anything; it is not kept.
func (r *Reader) capNotices(maxRows int) (Notices, error) {
	if maxRows <= 0 {
		return nil, nil
	}
	more, err := r.MoreRows()
	if err != nil || !more {
		return nil, err
	}
	return Notices{CutNotice(maxRows)}, nil
}
