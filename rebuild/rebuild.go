// Package rebuild builds the read models again from the stream while the
// API keeps answering from the current ones: into shadow tables of a schema
// of their own, by the projector's own code, then swapped in atomically.
// The API (POST /api/ops/rebuilds) and the CLI (wam rebuild) call it.
package rebuild

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
	"github.com/wam-project/wam/streams"
)

// States of a job.
const (
	StateRunning   = "running"  // the shadow is being built
	StateSwapping  = "swapping" // caught up: being swapped in
	StateDone      = "done"
	StateFailed    = "failed"
	StateCancelled = "cancelled" // stopped on request (Cancel, or the caller's context): shadow dropped, read models as they were
)

// ErrCancelled is what Run returns for a job cancelled (by Cancel, or by
// the context Run was given).
var ErrCancelled = errors.New("cancelled")

// errCancelled is the cause of a job's context cancelled by Cancel;
// errShutdown of those Close stops.
var (
	errCancelled = ErrCancelled
	errShutdown  = errors.New("the server stopped")
)

// Options tunes a Service; the zero value suits production.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Busy, when set, tells the shadow projector that acknowledging
	// webhooks needs the machine (projections.Options.Busy).
	Busy func() bool
	// MaxBatch is the most events the shadow applies in one transaction;
	// default 10000. The shadow writes the bulk way
	// (projections.Options.Bulk), where a larger batch has more of its
	// rows new, to copy in, and fewer to merge with an earlier batch's;
	// but the next batch is decoded while one is written, and up to twice
	// MaxBatch events are held in memory. (Through the upsert statements
	// alone, batches of 10000 had been slower than the live projector's
	// 2000.)
	MaxBatch int
	// Every is how often progress is written; default 1 s.
	Every time.Duration
	// Projection is the inbox projection the shadow runs, as the live
	// projector does (with its tombstones of erased contacts); default
	// projections.Inbox{}.
	Projection projections.Projection
}

// Service runs rebuilds.
type Service struct {
	pool *pgxpool.Pool
	js   jetstream.JetStream
	log  *slog.Logger
	now  func() time.Time
	opts Options

	// bg is the context of rebuilds started in the background (Start);
	// Close cancels it and waits for them.
	bg     context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[uuid.UUID]context.CancelCauseFunc // jobs of this process, for Cancel
}

// New returns a Service writing through pool and reading js.
func New(pool *pgxpool.Pool, js jetstream.JetStream, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 10000
	}
	if opts.Every <= 0 {
		opts.Every = time.Second
	}
	bg, cancel := context.WithCancelCause(context.Background())
	return &Service{pool: pool, js: js, log: opts.Logger.With("area", "rebuild"), now: opts.Now, opts: opts, bg: bg, cancel: cancel,
		running: map[uuid.UUID]context.CancelCauseFunc{}}
}

// Close stops the rebuilds running in the background; they are recorded
// failed and their shadow tables dropped.
func (s *Service) Close() {
	s.cancel(errShutdown)
	s.wg.Wait()
}

// Request asks for a rebuild.
type Request struct {
	// Projector is the projector whose read models are rebuilt; "" is
	// the inbox, the only one.
	Projector string
	// Tenant, when set, rebuilds only that tenant's rows from its own
	// history; otherwise every read-model table is rebuilt and swapped.
	Tenant *uuid.UUID
	// Actor says who asked, for the job's record.
	Actor string
}

// Job is a rebuild as its record shows it.
type Job struct {
	ID         uuid.UUID
	Projector  string
	Tenant     *uuid.UUID
	State      string
	Checkpoint uint64 // stream sequence the shadow has reached
	EventsDone uint64 // events the shadow has applied
	EventsLeft uint64 // the projector's events stored after the checkpoint
	EventsPerS float64
	ETA        *time.Duration // while running, at the rate so far
	Error      string
	StartedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
	// CancelRequestedAt is when Cancel was asked for; the job stops at its
	// next step.
	CancelRequestedAt *time.Time
}

