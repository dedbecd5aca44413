package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pipeline is the db.DBTX a Projection writes through. It saves round trips:
// Exec only queues the statement and returns a zero CommandTag and no error;
// the next Query, QueryRow or Flush sends everything queued, itself last, as
// one batch, and reports the first error of any of them. So a projection
// can issue its statements one by one, as sqlc generates them, and
// PostgreSQL still gets them in one go. Each round trip counts: it is paid
// in latency, and on a busy machine in waiting to be scheduled again.
type pipeline struct {
	tx     pgx.Tx
	queue  *pgx.Batch
	copied int64 // rows CopyFrom copied
}

func newPipeline(tx pgx.Tx) *pipeline { return &pipeline{tx: tx, queue: &pgx.Batch{}} }

// Exec queues a statement; see pipeline.
func (p *pipeline) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	p.queue.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

// Query sends the queued statements and this query, and returns its rows.
func (p *pipeline) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if p.queue.Len() == 0 {
		return p.tx.Query(ctx, sql, args...)
	}
	br, err := p.send(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow sends the queued statements and this query, and returns its row.
func (p *pipeline) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if p.queue.Len() == 0 {
		return p.tx.QueryRow(ctx, sql, args...)
	}
	br, err := p.send(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return batchRow{row: br.QueryRow(), br: br}
}

// Flush sends whatever is queued and waits for the outcome.
func (p *pipeline) Flush(ctx context.Context) error {
	if p.queue.Len() == 0 {
		return nil
	}
	b := p.queue
	p.queue = &pgx.Batch{}
	br := p.tx.SendBatch(ctx, b)
	for range b.Len() {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return err
		}
	}
	return br.Close()
}

// CopyFrom sends what is queued, then copies src into table (the bulk
// path, bulk.go).
func (p *pipeline) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := p.Flush(ctx); err != nil {
		return 0, err
	}
	n, err := p.tx.CopyFrom(ctx, table, columns, src)
	p.copied += n
	return n, err
}

// send sends the queue plus one more statement and consumes the results of
// the queued ones, leaving the last for the caller.
func (p *pipeline) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := p.queue
	p.queue = &pgx.Batch{}
	queued := b.Len()
	b.Queue(sql, args...)
	br := p.tx.SendBatch(ctx, b)
	for i := range queued {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, fmt.Errorf("statement %d of %d sent together: %w", i+1, queued+1, err)
		}
	}
	return br, nil
}

// batchRows closes the batch with the rows, and reports what closing it
// found.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.br != nil {
		r.err = r.br.Close()
		r.br = nil
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
