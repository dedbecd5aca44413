// Package projections derives wam's PostgreSQL read models from the events
// of the WAM stream: durable projectors with checkpoints, and the live
// notifications sent after each commit.
package projections

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Event is one stream message handed to a Projection.
type Event struct {
	Seq        uint64 // stream sequence
	Subject    string
	Tenant     string // tenant token of the subject, "_unrouted" for unrouted webhooks
	Type       string // event type, e.g. "webhook.meta"
	ReceivedAt time.Time
	Header     nats.Header
	Data       []byte

	// Replayed is set on events applied again (Runner.Reproject): rules
	// that cannot tell an old value from a newer one only fill what is
	// still empty for them.
	Replayed bool

	// Prepared is whatever Projection.Prepare computed for this event.
	Prepared any
	// prepErr is why Prepare could not make sense of the event: such an
	// event is parked without being applied.
	prepErr error
}

// Notice is a change of one read-model row, announced on
// streams.LiveSubject(Tenant, Kind) once the change is committed.
type Notice struct {
	Tenant         string
	Kind           string // "conversation" or "message"
	ID             uuid.UUID
	ConversationID uuid.UUID // for messages; zero otherwise
	Seq            int64     // last_seq of the row after the change
}

// Projection turns events into read-model rows. The Runner owns delivery,
// transactions, checkpoints, parking and notifications; a Projection only
// says what an event means.
type Projection interface {
	// Name names the projector: its checkpoint row and its parked events.
	Name() string
	// Subjects are the stream subjects the projector consumes.
	Subjects() []string
	// Prepare does the CPU work of one event (decoding) outside any
	// transaction, so that it overlaps the database work of the previous
	// batch. It is called concurrently for different events, and an error
	// parks the event.
	Prepare(ev *Event) error
	// Apply applies events, in stream order, through q, which is inside the
	// batch's transaction, and appends the rows it changed to notices. q
	// pipelines: Exec only queues a statement, and its error comes with the
	// next Query, QueryRow or the Runner's final flush, so a batch costs
	// few round trips. An error rolls back everything Apply did; the Runner
	// then retries the events one by one to find and park the poison one.
	Apply(ctx context.Context, q db.DBTX, events []*Event, notices *[]Notice) error
}

// Options tunes a Runner. The zero value is a sensible production setting.
type Options struct {
	// MaxBatch is the most events applied in one transaction; default 2000.
	MaxBatch int
	// MinBackoff and MaxBackoff bound the wait between retries after a
	// database error that is not the event's fault; defaults 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Busy, when set, reports that more urgent work (acknowledging Meta's
	// webhooks) is using the machine. The runner then holds its batch back,
	// still filling it, until Busy clears or the batch's oldest event has
	// waited MaxDefer: projection gives way during a burst and catches up
	// after it, in bigger and cheaper batches.
	Busy func() bool
	// MaxDefer bounds how long Busy can hold an event back; default 2s.
	MaxDefer time.Duration
	// LockName names the advisory lock that makes one runner active;
	// default the projection's name. A rebuild's shadow runner of a
	// projection takes a lock of its own, beside the live runner's.
	LockName string
	// Quiet sends no live notifications: rows a shadow runner writes are
	// nobody's to see until they are swapped in.
	Quiet bool
	// Bulk applies batches the bulk way when the projection can
	// (BulkApplier): rows new to the read models are copied in. A
	// rebuild's shadow runner sets it, with Quiet. Events found poison are
	// applied again one by one the normal way, and parked.
	Bulk bool
}

func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 2000
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxDefer <= 0 {
		o.MaxDefer = 2 * time.Second
	}
	return o
}

