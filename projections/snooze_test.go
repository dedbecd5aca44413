package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

// TestSnoozeExpires: a running waker publishes the end of a snooze when
// snoozed_until passes, and the projector reopens the conversation.
func TestSnoozeExpires(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	r := e.start(t, Options{})
	tenant := uuid.NewString()
	mustWait(t, r, e.publish(t, tenant, textWebhook("wamid.1", "16505551234", "Kerry", "hi", 1739321000)))
	conv := e.mustConversation(t, tenant).ID
	until := time.Now().Add(300 * time.Millisecond).UTC().Truncate(time.Microsecond)
	mustWait(t, r, e.snooze(t, tenant, conv, until))
	if got := e.snoozeState(t, e.pool, conv); got.Status != domain.ConversationSnoozed {
		t.Fatalf("after the snooze: %+v", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		NewSnoozeWaker(e.pool, e.pub, nil, SnoozeOptions{}).Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Error("the waker did not stop when its context was cancelled")
		}
	})

	var got snoozeRow
	await.Until(t, 30*time.Second, "the conversation reopened", func() bool {
		got = e.snoozeState(t, e.pool, conv)
		return got.Status == domain.ConversationOpen
	})
	ends := e.snoozeEnds(t)
	if len(ends) != 1 {
		t.Fatalf("%d snooze_expired events, want 1", len(ends))
	}
	end := ends[0]
	var ev domain.ConversationEvent
	if err := json.Unmarshal(end.Data, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ConversationID != conv || ev.SnoozedUntil == nil || !ev.SnoozedUntil.Equal(until) || ev.At.Before(until) {
		t.Errorf("event %+v, want conversation %s, snoozed_until %s, at after it", ev, conv, until)
	}
	if end.Subject != "wam."+tenant+".conversation.snooze_expired" || end.Header.Get(streams.HeaderActor) != "system" {
		t.Errorf("event on %s by %q", end.Subject, end.Header.Get(streams.HeaderActor))
	}
	// updated_at is the event's time, as with every event: a rebuild keeps it.
	if at := ev.At.Truncate(time.Microsecond); got.SnoozedUntil != nil || got.LastSeq != int64(end.Seq) || !got.UpdatedAt.Equal(at) {
		t.Errorf("after the wake-up: %+v, want snoozed_until NULL, last_seq %d, updated_at %s", got, end.Seq, at)
	}
}

