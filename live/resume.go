package live

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
)

// resume sends c every row of its tenant's messages, conversations and
// notes whose last_seq is above since, in sequence order, and returns the
// sequence the client is then synced to.
//
// Everything is read in one REPEATABLE READ snapshot, paged, with the
// projector's checkpoint of that same snapshot: every commit up to the
// checkpoint is in what is sent, and every later one comes as a live event
// (the client was registered with the hub before the snapshot), so live
// events at or below the checkpoint are dropped and none above it is
// missing, however many pages the client was away.
func (h *Hub) resume(c *client, since int64) (int64, error) {
	ctx, cancel := context.WithTimeout(h.ctx, h.opts.ResumeTimeout)
	defer cancel()
	tx, err := h.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, errReadFail
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := db.New(tx)
	head, err := h.resumeHead(ctx, q, c.tenant)
	if err != nil {
		h.log.Warn("live: resume", "err", err)
		return 0, errReadFail
	}
	if since >= head {
		return head, nil
	}
	sources := []*changes{
		{fetch: h.changedMessages(q, c.tenant)},
		{fetch: h.changedConversations(q, c.tenant)},
		{fetch: h.changedNotes(q, c.tenant)},
	}
	// Pages go out many events per message (lines), each message within
	// the write deadline.
	var out lines
	for _, s := range sources {
		// After every row of since: (since, the greatest id).
		s.afterSeq, s.afterID = since, uuid.Max
	}
	for {
		var next *changes
		for _, s := range sources {
			if len(s.page) == 0 && !s.done {
				if err := s.more(ctx, h.opts.QueryTimeout, h.opts.ResumePage); err != nil {
					h.log.Warn("live: resume", "err", err)
					return 0, errReadFail
				}
			}
			if len(s.page) > 0 && (next == nil || s.page[0].seq < next.page[0].seq ||
				(s.page[0].seq == next.page[0].seq && s.page[0].order < next.page[0].order)) {
				next = s
			}
		}
		if next == nil {
			if err := out.flush(c.write); err != nil {
				return 0, fmt.Errorf("resume: %w", err)
			}
			return head, nil
		}
		f := next.page[0]
		next.page = next.page[1:]
		if err := c.failedWith(); err != nil {
			return 0, err
		}
		if err := out.add(f.text, c.write); err != nil {
			return 0, fmt.Errorf("resume: %w", err)
		}
	}
}

func (h *Hub) resumeHead(ctx context.Context, q *db.Queries, tenant uuid.UUID) (int64, error) {
	qctx, cancel := context.WithTimeout(ctx, h.opts.QueryTimeout)
	defer cancel()
	// The checkpoint first: it fixes the snapshot every page then reads.
	seq, err := q.GetCheckpoint(qctx, projections.InboxName)
	if err != nil && err != pgx.ErrNoRows {
		return 0, fmt.Errorf("checkpoint: %w", err)
	}
	if err := q.EnterTenant(qctx, tenant.String()); err != nil {
		return 0, fmt.Errorf("enter tenant: %w", err)
	}
	return seq, nil
}

// changes pages through one table's changed rows by (last_seq, id).
type changes struct {
	fetch    fetcher
	page     []*frame
	afterSeq int64
	afterID  uuid.UUID
	done     bool
}

func (s *changes) more(ctx context.Context, timeout time.Duration, lim int) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	page, ids, err := s.fetch(ctx, s.afterSeq, s.afterID, lim)
	if err != nil {
		return err
	}
	s.page = page
	s.done = len(page) < lim
	if len(page) > 0 {
		s.afterSeq, s.afterID = page[len(page)-1].seq, ids[len(ids)-1]
	}
	return nil
}

// fetcher reads one page of a table's changes after (seq, id).
type fetcher = func(ctx context.Context, afterSeq int64, afterID uuid.UUID, lim int) ([]*frame, []uuid.UUID, error)

func (h *Hub) changedMessages(q *db.Queries, tenant uuid.UUID) fetcher {
	return func(ctx context.Context, seq int64, id uuid.UUID, lim int) ([]*frame, []uuid.UUID, error) {
		rows, err := q.MessagesChangedSince(ctx, db.MessagesChangedSinceParams{TenantID: tenant, AfterSeq: seq, AfterID: id, Lim: int32(lim)})
		return framesOf(rows, err, "messages", h.messageFrame, func(r db.Message) uuid.UUID { return r.ID })
	}
}

func (h *Hub) changedConversations(q *db.Queries, tenant uuid.UUID) fetcher {
	return func(ctx context.Context, seq int64, id uuid.UUID, lim int) ([]*frame, []uuid.UUID, error) {
		rows, err := q.ConversationsChangedSince(ctx, db.ConversationsChangedSinceParams{TenantID: tenant, AfterSeq: seq, AfterID: id, Lim: int32(lim)})
		return framesOf(rows, err, "conversations",
			func(r db.ConversationsChangedSinceRow) (*frame, error) {
				return h.conversationFrame(db.LiveConversationsRow(r))
			},
			func(r db.ConversationsChangedSinceRow) uuid.UUID { return r.ID })
	}
}

func (h *Hub) changedNotes(q *db.Queries, tenant uuid.UUID) fetcher {
	return func(ctx context.Context, seq int64, id uuid.UUID, lim int) ([]*frame, []uuid.UUID, error) {
		rows, err := q.NotesChangedSince(ctx, db.NotesChangedSinceParams{TenantID: tenant, AfterSeq: seq, AfterID: id, Lim: int32(lim)})
		return framesOf(rows, err, "notes", h.noteFrame, func(r db.Note) uuid.UUID { return r.ID })
	}
}

// framesOf encodes a page of rows, and gives their ids for the next page.
func framesOf[R any](rows []R, err error, what string, frameOf func(R) (*frame, error), idOf func(R) uuid.UUID) ([]*frame, []uuid.UUID, error) {
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	fs, ids := make([]*frame, len(rows)), make([]uuid.UUID, len(rows))
	for i, r := range rows {
		if fs[i], err = frameOf(r); err != nil {
			return nil, nil, err
		}
		ids[i] = idOf(r)
	}
	return fs, ids, nil
}