// Runner runs one Projection. Each batch of events is applied in one
// PostgreSQL transaction that also advances the projector's checkpoint, and
// the checkpoint is the only record of progress: each session reads the
// stream through an ordered consumer of its own, starting after the
// checkpoint, so every event takes effect exactly once and in stream order.
//
// Several Runners of one projector (in several processes) may run: a lock
// in PostgreSQL makes one of them the active one, and the others wait.
type Runner struct {
	pool *pgxpool.Pool
	js   jetstream.JetStream
	nc   *nats.Conn
	proj Projection
	log  *slog.Logger
	opts Options

	events atomic.Uint64 // events applied (or parked) by this runner, for metrics
	copied atomic.Uint64 // rows it copied in the bulk way (Options.Bulk)
	state  runnerState   // what it is doing (Status)

	mu      sync.Mutex
	applied uint64        // checkpoint as of the last batch this runner finished
	moved   chan struct{} // closed and replaced whenever applied grows

	// afterCommit, when set by a test, is called after each commit;
	// returning true makes Run stop there, as a crash would.
	afterCommit func(checkpoint uint64) bool
}

// NewRunner returns a Runner of proj reading the WAM stream through js and
// writing to pool. logger may be nil.
func NewRunner(pool *pgxpool.Pool, js jetstream.JetStream, proj Projection, logger *slog.Logger, opts Options) *Runner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{
		pool:  pool,
		js:    js,
		nc:    js.Conn(),
		proj:  proj,
		log:   logger.With("projector", proj.Name()),
		opts:  opts.withDefaults(),
		moved: make(chan struct{}),
	}
}

// Name is the projector's name.
func (r *Runner) Name() string { return r.proj.Name() }

// Subjects are the stream subjects the runner's projection reads.
func (r *Runner) Subjects() []string { return r.proj.Subjects() }

// Checkpoint is the stream sequence of the last event the projector applied
// (or parked), as committed in PostgreSQL; 0 before the first.
func (r *Runner) Checkpoint(ctx context.Context) (uint64, error) {
	seq, err := db.New(r.pool).GetCheckpoint(ctx, r.proj.Name())
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read checkpoint of %s: %w", r.proj.Name(), err)
	}
	return uint64(seq), nil
}

// Stats reports the checkpoint this runner last committed and how many
// events it has applied since it started, for metrics.
func (r *Runner) Stats() (checkpoint, events uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied, r.events.Load()
}

// Copied is how many rows this runner has written the bulk way
// (Options.Bulk), with COPY, since it started.
func (r *Runner) Copied() uint64 { return r.copied.Load() }

// WaitFor blocks until this Runner has committed a checkpoint at or beyond
// seq, or ctx ends. The checkpoint only passes events the projector consumes,
// so seq should be the sequence of such an event (for example the last
// webhook published).
func (r *Runner) WaitFor(ctx context.Context, seq uint64) error {
	for {
		r.mu.Lock()
		applied, moved := r.applied, r.moved
		r.mu.Unlock()
		if applied >= seq {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to reach %d (at %d): %w", r.proj.Name(), seq, applied, ctx.Err())
		}
	}
}

func (r *Runner) reset(seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = seq
	close(r.moved)
	r.moved = make(chan struct{})
}

func (r *Runner) advance(seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq > r.applied {
		r.applied = seq
		close(r.moved)
		r.moved = make(chan struct{})
	}
}

// batch is what the fetching side hands to the applying side.
type batch struct {
	events  []*Event // in stream order
	lastSeq uint64   // the highest stream sequence delivered
}

// Run consumes and applies events until ctx is cancelled, then returns nil.
// It returns an error only when it cannot start (no stream, no database);
// database trouble later is retried with backoff.
//
// Run first takes the projector's lock in PostgreSQL, so that of several
// runners of one projector (several wam processes) one is active and the
// others wait to take over. A runner that finds it lost the lock (its lock
// connection broke) stops before committing anything more and starts over.
func (r *Runner) Run(ctx context.Context) error {
	defer r.state.enter(RunnerStopped, nil)
	wait := r.opts.MinBackoff
	for started := false; ; {
		r.state.enter(RunnerStarting, nil)
		applied := r.events.Load()
		ok, err := r.session(ctx, &started)
		if ctx.Err() != nil || ok {
			return nil
		}
		if !started {
			return fmt.Errorf("start projector %s: %w", r.proj.Name(), err)
		}
		if r.events.Load() > applied {
			wait = r.opts.MinBackoff // a session that got work done is no failure to back off from
		}
		r.log.Warn("projector session ended, starting over", "retry_in", wait, "err", err)
		r.state.enter(RunnerBackingOff, err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil
		}
		wait = r.nextBackoff(wait, err)
	}
}

