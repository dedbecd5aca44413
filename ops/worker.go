package ops

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
)

// Nudge asks the worker to look for jobs now. It never blocks.
func (s *Service) Nudge() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

// Run runs requested replay jobs until ctx ends: it looks every 2 s, and
// at once when nudged. Every process of `wam serve` runs it; a lock per job
// in PostgreSQL makes one of them (or a `wam replay` at the CLI) run each
// job, and a job whose runner died is taken over, from its last progress.
func (s *Service) Run(ctx context.Context) {
	for {
		jobs, err := s.openJobs(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("replay jobs", "err", err)
		}
		for _, id := range jobs {
			if _, err := s.RunJob(ctx, id, nil); err != nil && ctx.Err() == nil {
				s.log.Warn("replay job", "job_id", id, "err", err)
			}
		}
		t := time.NewTimer(2 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.nudge:
		case <-t.C:
		}
		t.Stop()
	}
}

func (s *Service) openJobs(ctx context.Context) ([]uuid.UUID, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rows, err := s.q.OpenReplayJobs(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids, nil
}

// Progress is called by RunJob after each batch with the job as it stands.
type Progress func(Job)

// RunJob runs job id unless another runner holds it (ran false), reporting
// progress to progress (may be nil). It returns when the job has finished,
// failed or been cancelled, or ctx ends.
func (s *Service) RunJob(ctx context.Context, id uuid.UUID, progress Progress) (ran bool, err error) {
	conn, err := s.lockJob(ctx, id)
	if err != nil || conn == nil {
		return false, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	j, err := s.loadJob(ctx, id)
	if err != nil {
		return true, err
	}
	if j.State != StateRequested && j.State != StateRunning {
		return true, nil
	}
	r := &jobRun{s: s, job: j, progress: progress, started: time.Now(), startDone: j.Done}
	switch j.Mode {
	case ModeReproject:
		err = r.reproject(ctx)
	case ModeAdoptUnrouted:
		err = r.adopt(ctx)
	default:
		err = fmt.Errorf("mode %q", j.Mode)
	}
	switch {
	case errors.Is(err, errCancelled):
		return true, nil
	case ctx.Err() != nil:
		return true, ctx.Err() // the next runner resumes from the last progress
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	fin := jobEvent{JobID: j.ID, TenantID: j.TenantID, Matched: r.job.Matched, Done: r.job.Done, Cursor: r.job.Cursor, Error: msg}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, perr := s.publishJob(pctx, Actor{}, TypeReplayFinished, fin, s.now()); perr != nil {
		return true, errors.Join(err, perr)
	}
	r.job.State, r.job.Error = StateFinished, msg
	if err != nil {
		r.job.State = StateFailed
	}
	if progress != nil {
		progress(r.job)
	}
	return true, err
}

// lockJob takes the job's lock on a connection of its own; nil when
// another runner holds it.
func (s *Service) lockJob(ctx context.Context, id uuid.UUID) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect for the job lock: %w", err)
	}
	h := fnv.New32a()
	h.Write(id[:])
	ok, err := db.New(conn).TryLockProjector(cctx, db.TryLockProjectorParams{Key1: 0x77616d01, Key2: int32(h.Sum32() & 0x7fffffff)})
	if err != nil || !ok {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

func (s *Service) loadJob(ctx context.Context, id uuid.UUID) (Job, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	row, err := s.q.GetReplayJob(ctx, id)
	if err != nil {
		return Job{}, fmt.Errorf("job %s: %w", id, err)
	}
	return jobOf(row)
}

var errCancelled = errors.New("replay cancelled")

// jobRun is one run of a job.
type jobRun struct {
	s         *Service
	job       Job
	progress  Progress
	started   time.Time
	startDone int64
	reported  time.Time
}

// checkpoint reports progress: an event at most every second (and at
// the end), the callback after every batch. It also sees a cancellation.
func (r *jobRun) checkpoint(ctx context.Context, force bool) error {
	if el := time.Since(r.started).Seconds(); el > 0 {
		r.job.Rate = float64(r.job.Done-r.startDone) / el
	}
	r.job.State = StateRunning
	if r.progress != nil {
		r.progress(r.job)
	}
	if !force && time.Since(r.reported) < time.Second {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cur, err := r.s.loadJob(cctx, r.job.ID)
	if err != nil {
		return err
	}
	if cur.State == StateCancelled {
		r.job.State = StateCancelled
		if r.progress != nil {
			r.progress(r.job)
		}
		return errCancelled
	}
	ev := jobEvent{JobID: r.job.ID, TenantID: r.job.TenantID, Matched: r.job.Matched, Done: r.job.Done, Rate: r.job.Rate, Cursor: r.job.Cursor}
	if _, err = r.s.publishJob(cctx, Actor{}, TypeReplayProgress, ev, r.s.now()); err != nil {
		return err
	}
	r.reported = time.Now()
	return nil
}

// pace waits until the job may go on: at most Rate events per second
// since it started, and not while live traffic keeps the machine busy.
func (r *jobRun) pace(ctx context.Context) error {
	due := r.started.Add(time.Duration(float64(r.job.Done-r.startDone) / r.s.opts.Rate * float64(time.Second)))
	for {
		wait := time.Until(due)
		busy := r.s.opts.Busy != nil && r.s.opts.Busy()
		if wait <= 0 && !busy {
			return nil
		}
		if busy {
			wait = max(wait, 20*time.Millisecond)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// sleep waits d, or until ctx ends (its error then).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reproject applies the selected webhooks again through the inbox
// projector, a batch at a time, in stream order, from the job's cursor.
func (r *jobRun) reproject(ctx context.Context) error {
	proj, err := r.s.projector(projections.InboxName)
	if err != nil {
		return err
	}
	stream, err := r.s.stream(ctx)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	p := selectionParams(r.job.Selection)
	if err := r.retrying(ctx, func() error { return r.checkpoint(ctx, true) }); err != nil {
		return err
	}
	for {
		if err := r.pace(ctx); err != nil {
			return err
		}
		var seqs []int64
		err := r.retrying(ctx, func() (err error) {
			seqs, err = r.batch(ctx, proj, stream, p)
			return err
		})
		if err != nil {
			return err
		}
		if len(seqs) == 0 {
			return r.retrying(ctx, func() error { return r.checkpoint(ctx, true) })
		}
		r.job.Done += int64(len(seqs))
		r.job.Cursor = uint64(seqs[len(seqs)-1])
		if err := r.retrying(ctx, func() error { return r.checkpoint(ctx, false) }); err != nil {
			return err
		}
	}
}

// batch re-projects the job's next page of webhooks after its cursor and
// returns their sequences (none: the job is done). It changes nothing of
// the job, so that a batch that failed can be run again as it was.
func (r *jobRun) batch(ctx context.Context, proj Reprojector, stream jetstream.Stream, p db.WebhookSelectionPageParams) ([]int64, error) {
	p.After, p.Lim = int64(r.job.Cursor), int32(r.s.opts.Batch)
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	var seqs []int64
	err := r.s.readFiltered(qctx, Actor{CLI: true}, func(q *db.Queries) (err error) {
		seqs, err = q.WebhookSelectionPage(qctx, p)
		return err
	})
	cancel()
	if err != nil || len(seqs) == 0 {
		return nil, err
	}
	events := make([]*projections.Event, 0, len(seqs))
	for _, seq := range seqs {
		gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := stream.GetMsg(gctx, uint64(seq))
		cancel()
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // erased or past retention: nothing to apply
		}
		if err != nil {
			return nil, fmt.Errorf("read event %d: %w", seq, err)
		}
		events = append(events, projections.EventFromStream(m))
	}
	if err := r.whenApplied(ctx, proj, uint64(seqs[len(seqs)-1])); err != nil {
		return nil, err
	}
	if _, err := proj.Reproject(ctx, events); err != nil {
		return nil, err
	}
	return seqs, nil
}

// retrying runs step, and again after an error of the moment (PostgreSQL
// or NATS away, a timeout, a lock not granted in time), at most
// BatchRetries times, waiting RetryWait and then twice as long each time,
// up to 10 s. A cancellation of the job, the end of ctx and a refusal
// (a domain.Error) end it at once.
func (r *jobRun) retrying(ctx context.Context, step func() error) error {
	wait := r.s.opts.RetryWait
	for retry := 1; ; retry++ {
		err := step()
		if err == nil || ctx.Err() != nil || errors.Is(err, errCancelled) || errors.As(err, new(*domain.Error)) {
			return err
		}
		if retry > r.s.opts.BatchRetries {
			return fmt.Errorf("%w (tried %d times)", err, retry)
		}
		r.s.log.Warn("replay batch failed; retrying", "job_id", r.job.ID, "retry", retry, "retry_in", wait, "err", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// whenApplied waits until the projector has applied seq itself: a webhook
// it has still to apply is not the replay's to apply first.
func (r *jobRun) whenApplied(ctx context.Context, proj Reprojector, seq uint64) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cp, err := proj.Checkpoint(cctx)
		cancel()
		if err != nil {
			return err
		}
		if cp >= seq {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// adopt runs adoption passes until one adopts nothing more.
func (r *jobRun) adopt(ctx context.Context) error {
	if r.s.opts.Adopter == nil {
		return errors.New("no adopter in this process")
	}
	if err := r.retrying(ctx, func() error { return r.checkpoint(ctx, true) }); err != nil {
		return err
	}
	for {
		var n int
		err := r.retrying(ctx, func() (err error) {
			if n, err = r.s.opts.Adopter.Pass(ctx); err != nil {
				return fmt.Errorf("adoption pass: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		r.job.Done += int64(n)
		if n == 0 {
			return r.retrying(ctx, func() error { return r.checkpoint(ctx, true) })
		}
		if err := r.retrying(ctx, func() error { return r.checkpoint(ctx, false) }); err != nil {
			return err
		}
	}
}