// TestSnoozeExpiryStale: the waker saw a snooze end, but something else
// happened to the conversation before its event in the stream. The event
// then changes nothing; and a rebuild from the stream gives the same rows.
func TestSnoozeExpiryStale(t *testing.T) {
	t.Parallel()
	t1 := time.Date(2031, 5, 1, 9, 0, 0, 123456000, time.UTC)
	t2 := t1.Add(time.Hour)
	tests := []struct {
		name    string
		between func(tb testing.TB, e *env, tenant string, conv uuid.UUID) // published after the waker looked, before its event
		status  string
		until   *time.Time
	}{
		{"nothing happened", func(testing.TB, *env, string, uuid.UUID) {}, domain.ConversationOpen, nil},
		{"snoozed again until later", func(tb testing.TB, e *env, tenant string, conv uuid.UUID) {
			e.snooze(tb, tenant, conv, t2)
		}, domain.ConversationSnoozed, &t2},
		{"closed", func(tb testing.TB, e *env, tenant string, conv uuid.UUID) {
			e.conversationEvent(tb, tenant, domain.EventStatusChanged, domain.ConversationEvent{ConversationID: conv, Status: domain.ConversationClosed})
		}, domain.ConversationClosed, nil},
		{"reopened and snoozed again", func(tb testing.TB, e *env, tenant string, conv uuid.UUID) {
			e.conversationEvent(tb, tenant, domain.EventStatusChanged, domain.ConversationEvent{ConversationID: conv, Status: domain.ConversationOpen})
			e.snooze(tb, tenant, conv, t2)
		}, domain.ConversationSnoozed, &t2},
		{"a message came in", func(tb testing.TB, e *env, tenant string, _ uuid.UUID) {
			e.publish(tb, tenant, textWebhook("wamid.2", "16505551234", "Kerry", "still there?", 1739321100))
		}, domain.ConversationOpen, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mustEnv(t)
			var now atomic.Pointer[time.Time]
			clock := func() time.Time { return *now.Load() }
			w := NewSnoozeWaker(e.pool, e.pub, nil, SnoozeOptions{Now: clock})
			tenant := uuid.NewString()
			e.publish(t, tenant, textWebhook("wamid.1", "16505551234", "Kerry", "hi", 1739321000))
			e.project(t)
			conv := e.mustConversation(t, tenant).ID
			e.snooze(t, tenant, conv, t1)
			e.project(t)

			// The projector is stopped: the waker still sees the snooze
			// until t1 when it looks, after the events of tt.between.
			before := t1.Add(-time.Second)
			now.Store(&before)
			if next := mustWake(t, w); !next.Equal(t1) {
				t.Errorf("before the snooze ends: next %s, want %s", next, t1)
			}
			tt.between(t, e, tenant, conv)
			after := t1.Add(time.Second)
			now.Store(&after)
			mustWake(t, w)
			if n := len(e.snoozeEnds(t)); n != 1 {
				t.Fatalf("%d snooze_expired events, want 1", n)
			}
			e.project(t)
			got := e.snoozeState(t, e.pool, conv)
			if got.Status != tt.status || !equalTimes(got.SnoozedUntil, tt.until) {
				t.Errorf("got %s until %v, want %s until %v", got.Status, got.SnoozedUntil, tt.status, tt.until)
			}

			// A snooze that still holds ends in its turn.
			if tt.until != nil {
				later := tt.until.Add(time.Second)
				now.Store(&later)
				mustWake(t, w)
				e.project(t)
				if got := e.snoozeState(t, e.pool, conv); got.Status != domain.ConversationOpen || got.SnoozedUntil != nil {
					t.Errorf("after the second snooze ended: %+v", got)
				}
			}

			// Replaying the stream into an empty database gives the same rows.
			rebuilt := pgtest.New(t)
			e.projectInto(t, rebuilt)
			if a, b := e.snoozeState(t, e.pool, conv), e.snoozeState(t, rebuilt, conv); a != b {
				t.Errorf("rebuilt %+v, want %+v", b, a)
			}
		})
	}
}

