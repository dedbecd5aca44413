package ops

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/projections"
)

// syncBuffer is a log a test reads while the code under test writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReplayRidesOutTransientErrors: a replay whose batch cannot take the
// projector's checkpoint row in time (another transaction holds it past
// the pool's lock_timeout: PostgreSQL's "lock timeout", as a stalled or
// busy database gives) retries the batch with backoff and finishes once
// the row is free, leaving the read models as they were; while the fault
// lasts longer than its retries, the job fails with the error.
func TestReplayRidesOutTransientErrors(t *testing.T) {
	e := mustEnv(t, projections.Inbox{})
	ctx := context.Background()
	last := history(t, e, uuid.NewString())
	wait(t, e.inbox, last)
	before := checksums(t, e.pool)

	// The inbox's code, re-projecting through a pool whose statements give
	// up waiting for a lock after 200 ms.
	cfg := e.pool.Config().Copy()
	cfg.ConnConfig.RuntimeParams["lock_timeout"] = "200ms"
	impatient, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(impatient.Close)
	reprojector := projections.NewRunner(impatient, e.js, projections.Inbox{}, nil, projections.Options{})
	holdCheckpoint := func(t *testing.T) (release func()) {
		tx, err := e.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM projector_checkpoints WHERE name = $1 FOR UPDATE`, projections.InboxName); err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		release = func() { once.Do(func() { _ = tx.Rollback(ctx) }) }
		t.Cleanup(release)
		return release
	}
	request := func(t *testing.T, s *Service) Job {
		job, err := s.RequestReplay(ctx, cli, ReplayRequest{Mode: ModeReproject})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the job is recorded", func() bool { _, err := s.GetReplay(ctx, cli, job.ID); return err == nil })
		return job
	}

	t.Run("a fault that passes", func(t *testing.T) {
		var logs syncBuffer
		s := e.service(Options{Projectors: []Reprojector{reprojector}, Rate: 1e6, Batch: 3, BatchRetries: 50,
			RetryWait: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		job := request(t, s)
		release := holdCheckpoint(t)
		ran := make(chan error, 1)
		go func() { _, err := s.RunJob(ctx, job.ID, nil); ran <- err }()
		eventually(t, "a batch retried after a lock timeout", func() bool {
			l := logs.String()
			return strings.Contains(l, "replay batch failed; retrying") && strings.Contains(l, "lock timeout")
		})
		release()
		if err := <-ran; err != nil {
			t.Fatalf("the job: %v", err)
		}
		var got Job
		eventually(t, "the job finished", func() bool {
			got, _ = s.GetReplay(ctx, cli, job.ID)
			return got.State == StateFinished
		})
		if got.Done != got.Matched || got.Error != "" {
			t.Errorf("job %+v", got)
		}
		if diff := diffSums(before, checksums(t, e.pool)); len(diff) != 0 {
			t.Errorf("tables changed by the replay: %v", diff)
		}
	})

	t.Run("a fault that lasts", func(t *testing.T) {
		s := e.service(Options{Projectors: []Reprojector{reprojector}, Rate: 1e6, Batch: 3, BatchRetries: 2, RetryWait: 10 * time.Millisecond})
		job := request(t, s)
		holdCheckpoint(t)
		if _, err := s.RunJob(ctx, job.ID, nil); err == nil || !strings.Contains(err.Error(), "lock timeout") ||
			!strings.Contains(err.Error(), "tried 3 times") {
			t.Fatalf("the job: %v, want the lock timeout after 3 tries", err)
		}
		eventually(t, "the job failed", func() bool {
			got, _ := s.GetReplay(ctx, cli, job.ID)
			return got.State == StateFailed && strings.Contains(got.Error, "lock timeout")
		})
	})
}