func jobOf(r db.Rebuild) Job {
	j := Job{ID: r.ID, Projector: r.Projector, Tenant: r.TenantID, State: r.State, Checkpoint: uint64(r.Checkpoint),
		EventsDone: uint64(r.EventsDone), EventsLeft: uint64(r.EventsLeft), Error: r.Error,
		StartedAt: r.StartedAt, UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt, CancelRequestedAt: r.CancelRequestedAt}
	end := r.UpdatedAt
	if r.FinishedAt != nil {
		end = *r.FinishedAt
	}
	if secs := end.Sub(r.StartedAt).Seconds(); secs > 0 {
		j.EventsPerS = float64(r.EventsDone) / secs
	}
	if (j.State == StateRunning || j.State == StateSwapping) && j.EventsPerS > 0 {
		eta := time.Duration(float64(j.EventsLeft) / j.EventsPerS * float64(time.Second))
		j.ETA = &eta
	}
	return j
}

// staleAfter is how long a running job may go without progress before a
// new request takes it for dead (its process stopped).
const staleAfter = time.Minute

// opTimeout bounds each of the service's own short statements.
const opTimeout = 5 * time.Second

// Start validates r, records the job and runs it in the background; Get
// shows its progress.
func (s *Service) Start(ctx context.Context, r Request) (Job, error) {
	row, proj, err := s.create(ctx, r)
	if err != nil {
		return Job{}, err
	}
	s.wg.Go(func() { _, _ = s.execute(s.bg, row, proj, nil) })
	return jobOf(row), nil
}

// Run validates r, records the job and runs it to its end, calling
// progress (when set) with the job about once a second. A ctx cancelled
// meanwhile cancels the job (as Cancel does): it ends cancelled.
func (s *Service) Run(ctx context.Context, r Request, progress func(Job)) (Job, error) {
	row, proj, err := s.create(ctx, r)
	if err != nil {
		return Job{}, err
	}
	return s.execute(ctx, row, proj, progress)
}

// Get is the job id.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Job, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	row, err := db.New(s.pool).GetRebuild(ctx, id)
	if err != nil {
		return Job{}, dberr.NotFound(err, "rebuild")
	}
	return jobOf(row), nil
}

// List is the newest limit jobs, newest first.
func (s *Service) List(ctx context.Context, limit int) ([]Job, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	rows, err := db.New(s.pool).ListRebuilds(ctx, int32(limit))
	if err != nil {
		return nil, dberr.Translate(err)
	}
	jobs := make([]Job, 0, len(rows))
	for _, r := range rows {
		jobs = append(jobs, jobOf(r))
	}
	return jobs, nil
}

// Cancel asks the job id to stop, whichever process runs it: it stops at
// its next step (a batch of the shadow, the swap), its shadow schema is
// dropped, the read models stay as they are, and it ends cancelled. A job
// that has not moved for staleAfter (its process stopped) ends cancelled
// at once. A job that has ended already is a conflict; a swap that
// committed has ended.
func (s *Service) Cancel(ctx context.Context, id uuid.UUID) (Job, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	q := db.New(s.pool)
	row, err := q.RequestRebuildCancel(ctx, db.RequestRebuildCancelParams{ID: id, Now: s.now()})
	if errors.Is(err, pgx.ErrNoRows) {
		old, gerr := q.GetRebuild(ctx, id)
		if gerr != nil {
			return Job{}, dberr.NotFound(gerr, "rebuild")
		}
		return Job{}, domain.Errorf(domain.ErrConflict, "the rebuild is %s already", old.State)
	}
	if err != nil {
		return Job{}, dberr.Translate(err)
	}
	s.mu.Lock()
	stop, here := s.running[id]
	if here {
		stop(errCancelled)
	}
	s.mu.Unlock()
	if !here && s.now().Sub(row.UpdatedAt) >= staleAfter {
		// Nobody runs it any more (its process stopped): it ends now.
		now := s.now()
		if err := q.FinishRebuild(ctx, db.FinishRebuildParams{ID: id, State: StateCancelled, Checkpoint: row.Checkpoint,
			EventsDone: row.EventsDone, EventsLeft: row.EventsLeft, Error: "abandoned: the process running it stopped", Now: now}); err != nil {
			return Job{}, dberr.Translate(err)
		}
		s.dropSchemas(ctx, s.log, row.Shadow, retired(row.Shadow))
		row.State, row.Error, row.UpdatedAt, row.FinishedAt = StateCancelled, "abandoned: the process running it stopped", now, &now
	}
	return jobOf(row), nil
}