// TestSnoozeExpiryPublishedOnce: wakers in two processes, each looking
// twice before the projector applies anything, store each snooze's end
// once; and, once applied, the snooze is no longer due.
func TestSnoozeExpiryPublishedOnce(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	const n = 5
	for i := range n {
		e.publish(t, tenant, textWebhook(fmt.Sprintf("wamid.%d", i), fmt.Sprintf("1650555100%d", i), "", "hi", 1739321000))
	}
	e.project(t)
	until := time.Date(2031, 5, 1, 9, 0, 0, 0, time.UTC)
	for _, c := range e.conversations(t, tenant) {
		e.snooze(t, tenant, c.ID, until) // the same time: the cursor must page by id too
	}
	e.project(t)

	clock := func() time.Time { return until.Add(time.Minute) }
	var wg sync.WaitGroup
	for range 2 {
		w := NewSnoozeWaker(e.pool, e.pub, nil, SnoozeOptions{Now: clock, Page: 2})
		wg.Go(func() {
			for range 2 {
				if _, err := w.wake(context.Background()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	ends := e.snoozeEnds(t)
	seen := map[string]int{}
	for _, m := range ends {
		var ev domain.ConversationEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		seen[ev.ConversationID.String()]++
	}
	if len(ends) != n || len(seen) != n {
		t.Errorf("%d snooze_expired events for %d conversations, want %d for %d", len(ends), len(seen), n, n)
	}

	e.project(t)
	if got := e.count(t, `SELECT count(*) FROM conversations WHERE tenant_id = $1 AND status = 'open' AND snoozed_until IS NULL`, tenant); got != n {
		t.Errorf("%d conversations reopened, want %d", got, n)
	}
	mustWake(t, NewSnoozeWaker(e.pool, e.pub, nil, SnoozeOptions{Now: clock}))
	if got := len(e.snoozeEnds(t)); got != n {
		t.Errorf("after the snoozes were applied a waker published again: %d events", got)
	}
}

func mustWake(tb testing.TB, w *SnoozeWaker) time.Time {
	tb.Helper()
	next, err := w.wake(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return next
}

// conversationEvent publishes a conversation event as the API does.
func (e *env) conversationEvent(tb testing.TB, tenant, typ string, ev domain.ConversationEvent) uint64 {
	tb.Helper()
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	se, err := streams.ConversationEvent(uuid.MustParse(tenant), typ, ev)
	if err != nil {
		tb.Fatal(err)
	}
	return e.publishEvent(tb, se)
}

func (e *env) snooze(tb testing.TB, tenant string, conv uuid.UUID, until time.Time) uint64 {
	tb.Helper()
	return e.conversationEvent(tb, tenant, domain.EventStatusChanged,
		domain.ConversationEvent{ConversationID: conv, Status: domain.ConversationSnoozed, SnoozedUntil: &until})
}

// project runs an inbox projector until it has applied every event stored
// so far, and stops it.
func (e *env) project(tb testing.TB) { e.projectInto(tb, e.pool) }

// projectInto does what project does, into pool.
func (e *env) projectInto(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	st, err := e.js.Stream(context.Background(), streams.StreamName)
	if err != nil {
		tb.Fatal(err)
	}
	r := NewInbox(pool, e.js, nil, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	mustWait(tb, r, st.CachedInfo().State.LastSeq)
	cancel()
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
}

// snoozeRow is what the tests compare of a conversation.
type snoozeRow struct {
	Status       string
	SnoozedUntil *time.Time
	Unread       int
	UpdatedAt    time.Time
	LastSeq      int64
}

func (e *env) snoozeState(tb testing.TB, pool *pgxpool.Pool, conv uuid.UUID) snoozeRow {
	tb.Helper()
	var r snoozeRow
	if err := pool.QueryRow(context.Background(), `
		SELECT status, snoozed_until, unread_count, updated_at, last_seq FROM conversations WHERE id = $1`, conv).Scan(
		&r.Status, &r.SnoozedUntil, &r.Unread, &r.UpdatedAt, &r.LastSeq); err != nil {
		tb.Fatalf("conversation %s: %v", conv, err)
	}
	if r.SnoozedUntil != nil {
		u := r.SnoozedUntil.UTC() // comparable with ==
		r.SnoozedUntil = &u
	}
	r.UpdatedAt = r.UpdatedAt.UTC()
	return r
}

// snoozeEnd is one conversation.snooze_expired event of the stream.
type snoozeEnd struct {
	Seq     uint64
	Subject string
	Header  nats.Header
	Data    []byte
}

// snoozeEnds reads every conversation.snooze_expired event stored so far.
func (e *env) snoozeEnds(tb testing.TB) []snoozeEnd {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := e.js.Stream(ctx, streams.StreamName)
	if err != nil {
		tb.Fatal(err)
	}
	subject := streams.Subject("*", domain.EventSnoozeExpired)
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		tb.Fatal(err)
	}
	var total uint64
	for _, n := range info.State.Subjects {
		total += n
	}
	if total == 0 {
		return nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		tb.Fatal(err)
	}
	var out []snoozeEnd
	for uint64(len(out)) < total {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			tb.Fatal(err)
		}
		md, err := m.Metadata()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, snoozeEnd{Seq: md.Sequence.Stream, Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
	}
	return out
}

func equalTimes(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