// awayBackoff caps the wait between retries while PostgreSQL refuses
// connections (it is restarting, say). Such a retry costs little, and the
// projector then resumes within a second of the database's return instead
// of after a backoff that grew all through the outage.
const awayBackoff = time.Second

// nextBackoff is the wait after wait, for an attempt that failed with err.
func (r *Runner) nextBackoff(wait time.Duration, err error) time.Duration {
	next := min(2*wait, r.opts.MaxBackoff)
	if errors.As(err, new(*pgconn.ConnectError)) {
		next = min(next, max(awayBackoff, r.opts.MinBackoff))
	}
	return next
}

// errLostLock ends a session whose runner no longer holds the projector lock.
var errLostLock = errors.New("lost the projector lock: another runner may be active")

// errCheckpointBack ends a session that finds the checkpoint below what it
// committed itself: PostgreSQL lost commits in a crash (batches commit
// without waiting for the WAL flush) or an operator reset it for a rebuild.
// The next session reads the stream again from the checkpoint and applies
// those events again.
var errCheckpointBack = errors.New("checkpoint moved back: resuming from it")

// lockKeys are the two keys of the projector's advisory lock: one for all
// of wam's projectors, one for this projector's name.
func (r *Runner) lockKeys() (int32, int32) {
	name := r.opts.LockName
	if name == "" {
		name = r.proj.Name()
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return 0x77616d00, int32(h.Sum32() & 0x7fffffff) // "wam\0"
}

// session runs the projector while it holds the lock. done is true when it
// ended as it should (ctx cancelled, or the test hook crashed it). started
// becomes true once the session consumes.
func (r *Runner) session(ctx context.Context, started *bool) (done bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	lockConn, err := r.lock(ctx)
	if err != nil {
		return false, err
	}
	// Closing the connection releases the lock, as a crash would.
	defer func() { _ = lockConn.Close(context.Background()) }()

	q := db.New(r.pool)
	startCtx, cancelStart := context.WithTimeout(ctx, commitTimeout)
	defer cancelStart()
	if err := q.EnsureCheckpoint(startCtx, r.proj.Name()); err != nil {
		return false, fmt.Errorf("create checkpoint: %w", err)
	}
	cp, err := r.Checkpoint(startCtx)
	if err != nil {
		return false, err
	}
	r.reset(cp) // lower after a rebuild reset the checkpoint
	// An ordered consumer is the session's own: ephemeral, unacknowledged,
	// and remade by the client from where it stopped whenever it sees a gap.
	// Nothing another runner did (a prefetched batch that never committed, a
	// pull request still open when it stopped) can take an event from it.
	cons, err := r.js.OrderedConsumer(ctx, streams.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: r.proj.Subjects(),
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    cp + 1,
	})
	if err != nil {
		return false, fmt.Errorf("consumer: %w", err)
	}

	msgs := make(chan jetstream.Msg, 2*r.opts.MaxBatch)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	},
		jetstream.PullMaxMessages(2*r.opts.MaxBatch),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if ctx.Err() == nil {
				r.log.Warn("consume", "err", err)
			}
		}))
	if err != nil {
		return false, fmt.Errorf("consume: %w", err)
	}
	defer cc.Stop()
	*started = true
	r.state.enter(RunnerRunning, nil)

	ready := make(chan *batch) // unbuffered: a batch is handed over when the committer is free
	go r.assemble(ctx, msgs, ready, cp)

	holder := lockConn.PgConn().PID()
	for {
		var b *batch
		waitStart := time.Now()
		select {
		case <-ctx.Done():
			return true, nil
		case b = <-ready:
		}
		start := time.Now()
		cp, notices, err := r.commitWithRetry(ctx, b, holder)
		if err != nil {
			return ctx.Err() != nil, err
		}
		if r.afterCommit != nil && r.afterCommit(cp) {
			return true, nil
		}
		r.notify(notices)
		r.events.Add(uint64(len(b.events)))
		r.advance(cp)
		r.log.Debug("batch applied", "events", len(b.events), "checkpoint", cp,
			"waited", start.Sub(waitStart), "took", time.Since(start))
	}
}

