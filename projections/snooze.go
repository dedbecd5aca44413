package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// SnoozeWaker ends snoozes. For each conversation whose snoozed_until has
// passed it publishes a conversation.snooze_expired event naming that
// snooze, and the inbox projector reopens the conversation when it applies
// the event, in stream order, if that same snooze still holds. The reopening
// is thus an event like any other: a rebuild replays it, and never asks the
// clock of the day of the rebuild.
//
// The waker finds what is due in the inbox read model (as the table owner,
// across tenants), then sleeps until the next snooze ends, but never longer
// than MaxSleep: a snooze set while it sleeps is not announced to it. Until
// the projector has applied an event, the conversation still looks due;
// the waker publishes it again at its next look, and the Nats-Msg-Id, made
// of the conversation and its snoozed_until, makes JetStream store it once
// within the duplicate window, however many wakers (in as many processes)
// publish it. A copy stored after the window is applied as a no-op.
type SnoozeWaker struct {
	pool *pgxpool.Pool
	pub  *streams.Publisher
	log  *slog.Logger
	opts SnoozeOptions
}

// SnoozeOptions tunes a SnoozeWaker. The zero value is the production setting.
type SnoozeOptions struct {
	// MaxSleep is the longest the waker sleeps between two looks, and so
	// how late a snooze set while it sleeps may end; default 30s.
	MaxSleep time.Duration
	// Page is how many ended snoozes one query reads; default 500.
	Page int
	// PublishTimeout bounds the wait for JetStream's ack; default 10s.
	PublishTimeout time.Duration
	// Now is the clock that says which snoozes have ended; default time.Now.
	Now func() time.Time
}

// NewSnoozeWaker returns a waker reading pool and publishing through pub.
// logger may be nil.
func NewSnoozeWaker(pool *pgxpool.Pool, pub *streams.Publisher, logger *slog.Logger, opts SnoozeOptions) *SnoozeWaker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxSleep <= 0 {
		opts.MaxSleep = 30 * time.Second
	}
	if opts.Page <= 0 {
		opts.Page = 500
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &SnoozeWaker{pool: pool, pub: pub, log: logger.With("component", "snooze_waker"), opts: opts}
}

// Run wakes ended snoozes until ctx is cancelled. An error (PostgreSQL or
// NATS away) is logged and the look retried after a growing pause of at
// most MaxSleep; it never stops the waker.
func (w *SnoozeWaker) Run(ctx context.Context) {
	var backoff time.Duration
	for {
		next, err := w.wake(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := w.opts.MaxSleep
		switch {
		case err != nil:
			backoff = min(max(2*backoff, time.Second), w.opts.MaxSleep)
			wait = backoff
			w.log.Error("waking snoozed conversations", "err", err, "retry_in", wait.String())
		case !next.IsZero():
			backoff = 0
			wait = min(wait, next.Sub(w.opts.Now()))
		default:
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// wake publishes the end of every snooze that has ended by now, and returns
// when the next one ends (zero: none is running).
func (w *SnoozeWaker) wake(ctx context.Context) (next time.Time, err error) {
	// A look that takes longer than this is stuck on a database that does
	// not answer: given up, and tried again after the backoff.
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	now := w.opts.Now()
	q := db.New(w.pool)
	var after db.DueSnoozesRow // the cursor: the last snooze of the previous page
	published := 0
	for {
		due, err := q.DueSnoozes(ctx, db.DueSnoozesParams{
			Now: now, AfterUntil: after.SnoozedUntil, AfterID: after.ID, MaxRows: int32(w.opts.Page),
		})
		if err != nil {
			return time.Time{}, fmt.Errorf("find ended snoozes: %w", err)
		}
		for _, s := range due {
			if err := w.publish(ctx, s, now); err != nil {
				return time.Time{}, err
			}
			published++
		}
		if len(due) < w.opts.Page {
			break
		}
		after = due[len(due)-1]
	}
	if published > 0 {
		w.log.Info("snoozes ended", "conversations", published)
	}
	next, err = q.NextSnooze(ctx, now)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("find the next snooze: %w", err)
	}
	return next, nil
}

func (w *SnoozeWaker) publish(ctx context.Context, s db.DueSnoozesRow, now time.Time) error {
	until := s.SnoozedUntil.UTC()
	e, err := streams.ConversationEvent(s.TenantID, domain.EventSnoozeExpired,
		domain.ConversationEvent{ConversationID: s.ID, SnoozedUntil: &until, At: now.UTC()})
	if err != nil {
		return err
	}
	e.Actor, e.MsgID = "system", snoozeMsgID(s.ID, until)
	ctx, cancel := context.WithTimeout(ctx, w.opts.PublishTimeout)
	defer cancel()
	if _, err := w.pub.Publish(ctx, e); err != nil {
		return fmt.Errorf("publish the end of the snooze of conversation %s: %w", s.ID, err)
	}
	return nil
}

// snoozeMsgID is the Nats-Msg-Id of the end of conversation's snooze until
// until: the same in every waker and every retry.
func snoozeMsgID(conversation uuid.UUID, until time.Time) string {
	return domain.EventSnoozeExpired + ":" + conversation.String() + ":" + until.UTC().Format(time.RFC3339Nano)
}
