package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/sql/db"
)

// ErrNotApplied is returned by Reproject for events the projector has not
// reached yet: it will apply them itself, in their turn.
var ErrNotApplied = errors.New("event not applied by the projector yet")

// EventFromStream makes an Event of a message read from the stream by
// sequence (jetstream.Stream.GetMsg), as the Runner makes one of a
// consumed message.
func EventFromStream(m *jetstream.RawStreamMsg) *Event {
	return newEventFromParts(m.Subject, m.Header, m.Data, m.Sequence, m.Time)
}

// Reproject applies events again through the projection's own code, as
// operators' replays and retries of parked events do: prepared and applied
// as the Runner does, in one transaction that holds the projector's
// checkpoint row, so that it never runs beside one of the projector's
// batches. The checkpoint does not move. Events must be in stream order and
// at or below the checkpoint (ErrNotApplied otherwise: the projector has
// still to apply them, and applying them now would apply them before the
// events in front of them).
//
// Every rule of the read models is idempotent (a message's content is kept
// once it is known, statuses only move up, profile names only follow newer
// events…), so an event applied twice has the effect of applying it once:
// re-projection changes only what the projection's code now makes
// differently of the event — a fixed decoder's corrections. An event that
// is poison is parked as in a live batch; one parked before and applied now
// leaves the parked list. Changed rows are announced to live clients.
//
// It returns the number of events applied (parked ones not counted).
func (r *Runner) Reproject(ctx context.Context, events []*Event) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	for _, ev := range events {
		ev.Replayed = true
	}
	r.prepare(events)
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	applied, notices, err := r.reprojectTx(ctx, events, false)
	if err != nil && isPoison(err) {
		applied, notices, err = r.reprojectTx(ctx, events, true)
	}
	if err != nil {
		return 0, err
	}
	r.notify(notices)
	return applied, nil
}

func (r *Runner) reprojectTx(ctx context.Context, events []*Event, oneByOne bool) (int, []Notice, error) {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	useFastUUID(tx.Conn().TypeMap())
	name := r.proj.Name()
	cp, err := db.New(tx).LockCheckpointRow(ctx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, fmt.Errorf("projector %s: %w", name, ErrNotApplied)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("lock checkpoint: %w", err)
	}
	if last := events[len(events)-1].Seq; last > uint64(cp) {
		return 0, nil, fmt.Errorf("event %d, checkpoint %d: %w", last, cp, ErrNotApplied)
	}
	p := newPipeline(tx)
	q := db.New(p)
	_ = q.ProjectorTxSettings(ctx)
	var todo []*Event
	for _, ev := range events {
		if ev.prepErr != nil {
			_ = r.park(ctx, q, ev, ev.prepErr)
			continue
		}
		todo = append(todo, ev)
	}
	var notices []Notice
	var ok []int64
	if !oneByOne {
		err = r.proj.Apply(ctx, p, todo, &notices)
		if err == nil {
			for _, ev := range todo {
				ok = append(ok, int64(ev.Seq))
			}
			_ = q.UnparkApplied(ctx, db.UnparkAppliedParams{Projector: name, Seqs: ok})
			err = p.Flush(ctx)
		}
		if err != nil {
			return 0, nil, fmt.Errorf("reproject %s events %d-%d: %w", name, events[0].Seq, events[len(events)-1].Seq, err)
		}
	} else {
		if err := p.Flush(ctx); err != nil {
			return 0, nil, fmt.Errorf("start batch: %w", err)
		}
		for _, ev := range todo {
			parked, err := r.applyOne(ctx, tx, ev, &notices)
			if err != nil {
				return 0, nil, err
			}
			if !parked {
				ok = append(ok, int64(ev.Seq))
			}
		}
		if err := db.New(tx).UnparkApplied(ctx, db.UnparkAppliedParams{Projector: name, Seqs: ok}); err != nil {
			return 0, nil, fmt.Errorf("unpark: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, nil, fmt.Errorf("commit: %w", err)
	}
	return len(ok), notices, nil
}