// lock takes the projector lock on a connection of its own, outside the
// pool, waiting while another runner holds it.
func (r *Runner) lock(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, r.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect for the projector lock: %w", err)
	}
	k1, k2 := r.lockKeys()
	q := db.New(conn)
	ok, err := q.TryLockProjector(ctx, db.TryLockProjectorParams{Key1: k1, Key2: k2})
	if err == nil && !ok {
		r.log.Info("another runner of this projector is active; waiting to take over")
		r.state.enter(RunnerStandby, nil)
		if err = q.LockProjector(ctx, db.LockProjectorParams{Key1: k1, Key2: k2}); err == nil {
			r.state.enter(RunnerStarting, nil)
		}
	}
	if err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("take the projector lock: %w", err)
	}
	return conn, nil
}

// assemble builds batches from delivered messages, the group-commit way:
// a batch starts with one message and takes whatever else arrives until
// the committer is free to take it (ready is unbuffered) or it holds
// MaxBatch. Its events are decoded as they come, between arrivals (what
// came at once, in parallel), so handing it over costs nothing. An idle
// committer gets an event the moment it is delivered; a busy one, under
// load, a batch of everything that came while it worked. Batches grow
// with the load and the cost of a commit, never with a fixed wait.
//
// The bulk way (a rebuild's shadow), a batch takes what the stream has
// stored already, up to MaxBatch, however long delivering it takes (a
// second at most): short batches cost it the most.
func (r *Runner) assemble(ctx context.Context, msgs <-chan jetstream.Msg, ready chan<- *batch, hwm uint64) {
	for {
		b := &batch{}
		var pending uint64 // stored after the last event added, as the consumer saw it
		add := func(m jetstream.Msg) {
			md, err := m.Metadata()
			if err != nil {
				r.log.Error("message without metadata", "subject", m.Subject(), "err", err)
				return
			}
			seq := md.Sequence.Stream
			if seq <= hwm {
				// An ordered consumer delivers each event once, in
				// order; anything else would break the checkpoint.
				r.log.Error("event delivered out of order, skipped", "seq", seq, "after", hwm)
				return
			}
			hwm, b.lastSeq, pending = seq, seq, md.NumPending
			b.events = append(b.events, newEvent(m, seq, md.Timestamp))
		}
		select {
		case <-ctx.Done():
			return
		case m := <-msgs:
			add(m)
		}
		if r.opts.Bulk && !r.fillStored(ctx, b, msgs, add, &pending) {
			return
		}
		if !r.yield(ctx, b, msgs, add) {
			return
		}
		prepared := 0
		for {
			// What has come already joins at once, and is decoded
			// together.
		take:
			for len(b.events) < r.opts.MaxBatch {
				select {
				case m := <-msgs:
					add(m)
				default:
					break take
				}
			}
			r.prepare(b.events[prepared:])
			prepared = len(b.events)
			if b.lastSeq == 0 {
				break // nothing to apply: start again
			}
			if r.opts.Bulk || len(b.events) >= r.opts.MaxBatch {
				select {
				case <-ctx.Done():
					return
				case ready <- b:
				}
				break
			}
			select {
			case <-ctx.Done():
				return
			case ready <- b:
			case m := <-msgs:
				add(m)
				continue
			}
			break
		}
	}
}

