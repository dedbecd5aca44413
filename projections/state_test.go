package projections

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

// mustPool connects to the database at url with the session settings
// params, closing the pool when the test ends.
func mustPool(tb testing.TB, url string, params map[string]string) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range params {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// awaitState waits until r's status is state, and returns it.
func awaitState(tb testing.TB, r *Runner, state RunnerState) RunnerStatus {
	tb.Helper()
	var st RunnerStatus
	await.Until(tb, 30*time.Second, "runner "+string(state), func() bool {
		st = r.Status()
		return st.State == state
	})
	return st
}

// TestRunnerStatus: a runner says what it does: stopped before Run and
// after; running; yielding while Busy holds a batch back; retrying, with
// PostgreSQL's error, while a batch cannot take the checkpoint row (held by
// another transaction past the pool's lock_timeout); standby while another
// runner holds the projector lock, then running once it is gone.
func TestRunnerStatus(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	e := mustEnvWith(t, mustPool(t, url, nil), streams.StreamOptions{})
	tenant := uuid.NewString()
	var busy atomic.Bool
	first := NewInbox(mustPool(t, url, map[string]string{"lock_timeout": "200ms"}), e.js, nil,
		Options{Busy: busy.Load, MaxDefer: time.Hour, MinBackoff: 10 * time.Millisecond})
	if st := first.Status(); st.State != RunnerStopped {
		t.Fatalf("before Run: %+v", st)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	var once sync.Once
	var runErr error
	stopFirst := func() error {
		once.Do(func() { stop(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = stopFirst() }) // before the pools close, should the test fail
	mustWait(t, first, e.publish(t, tenant, textWebhook("wamid.1", "16505551234", "", "one", 1739321000)))
	if st := awaitState(t, first, RunnerRunning); st.Since.IsZero() || st.Err != "" {
		t.Errorf("running: %+v", st)
	}

	busy.Store(true)
	seq := e.publish(t, tenant, textWebhook("wamid.2", "16505551234", "", "two", 1739321001))
	awaitState(t, first, RunnerYielding)
	busy.Store(false)
	mustWait(t, first, seq)
	awaitState(t, first, RunnerRunning)

	tx, err := e.pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(context.Background(), `SELECT 1 FROM projector_checkpoints WHERE name = $1 FOR UPDATE`, InboxName); err != nil {
		t.Fatal(err)
	}
	seq = e.publish(t, tenant, textWebhook("wamid.3", "16505551234", "", "three", 1739321002))
	if st := awaitState(t, first, RunnerRetrying); !strings.Contains(st.Err, "lock timeout") {
		t.Errorf("retrying: %+v, want PostgreSQL's lock timeout", st)
	}
	if cp, _ := first.Stats(); cp >= seq {
		t.Fatal("applied while the checkpoint row was held")
	}
	if err := tx.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustWait(t, first, seq)
	if st := awaitState(t, first, RunnerRunning); st.Err != "" {
		t.Errorf("running again: %+v", st)
	}

	second := NewInbox(e.pool, e.js, nil, Options{})
	e.run(t, second)
	awaitState(t, second, RunnerStandby)
	if err := stopFirst(); err != nil {
		t.Fatal(err)
	}
	if st := first.Status(); st.State != RunnerStopped {
		t.Errorf("after Run: %+v", st)
	}
	awaitState(t, second, RunnerRunning)
	mustWait(t, second, e.publish(t, tenant, textWebhook("wamid.4", "16505551234", "", "four", 1739321003)))
}

// TestRunnerStatusBackingOff: a session that ended with an error (here
// the checkpoint moved back under it) leaves the runner backing off, with
// the error, until the next session.
func TestRunnerStatusBackingOff(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	r := NewInbox(e.pool, e.js, nil, Options{MinBackoff: time.Hour})
	e.run(t, r)
	mustWait(t, r, e.publish(t, tenant, textWebhook("wamid.1", "16505551234", "", "one", 1739321000)))
	if _, err := e.pool.Exec(context.Background(), `UPDATE projector_checkpoints SET last_seq = 0`); err != nil {
		t.Fatal(err)
	}
	e.publish(t, tenant, textWebhook("wamid.2", "16505551234", "", "two", 1739321001))
	if st := awaitState(t, r, RunnerBackingOff); !strings.Contains(st.Err, errCheckpointBack.Error()) {
		t.Errorf("backing off: %+v", st)
	}
}