func (s *Service) create(ctx context.Context, r Request) (db.Rebuild, projections.Projection, error) {
	if r.Projector == "" {
		r.Projector = projections.InboxName
	}
	if r.Projector != projections.InboxName {
		return db.Rebuild{}, nil, domain.Errorf(domain.ErrInvalid, "projector: no projector %q; there is one: %s", r.Projector, projections.InboxName)
	}
	proj := s.opts.Projection
	if proj == nil {
		proj = projections.Inbox{}
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	q := db.New(s.pool)
	if r.Tenant != nil {
		if _, err := q.GetTenant(ctx, *r.Tenant); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return db.Rebuild{}, nil, domain.Errorf(domain.ErrInvalid, "tenant_id: no tenant %s", *r.Tenant)
			}
			return db.Rebuild{}, nil, dberr.Translate(err)
		}
		proj = tenantOnly{Projection: proj, tenant: r.Tenant.String()}
	}
	if err := s.clearStale(ctx, q, r.Projector); err != nil {
		return db.Rebuild{}, nil, err
	}
	id := uuid.New()
	row, err := q.CreateRebuild(ctx, db.CreateRebuildParams{
		ID: id, Projector: r.Projector, TenantID: r.Tenant, Shadow: "wam_rebuild_" + strings.ReplaceAll(id.String(), "-", "")[:12],
		RequestedBy: r.Actor, Now: s.now(),
	})
	if dberr.Is(err, pgerrcode.UniqueViolation) {
		return db.Rebuild{}, nil, domain.Errorf(domain.ErrConflict, "a rebuild of %s is running already", r.Projector)
	}
	if err != nil {
		return db.Rebuild{}, nil, dberr.Translate(err)
	}
	return row, proj, nil
}

// clearStale records a running job that has not moved for staleAfter as
// failed (the process that ran it is gone) and drops the schemas no
// running job owns.
func (s *Service) clearStale(ctx context.Context, q *db.Queries, projector string) error {
	old, err := q.RunningRebuild(ctx, projector)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return dberr.Translate(err)
	case s.now().Sub(old.UpdatedAt) < staleAfter:
		return domain.Errorf(domain.ErrConflict, "a rebuild of %s is running already (%s)", projector, old.ID)
	default:
		if err := q.FinishRebuild(ctx, db.FinishRebuildParams{ID: old.ID, State: StateFailed, Checkpoint: old.Checkpoint,
			EventsDone: old.EventsDone, EventsLeft: old.EventsLeft, Error: "abandoned: the process running it stopped", Now: s.now()}); err != nil {
			return dberr.Translate(err)
		}
	}
	schemas, err := q.ShadowSchemas(ctx)
	if err != nil {
		return dberr.Translate(err)
	}
	for _, schema := range schemas {
		if _, err := s.pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident(schema)+" CASCADE"); err != nil {
			return dberr.Translate(err)
		}
	}
	return nil
}

// tenantOnly is a projection restricted to one tenant's history.
type tenantOnly struct {
	projections.Projection
	tenant string
}

// ApplyBulk applies the bulk way when the projection can.
func (t tenantOnly) ApplyBulk(ctx context.Context, q db.DBTX, events []*projections.Event, notices *[]projections.Notice) error {
	if b, ok := t.Projection.(projections.BulkApplier); ok {
		return b.ApplyBulk(ctx, q, events, notices)
	}
	return t.Apply(ctx, q, events, notices)
}

// Subjects are the projection's subjects of the tenant.
func (t tenantOnly) Subjects() []string {
	var out []string
	for _, subj := range t.Projection.Subjects() {
		if rest, ok := strings.CutPrefix(subj, "wam.*."); ok {
			out = append(out, "wam."+t.tenant+"."+rest)
		}
	}
	return out
}

// progress is what execute knows of its job.
type progress struct {
	row  db.Rebuild
	stop func(Job)
}