// fillStored adds to b, the bulk way, what the stream had stored when its
// last event was delivered, up to MaxBatch, for a second at most. It
// returns false when ctx ends.
func (r *Runner) fillStored(ctx context.Context, b *batch, msgs <-chan jetstream.Msg, add func(jetstream.Msg), pending *uint64) bool {
	stored := time.NewTimer(time.Second)
	defer stored.Stop()
	for len(b.events) < r.opts.MaxBatch && *pending > 0 {
		select {
		case m := <-msgs:
			add(m)
		case <-stored.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// yield holds b back while r.opts.Busy reports other work, for at most
// MaxDefer after its first message arrived, adding what arrives meanwhile
// until it holds MaxBatch. A full batch goes at once: under load that
// lasts, holding full batches back would cap projection at MaxBatch
// events per MaxDefer, far below the arrival rate, and the read models
// would fall behind for as long as it lasts; a full batch is already the
// cheapest way to apply them. It returns false when ctx ends.
func (r *Runner) yield(ctx context.Context, b *batch, msgs <-chan jetstream.Msg, add func(jetstream.Msg)) bool {
	if r.opts.Busy == nil {
		return true
	}
	deadline := time.Now().Add(r.opts.MaxDefer)
	if len(b.events) > 0 {
		deadline = b.events[0].ReceivedAt.Add(r.opts.MaxDefer)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	if len(b.events) < r.opts.MaxBatch && r.opts.Busy() && time.Now().Before(deadline) {
		r.state.update(func(s *runnerState) { s.yielding = true })
		defer r.state.update(func(s *runnerState) { s.yielding = false })
	}
	for len(b.events) < r.opts.MaxBatch && r.opts.Busy() && time.Now().Before(deadline) {
		select {
		case m := <-msgs:
			add(m)
		case <-tick.C:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func newEvent(m jetstream.Msg, seq uint64, stored time.Time) *Event {
	return newEventFromParts(m.Subject(), m.Headers(), m.Data(), seq, stored)
}

func newEventFromParts(subject string, h nats.Header, data []byte, seq uint64, stored time.Time) *Event {
	ev := &Event{Seq: seq, Subject: subject, Header: h, Data: data, ReceivedAt: stored}
	if tenant, typ, ok := streams.ParseSubject(ev.Subject); ok {
		ev.Tenant, ev.Type = tenant, typ
	}
	if at, err := time.Parse(time.RFC3339Nano, h.Get(streams.HeaderOccurredAt)); err == nil {
		ev.ReceivedAt = at
	}
	return ev
}

// prepare runs Prepare over events on every core: decoding is most of the
// CPU a batch costs on our side. Between events a worker yields to the
// goroutines waiting to run (an API request, a webhook's ack): a batch of
// thousands, in a catch-up or a rebuild, would otherwise keep them waiting
// for the scheduler's 10 ms slices at every step.
func (r *Runner) prepare(events []*Event) {
	workers := runtime.GOMAXPROCS(0)
	if len(events) < 64 || workers == 1 {
		for _, ev := range events {
			r.prepareOne(ev)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (len(events) + workers - 1) / workers
	for start := 0; start < len(events); start += chunk {
		part := events[start:min(start+chunk, len(events))]
		wg.Go(func() {
			for _, ev := range part {
				r.prepareOne(ev)
				runtime.Gosched()
			}
		})
	}
	wg.Wait()
}

func (r *Runner) prepareOne(ev *Event) {
	defer func() {
		if p := recover(); p != nil {
			ev.prepErr = fmt.Errorf("prepare panicked: %v", p)
		}
	}()
	ev.prepErr = r.proj.Prepare(ev)
}

// commitWithRetry applies b until it commits, backing off while the database
// is unavailable. It fails only when ctx ends or the lock is lost.
func (r *Runner) commitWithRetry(ctx context.Context, b *batch, holder uint32) (uint64, []Notice, error) {
	wait := r.opts.MinBackoff
	retried := false
	defer func() {
		if retried {
			r.state.update(func(s *runnerState) { s.retrying, s.err = false, "" })
		}
	}()
	for {
		cp, notices, err := r.commitWithin(ctx, b, holder)
		if err == nil {
			return cp, notices, nil
		}
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		if errors.Is(err, errLostLock) || errors.Is(err, errCheckpointBack) {
			return 0, nil, err
		}
		r.log.Error("apply batch, will retry", "first_seq", firstSeq(b), "last_seq", b.lastSeq, "retry_in", wait, "err", err)
		retried = true
		r.state.update(func(s *runnerState) { s.retrying, s.err = true, err.Error() })
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
		wait = r.nextBackoff(wait, err)
	}
}

// commitTimeout bounds one attempt to apply a batch: far more than a batch
// takes, and what a database that answers nothing is given before the
// attempt is retried.
const commitTimeout = time.Minute

func (r *Runner) commitWithin(ctx context.Context, b *batch, holder uint32) (uint64, []Notice, error) {
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	return r.commit(ctx, b, holder)
}

func firstSeq(b *batch) uint64 {
	if len(b.events) == 0 {
		return b.lastSeq
	}
	return b.events[0].Seq
}

// commit applies the events of b above the checkpoint in one transaction
// together with the new checkpoint, and returns that checkpoint. An error is
// one the events are not to blame for (the database is away): the caller
// retries. A poison event is parked instead.
func (r *Runner) commit(ctx context.Context, b *batch, holder uint32) (uint64, []Notice, error) {
	cp, notices, err := r.commitTx(ctx, b, holder, false)
	if err == nil || !isPoison(err) {
		return cp, notices, err
	}
	r.log.Warn("batch failed, applying its events one by one to park the poison one",
		"first_seq", firstSeq(b), "last_seq", b.lastSeq, "err", err)
	return r.commitTx(ctx, b, holder, true)
}

func (r *Runner) commitTx(ctx context.Context, b *batch, holder uint32, oneByOne bool) (uint64, []Notice, error) {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	useFastUUID(tx.Conn().TypeMap())
	name := r.proj.Name()
	k1, k2 := r.lockKeys()
	locked, err := db.New(tx).LockCheckpoint(ctx, db.LockCheckpointParams{
		Name: name, HolderPid: int32(holder), Key1: int64(k1), Key2: int64(k2),
	})
	if err != nil {
		return 0, nil, fmt.Errorf("lock checkpoint: %w", err)
	}
	if !locked.Held {
		return 0, nil, errLostLock
	}
	cp := uint64(locked.LastSeq)
	r.mu.Lock()
	applied := r.applied
	r.mu.Unlock()
	if cp < applied {
		return 0, nil, errCheckpointBack
	}
	if b.lastSeq <= cp {
		return cp, nil, nil // a retry of a commit that went through though its answer was lost
	}
	// One pipeline for the whole batch: parked events, the checkpoint and
	// the projection's statements go to PostgreSQL together.
	p := newPipeline(tx)
	q := db.New(p)
	_ = q.ProjectorTxSettings(ctx) // queued, like everything below: errors come with the flush
	var todo []*Event
	for _, ev := range b.events {
		if ev.Seq <= cp {
			continue
		}
		if ev.prepErr != nil {
			_ = r.park(ctx, q, ev, ev.prepErr)
			continue
		}
		todo = append(todo, ev)
	}
	_ = q.SetCheckpoint(ctx, db.SetCheckpointParams{Name: name, LastSeq: int64(b.lastSeq)})
	var notices []Notice
	if !oneByOne {
		apply := r.proj.Apply
		if b, ok := r.proj.(BulkApplier); ok && r.opts.Bulk {
			apply = b.ApplyBulk
		}
		err = apply(ctx, p, todo, &notices)
		if err == nil {
			err = p.Flush(ctx)
		}
		if err != nil {
			return 0, nil, fmt.Errorf("project %s batch %d-%d: %w", name, firstSeq(b), b.lastSeq, err)
		}
	} else {
		if err := p.Flush(ctx); err != nil {
			return 0, nil, fmt.Errorf("start batch: %w", err)
		}
		for _, ev := range todo {
			if _, err := r.applyOne(ctx, tx, ev, &notices); err != nil {
				return 0, nil, err
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, nil, fmt.Errorf("commit: %w", err)
	}
	r.copied.Add(uint64(p.copied))
	return b.lastSeq, notices, nil
}

// applyOne applies one event inside a savepoint, parking it when it is
// poison, and tells whether it parked it. The error returned is one the
// event is not to blame for.
func (r *Runner) applyOne(ctx context.Context, tx pgx.Tx, ev *Event, notices *[]Notice) (parked bool, err error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	var mine []Notice
	p := newPipeline(sp)
	err = r.proj.Apply(ctx, p, []*Event{ev}, &mine)
	if err == nil {
		err = p.Flush(ctx)
	}
	if err == nil {
		if err := sp.Commit(ctx); err != nil {
			return false, fmt.Errorf("release savepoint: %w", err)
		}
		*notices = append(*notices, mine...)
		return false, nil
	}
	if rerr := sp.Rollback(ctx); rerr != nil {
		return false, fmt.Errorf("rollback to savepoint: %w", rerr)
	}
	if !isPoison(err) {
		return false, fmt.Errorf("project %s event %d: %w", r.proj.Name(), ev.Seq, err)
	}
	return true, r.park(ctx, db.New(tx), ev, err)
}

// park records ev as poison. Through a pipeline the error comes later, with
// the statements sent next.
func (r *Runner) park(ctx context.Context, q *db.Queries, ev *Event, cause error) error {
	r.log.Error("parked poison event", "seq", ev.Seq, "subject", ev.Subject, "err", cause)
	err := q.ParkEvent(ctx, db.ParkEventParams{
		Projector: r.proj.Name(),
		Seq:       int64(ev.Seq),
		Subject:   ev.Subject,
		Error:     cause.Error(),
	})
	if err != nil {
		return fmt.Errorf("park event %d: %w", ev.Seq, err)
	}
	return nil
}

// PoisonError marks an error as the event's own fault, so that the Runner
// parks the event instead of retrying it.
type PoisonError struct{ Err error }

// Error is the message of the underlying error.
func (e *PoisonError) Error() string { return e.Err.Error() }

// Unwrap gives errors.Is and errors.As the underlying error.
func (e *PoisonError) Unwrap() error { return e.Err }

// isPoison tells errors caused by the data of an event (retrying cannot help,
// parking can) from errors of the database or the network (retrying will
// help once it is back). PostgreSQL reports the former as data exceptions
// (class 22: a NUL byte in text, a bad time), integrity violations (23) and
// program limits (54: a value too big for an index). Cardinality violations
// (21: one statement touching a row twice) would be a merging bug of ours;
// they are treated alike because applying the events one by one avoids them.
func isPoison(err error) bool {
	var pe *PoisonError
	if errors.As(err, &pe) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && len(pgErr.Code) >= 2 {
		switch pgErr.Code[:2] {
		case "21", "22", "23", "54":
			return true
		}
	}
	return false
}

// notify announces committed changes on core NATS. It is fire-and-forget: a
// live client that misses one catches up from the read models by sequence.
func (r *Runner) notify(notices []Notice) {
	if r.nc == nil || r.opts.Quiet || len(notices) == 0 {
		return
	}
	buf := make([]byte, 0, 160)
	for _, n := range notices {
		buf = buf[:0]
		buf = append(buf, `{"seq":`...)
		buf = strconv.AppendInt(buf, n.Seq, 10)
		buf = append(buf, `,"id":"`...)
		buf = append(buf, n.ID.String()...)
		buf = append(buf, '"')
		if n.ConversationID != uuid.Nil {
			buf = append(buf, `,"conversation_id":"`...)
			buf = append(buf, n.ConversationID.String()...)
			buf = append(buf, '"')
		}
		buf = append(buf, '}')
		if err := r.nc.Publish(streams.LiveSubject(n.Tenant, n.Kind), buf); err != nil {
			r.log.Warn("live notification", "err", err)
			return
		}
	}
}
