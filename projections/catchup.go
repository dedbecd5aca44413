package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// CatchUp applies, inside tx, the projection's events after the checkpoint
// tx reads, up to and including the stream sequence through, and sets that
// checkpoint to through. It returns how many events it applied (or parked).
//
// It is the last step of an online rebuild: while the caller holds the live
// projector at through (its checkpoint row locked in tx), the shadow read
// models are brought to exactly that point in the very transaction that
// swaps them in, so that the swap neither loses nor repeats an event. The
// Runner must not be running meanwhile; tx's search_path decides which
// tables it writes, as it does for Run.
func (r *Runner) CatchUp(ctx context.Context, tx pgx.Tx, through uint64) (int, error) {
	q := db.New(tx)
	name := r.proj.Name()
	if err := q.EnsureCheckpoint(ctx, name); err != nil {
		return 0, fmt.Errorf("create checkpoint: %w", err)
	}
	cp64, err := q.GetCheckpoint(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("read checkpoint of %s: %w", name, err)
	}
	cp := uint64(cp64)
	if cp >= through {
		return 0, nil
	}
	events, err := r.fetchThrough(ctx, cp, through)
	if err != nil {
		return 0, err
	}
	useFastUUID(tx.Conn().TypeMap())
	for start := 0; start < len(events); start += r.opts.MaxBatch {
		chunk := events[start:min(start+r.opts.MaxBatch, len(events))]
		r.prepare(chunk)
		if err := r.applyIn(ctx, tx, chunk); err != nil {
			return 0, err
		}
	}
	if err := q.SetCheckpoint(ctx, db.SetCheckpointParams{Name: name, LastSeq: int64(through)}); err != nil {
		return 0, fmt.Errorf("set checkpoint: %w", err)
	}
	return len(events), nil
}

// fetchThrough reads the projection's events after seq after, up to and
// including through, or up to the last one stored when that comes first.
func (r *Runner) fetchThrough(ctx context.Context, after, through uint64) ([]*Event, error) {
	cons, err := r.js.OrderedConsumer(ctx, streams.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: r.proj.Subjects(),
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    after + 1,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	var events []*Event
	for {
		b, err := cons.Fetch(r.opts.MaxBatch, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		got := 0
		for m := range b.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return nil, fmt.Errorf("message without metadata: %w", err)
			}
			seq := md.Sequence.Stream
			if seq > through {
				return events, nil
			}
			events = append(events, newEvent(m, seq, md.Timestamp))
			if seq == through || md.NumPending == 0 {
				return events, nil // through, or the last one stored
			}
		}
		if err := b.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		if got > 0 {
			continue
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("consumer info: %w", err)
		}
		if info.NumPending == 0 {
			return events, nil // nothing after seq after is stored
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// applyIn applies prepared events inside tx (in a savepoint), parking the
// poison ones as commitTx does.
func (r *Runner) applyIn(ctx context.Context, tx pgx.Tx, events []*Event) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	p := newPipeline(sp)
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
	var notices []Notice // nobody sees the shadow: dropped
	err = r.proj.Apply(ctx, p, todo, &notices)
	if err == nil {
		err = p.Flush(ctx)
	}
	if err == nil {
		if err := sp.Commit(ctx); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		return nil
	}
	if rerr := sp.Rollback(ctx); rerr != nil {
		return fmt.Errorf("rollback to savepoint: %w", rerr)
	}
	if !isPoison(err) {
		return fmt.Errorf("project %s events %d-%d: %w", r.proj.Name(), events[0].Seq, events[len(events)-1].Seq, err)
	}
	q = db.New(tx)
	for _, ev := range events {
		if ev.prepErr != nil {
			if err := r.park(ctx, q, ev, ev.prepErr); err != nil {
				return err
			}
			continue
		}
		if _, err := r.applyOne(ctx, tx, ev, &notices); err != nil {
			return err
		}
	}
	return nil
}