// execute runs the job and records how it ended.
func (s *Service) execute(ctx context.Context, row db.Rebuild, proj projections.Projection, report func(Job)) (Job, error) {
	log := s.log.With("rebuild", row.ID, "projector", row.Projector)
	if row.TenantID != nil {
		log = log.With("tenant", *row.TenantID)
	}
	log.Info("rebuild started")
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	s.mu.Lock()
	s.running[row.ID] = stop
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, row.ID)
		s.mu.Unlock()
	}()
	p := &progress{row: row, stop: report}
	err := s.build(ctx, log, p, proj)
	state, msg := StateDone, ""
	switch {
	case err == nil:
		log.Info("rebuild done", "events", p.row.EventsDone, "checkpoint", p.row.Checkpoint)
	case errors.Is(err, errCancelled) || ctx.Err() != nil && !errors.Is(context.Cause(ctx), errShutdown):
		state, msg, err = StateCancelled, "", errCancelled
		log.Info("rebuild cancelled", "events", p.row.EventsDone, "checkpoint", p.row.Checkpoint)
	default:
		if cause := context.Cause(ctx); errors.Is(cause, errShutdown) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		state, msg = StateFailed, err.Error()
		log.Error("rebuild failed", "err", err)
	}
	cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	s.dropSchemas(cleanCtx, log, row.Shadow, retired(row.Shadow))
	p.row.State, p.row.Error = state, msg
	now := s.now()
	p.row.UpdatedAt, p.row.FinishedAt = now, &now
	if ferr := db.New(s.pool).FinishRebuild(cleanCtx, db.FinishRebuildParams{ID: row.ID, State: state, Checkpoint: p.row.Checkpoint,
		EventsDone: p.row.EventsDone, EventsLeft: p.row.EventsLeft, Error: msg, Now: now}); ferr != nil {
		log.Error("record the rebuild's end", "err", ferr)
	}
	job := jobOf(p.row)
	if report != nil {
		report(job)
	}
	if err != nil {
		return job, fmt.Errorf("rebuild %s: %w", row.ID, err)
	}
	return job, nil
}

func retired(shadow string) string { return strings.Replace(shadow, "wam_rebuild_", "wam_retired_", 1) }

func (s *Service) dropSchemas(ctx context.Context, log *slog.Logger, schemas ...string) {
	for _, schema := range schemas {
		if _, err := s.pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident(schema)+" CASCADE"); err != nil {
			log.Error("drop schema", "schema", schema, "err", err)
		}
	}
}

// build makes the shadow, fills it, and swaps it in.
func (s *Service) build(ctx context.Context, log *slog.Logger, p *progress, proj projections.Projection) error {
	shadow := p.row.Shadow
	ddl, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer ddl.Release()
	shapes, err := readShapes(ctx, db.New(ddl))
	if err != nil {
		return err
	}
	if err := createShadow(ctx, ddl.Conn(), shadow, shapes); err != nil {
		return fmt.Errorf("create the shadow tables: %w", err)
	}

	// The shadow projector writes through connections whose search path
	// puts the shadow schema first: the projector's statements name their
	// tables unqualified, so they write the shadow's, and find what is not
	// shadowed (parked events, configuration) in public.
	pcfg := s.pool.Config().Copy()
	pcfg.ConnConfig.RuntimeParams["search_path"] = ident(shadow) + ", public"
	// Batches of the bulk path are large: room to sort and hash them in
	// memory, and to build the indexes.
	pcfg.ConnConfig.RuntimeParams["work_mem"] = "64MB"
	pcfg.ConnConfig.RuntimeParams["maintenance_work_mem"] = "256MB"
	pcfg.MaxConns = 4
	spool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("connect for the shadow: %w", err)
	}
	defer spool.Close()
	runner := projections.NewRunner(spool, s.js, proj, log, projections.Options{
		MaxBatch: s.opts.MaxBatch, LockName: "rebuild:" + proj.Name(), Quiet: true, Busy: s.opts.Busy, Bulk: true,
	})
	// The shadow is finished once the events stored are in (a few may
	// come meanwhile), and swapped in once it is about a live batch from
	// the head: the rest is the swap's to apply, the live runner waiting
	// meanwhile.
	const caughtUp, near = 200, 2000

	stopRunner := s.startRunner(ctx, runner)
	defer func() { stopRunner() }()
	if err := s.follow(ctx, p, runner, proj, caughtUp); err != nil {
		return err
	}
	log.Info("shadow caught up; building its other indexes", "took", time.Since(p.row.StartedAt), "rows_copied", runner.Copied())
	finishing := time.Now()
	if err := finishShadow(ctx, spool, shadow, shapes); err != nil {
		return fmt.Errorf("finish the shadow tables: %w", err)
	}
	log.Info("shadow finished", "took", time.Since(finishing))
	for attempt := 1; ; attempt++ {
		if err := s.follow(ctx, p, runner, proj, near); err != nil {
			return err
		}
		stopRunner()
		p.row.State = StateSwapping
		s.record(ctx, p, runner)
		swapped, err := s.swap(ctx, log, p, runner, proj)
		if swapped || err != nil {
			return err
		}
		if attempt == 20 {
			return errors.New("could not take the read models' locks for the swap in 20 attempts")
		}
		p.row.State = StateRunning
		stopRunner = s.startRunner(ctx, runner)
	}
}

