package rebuild_test

import (
	"context"
	"testing"
	"time"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/rebuild"
)

// TestSwapOutwaitsVacuum: autovacuum holds SHARE UPDATE EXCLUSIVE on a
// table it works on, and gives it up only to a request that has waited a
// second. Here another session holds that lock on the live messages, as
// autovacuum would, and lets go only once the swap waits for the same
// mode: a swap asking at once for its exclusive locks, with its half a
// second to get each, would fail attempt after attempt and, after the
// twentieth, the rebuild. While the swap waits, the API still reads the
// read models, and the rebuild ends done with them equal.
func TestSwapOutwaitsVacuum(t *testing.T) {
	e := mustEnv(t)
	before := e.mustOneTenant(t, "3101", 9, 300)
	ctx := context.Background()

	vacuum, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = vacuum.Rollback(ctx) }()
	if _, err := vacuum.Exec(ctx, "LOCK TABLE public.messages IN SHARE UPDATE EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	svc := rebuild.New(e.pool, e.js, rebuild.Options{})
	defer svc.Close()
	done := make(chan error, 1)
	var job rebuild.Job
	go func() {
		var err error
		job, err = svc.Run(ctx, rebuild.Request{Actor: "test"}, nil)
		done <- err
	}()
	await.Until(t, time.Minute, "the swap to wait for the vacuum's lock", func() bool {
		var waiting bool
		if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE relation = 'public.messages'::regclass AND mode = 'ShareUpdateExclusiveLock' AND NOT granted)`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		return waiting
	})
	// Readers pass the waiting swap: a read that had to wait would end
	// at its lock_timeout.
	reader, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := reader.Exec(ctx, "SET LOCAL lock_timeout = '200ms'"); err != nil {
		t.Fatal(err)
	}
	if err := reader.QueryRow(ctx, "SELECT count(*) FROM messages").Scan(&n); err != nil || n == 0 {
		t.Errorf("reading messages while the swap waits: %d rows, %v", n, err)
	}
	_ = reader.Rollback(ctx)
	if err := vacuum.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil || job.State != rebuild.StateDone {
		t.Fatalf("rebuild: %+v, %v; want it done", job, err)
	}
	if got := mustChecksums(t, e.pool); got != before {
		t.Errorf("read models after the rebuild:\n%s\nbefore:\n%s", got, before)
	}
}
