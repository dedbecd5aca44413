package rebuild_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/rebuild"
)

// mustShadowSchemas counts the schemas rebuilds build in or retire to.
func (e *env) mustShadowSchemas(tb testing.TB) int {
	tb.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'wam\_rebuild\_%' OR nspname LIKE 'wam\_retired\_%'`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// holdShadow waits for the shadow tables of job id and takes a SHARE lock
// on its messages until the returned function is called: the shadow can
// write no more rows, nor be swapped in, meanwhile.
func (e *env) holdShadow(tb testing.TB, id uuid.UUID) func() {
	tb.Helper()
	ctx := context.Background()
	var messages string
	await.Until(tb, time.Minute, "the shadow tables", func() bool {
		err := e.pool.QueryRow(ctx, `SELECT r.shadow || '.messages' FROM rebuilds r
			WHERE r.id = $1 AND to_regclass(r.shadow || '.messages') IS NOT NULL`, id).Scan(&messages)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			tb.Fatal(err)
		}
		return err == nil
	})
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+messages+" IN SHARE MODE"); err != nil {
		tb.Fatal(err)
	}
	return func() { _ = tx.Rollback(ctx) }
}

// TestRebuildCancel: a rebuild cancelled before its end — by Cancel from
// another Service (as from another process: the request goes through its
// row), and by the context of Run (Ctrl-C on wam rebuild) — stops, drops
// its shadow schema, leaves the read models as they were and ends
// cancelled; a job that ended cannot be cancelled; List shows the jobs
// newest first. The test holds a lock on the shadow's messages, so that
// the rebuild cannot end before it is cancelled.
func TestRebuildCancel(t *testing.T) {
	e := mustEnv(t)
	before := e.mustOneTenant(t, "3001", 5, 3000)
	ctx := context.Background()
	svc := rebuild.New(e.pool, e.js, rebuild.Options{MaxBatch: 200})
	defer svc.Close()
	other := rebuild.New(e.pool, e.js, rebuild.Options{})
	defer other.Close()

	job, err := svc.Start(ctx, rebuild.Request{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	release := e.holdShadow(t, job.ID)
	asked, err := other.Cancel(ctx, job.ID)
	release()
	if err != nil || asked.CancelRequestedAt == nil || (asked.State != rebuild.StateRunning && asked.State != rebuild.StateSwapping) {
		t.Fatalf("Cancel = %+v, %v", asked, err)
	}
	await.Until(t, time.Minute, "the rebuild to stop", func() bool {
		j, err := other.Get(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		return j.FinishedAt != nil
	})
	if j, _ := other.Get(ctx, job.ID); j.State != rebuild.StateCancelled {
		t.Errorf("after Cancel: %+v; want cancelled", j)
	}
	if _, err := other.Cancel(ctx, job.ID); domain.ErrorCode(err) != domain.ErrConflict {
		t.Errorf("cancelling a cancelled job: %v; want a conflict", err)
	}
	if n := e.mustShadowSchemas(t); n != 0 {
		t.Errorf("%d shadow schemas left after Cancel", n)
	}

	// Run, its context cancelled on the way.
	runCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	done := make(chan struct{})
	var second rebuild.Job
	var runErr error
	go func() {
		defer close(done)
		second, runErr = svc.Run(runCtx, rebuild.Request{Actor: "test"}, nil)
	}()
	await.Until(t, time.Minute, "the second rebuild", func() bool {
		jobs, err := other.List(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs) == 2
	})
	jobs, _ := other.List(ctx, 10)
	release = e.holdShadow(t, jobs[0].ID)
	interrupt()
	release()
	<-done
	if second.ID != jobs[0].ID || second.State != rebuild.StateCancelled || !errors.Is(runErr, rebuild.ErrCancelled) {
		t.Errorf("Run interrupted: %+v, %v; want job %s cancelled", second, runErr, jobs[0].ID)
	}
	if n := e.mustShadowSchemas(t); n != 0 {
		t.Errorf("%d shadow schemas left after the interrupted Run", n)
	}
	if got := mustChecksums(t, e.pool); got != before {
		t.Errorf("read models after the cancelled rebuilds:\n%s\nbefore:\n%s", got, before)
	}
	if jobs, err := other.List(ctx, 1); err != nil || len(jobs) != 1 || jobs[0].ID != second.ID {
		t.Errorf("List(1) = %+v, %v; want the second job", jobs, err)
	}
	if jobs, err := other.List(ctx, 10); err != nil || len(jobs) != 2 || jobs[1].ID != job.ID {
		t.Errorf("List(10) = %+v, %v; want the second job, then the first", jobs, err)
	}

	// A job whose process stopped (it has not moved for a minute) ends
	// cancelled at once, its schemas dropped.
	var dead uuid.UUID
	if err := e.pool.QueryRow(ctx, `INSERT INTO rebuilds (id, projector, state, shadow, started_at, updated_at)
		VALUES (gen_random_uuid(), 'inbox', 'running', 'wam_rebuild_dead00000000', now() - interval '2 minutes', now() - interval '2 minutes')
		RETURNING id`).Scan(&dead); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `CREATE SCHEMA wam_rebuild_dead00000000`); err != nil {
		t.Fatal(err)
	}
	if j, err := other.Cancel(ctx, dead); err != nil || j.State != rebuild.StateCancelled || j.FinishedAt == nil {
		t.Errorf("cancelling a job nobody runs: %+v, %v; want it cancelled", j, err)
	}
	if n := e.mustShadowSchemas(t); n != 0 {
		t.Errorf("%d shadow schemas left after cancelling a job nobody runs", n)
	}

	// A job that is done cannot be cancelled.
	third, err := svc.Run(ctx, rebuild.Request{}, nil)
	if err != nil || third.State != rebuild.StateDone {
		t.Fatalf("a rebuild to its end: %+v, %v", third, err)
	}
	if _, err := other.Cancel(ctx, third.ID); domain.ErrorCode(err) != domain.ErrConflict {
		t.Errorf("cancelling a done job: %v; want a conflict", err)
	}
	if got := mustChecksums(t, e.pool); got != before {
		t.Errorf("read models after the rebuild:\n%s\nbefore:\n%s", got, before)
	}
}