// startRunner runs r until the returned function is called, which waits
// for it to stop.
func (s *Service) startRunner(ctx context.Context, r *projections.Runner) func() {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(rctx); err != nil {
			s.log.Error("shadow projector", "err", err)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// follow records progress until the shadow has at most near events left.
// It looks every 100 ms, so that the next step does not wait for the next
// record of progress (every Options.Every).
func (s *Service) follow(ctx context.Context, p *progress, r *projections.Runner, proj projections.Projection, near uint64) error {
	tick := time.NewTicker(min(s.opts.Every, 100*time.Millisecond))
	defer tick.Stop()
	var recorded time.Time
	for {
		if err := s.cancelRequested(ctx, p.row.ID); err != nil {
			return err
		}
		left, err := s.left(ctx, r, proj)
		if err != nil {
			return err
		}
		p.row.EventsLeft = int64(left)
		if left <= near || time.Since(recorded) >= s.opts.Every {
			s.record(ctx, p, r)
			recorded = time.Now()
		}
		if left <= near {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// cancelRequested is errCancelled once Cancel was asked for the job,
// perhaps by another process.
func (s *Service) cancelRequested(ctx context.Context, id uuid.UUID) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	asked, err := db.New(s.pool).RebuildCancelRequested(ctx, id)
	if err != nil {
		return fmt.Errorf("look for a cancel request: %w", err)
	}
	if asked {
		return errCancelled
	}
	return nil
}

// left counts the projection's events stored after r's checkpoint, with a
// consumer made for the purpose.
func (s *Service) left(ctx context.Context, r *projections.Runner, proj projections.Projection) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	cp, _ := r.Stats()
	c, err := s.js.CreateConsumer(ctx, streams.StreamName, jetstream.ConsumerConfig{
		FilterSubjects: proj.Subjects(), DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: cp + 1,
		AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: 10 * time.Second, MemoryStorage: true,
	})
	if err != nil {
		return 0, fmt.Errorf("count the events left: %w", err)
	}
	info := c.CachedInfo()
	if err := s.js.DeleteConsumer(ctx, streams.StreamName, info.Name); err != nil {
		s.log.Debug("delete counting consumer", "err", err)
	}
	return info.NumPending, nil
}

// record writes the job's progress; a failure to is only logged.
func (s *Service) record(ctx context.Context, p *progress, r *projections.Runner) {
	cp, n := r.Stats()
	if cp > uint64(p.row.Checkpoint) {
		p.row.Checkpoint = int64(cp)
	}
	p.row.EventsDone = max(p.row.EventsDone, int64(n))
	p.row.UpdatedAt = s.now()
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := db.New(s.pool).UpdateRebuildProgress(ctx, db.UpdateRebuildProgressParams{ID: p.row.ID, State: p.row.State,
		Checkpoint: p.row.Checkpoint, EventsDone: p.row.EventsDone, EventsLeft: p.row.EventsLeft, Now: p.row.UpdatedAt}); err != nil {
		s.log.Warn("record rebuild progress", "err", err)
	}
	if p.stop != nil {
		p.stop(jobOf(p.row))
	}
}
