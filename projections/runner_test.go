package projections

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"

	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
	"github.com/wam-project/wam/supervisor"
)

// TestRunnerCrashAfterCommit: the first runner commits a batch and dies at
// once, before anything outside PostgreSQL learns of the commit (what a
// crash between commit and ack was when runners acked a durable consumer);
// the next runner must not apply the batch again, and goes on.
func TestRunnerCrashAfterCommit(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()

	crashed := NewInbox(e.pool, e.js, nil, Options{})
	crashed.afterCommit = func(uint64) bool { return true }
	seq := e.publish(t, tenant, mustTestdata(t, "text"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := crashed.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if cp, err := crashed.Checkpoint(ctx); err != nil || cp != seq {
		t.Fatalf("checkpoint after the crash %d (%v), want %d", cp, err, seq)
	}

	r := e.start(t, Options{})
	seq2 := e.publish(t, tenant, textWebhook("wamid.NEXT", "16505551234", "", "next", 1739329999))
	mustWait(t, r, seq2)
	if c := e.mustConversation(t, tenant); c.Unread != 2 {
		t.Errorf("unread %d, want 2", c.Unread)
	}
}

// TestRunnerParksPoisonEvent: an event PostgreSQL refuses is parked with its
// error; the events around it in the same batch are applied and the
// projector goes on. (Values PostgreSQL cannot store are made storable in
// Prepare, see makeStorable; a wamid of kilobytes of noise is still too long
// for the unique index on wamids, SQLSTATE 54000.)
func TestRunnerParksPoisonEvent(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	e.publish(t, tenant, textWebhook("wamid.GOOD1", "16505551234", "", "one", 1739321000))
	noise := make([]byte, 6000)
	rand.NewChaCha8([32]byte{}).Read(noise)
	poisonID := "wamid." + base64.RawURLEncoding.EncodeToString(noise)
	poison := e.publish(t, tenant, textWebhook(poisonID, "16505551234", "", "too long an id", 1739321001))
	notUUID := e.publish(t, "not-a-uuid", mustTestdata(t, "text"))
	good2 := e.publish(t, tenant, textWebhook("wamid.GOOD2", "16505551234", "", "two", 1739321002))
	// Started after publishing, so that all four share a batch.
	r := e.start(t, Options{})
	mustWait(t, r, good2)

	for _, w := range []string{"wamid.GOOD1", "wamid.GOOD2"} {
		e.mustMessage(t, tenant, w)
	}
	if _, ok := e.message(t, tenant, poisonID); ok {
		t.Error("poison message projected")
	}
	if n := e.count(t, `SELECT count(*) FROM webhook_log WHERE seq = $1`, int64(poison)); n != 0 {
		t.Error("a parked event left a webhook_log row: it must have no effect at all")
	}
	if c := e.mustConversation(t, tenant); c.Unread != 2 {
		t.Errorf("unread %d, want 2", c.Unread)
	}
	parked, err := db.New(e.pool).ListParkedEvents(context.Background(), InboxName)
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 2 || parked[0].Seq != int64(poison) || parked[1].Seq != int64(notUUID) ||
		!strings.Contains(parked[0].Error, "54000") || parked[0].Subject != streams.WebhookSubject(tenant) ||
		!strings.Contains(parked[1].Error, "not a uuid") {
		t.Errorf("parked %+v, want %d (SQLSTATE 54000) and %d (tenant not a uuid)", parked, poison, notUUID)
	}
	if cp, _ := r.Checkpoint(context.Background()); cp != good2 {
		t.Errorf("checkpoint %d, want %d", cp, good2)
	}

	// And it goes on.
	seq := e.publish(t, tenant, textWebhook("wamid.GOOD3", "16505551234", "", "three", 1739321003))
	mustWait(t, r, seq)
	e.mustMessage(t, tenant, "wamid.GOOD3")
}

// TestRunnerCrashWithPrefetchedEvents: a runner dies with events delivered
// to it beyond its last commit; its successor must apply them, none twice.
func TestRunnerCrashWithPrefetchedEvents(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	const n = 200
	var last uint64
	for i := range n {
		last = e.publish(t, tenant, textWebhook(fmt.Sprintf("wamid.%d", i), "16505551234", "", "hi", 1739321000+int64(i)))
	}
	opts := Options{MaxBatch: 10} // prefetches 20 events
	crashed := NewInbox(e.pool, e.js, nil, opts)
	crashed.afterCommit = func(uint64) bool { return true }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := crashed.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if cp, _ := crashed.Checkpoint(ctx); cp >= last {
		t.Fatalf("the crashed runner applied everything (checkpoint %d): the test tests nothing", cp)
	}

	r := e.start(t, opts)
	mustWait(t, r, last)
	if got := e.count(t, `SELECT count(*) FROM messages WHERE tenant_id = $1`, tenant); got != n {
		t.Errorf("%d messages, want %d", got, n)
	}
	if c := e.mustConversation(t, tenant); c.Unread != n {
		t.Errorf("unread %d, want %d", c.Unread, n)
	}
	if got := e.count(t, `SELECT count(*) FROM webhook_log`); got != n {
		t.Errorf("%d webhook_log rows, want %d", got, n)
	}
}

// TestRunnerStandby: of two runners of one projector, one applies events and
// the other waits; when the first stops, the second takes over where it
// stopped.
func TestRunnerStandby(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	publish := func(from, to int) (last uint64) {
		for i := from; i < to; i++ {
			last = e.publish(t, tenant, textWebhook(fmt.Sprintf("wamid.%d", i), "16505551234", "", "hi", 1739321000+int64(i)))
		}
		return last
	}
	opts := Options{MaxBatch: 20}
	ctx1, stop1 := context.WithCancel(context.Background())
	first := NewInbox(e.pool, e.js, nil, opts)
	done1 := make(chan error, 1)
	go func() { done1 <- first.Run(ctx1) }()
	mustWait(t, first, publish(0, 50))

	second := e.start(t, opts)
	last := publish(50, 100)
	mustWait(t, first, last)
	second.mu.Lock()
	cp := second.applied
	second.mu.Unlock()
	if cp != 0 {
		t.Errorf("the standby runner applied up to %d", cp)
	}

	stop1()
	if err := <-done1; err != nil {
		t.Fatal(err)
	}
	last = publish(100, 150)
	mustWait(t, second, last)
	if got := e.count(t, `SELECT count(*) FROM messages WHERE tenant_id = $1`, tenant); got != 150 {
		t.Errorf("%d messages, want 150", got)
	}
	if c := e.mustConversation(t, tenant); c.Unread != 150 {
		t.Errorf("unread %d, want 150", c.Unread)
	}
}

// TestRunnerLostLock: a runner whose lock connection breaks (a database
// restart, a network cut) might have been replaced; it must notice before
// its next commit, then take the lock again and go on.
func TestRunnerLostLock(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	r := e.start(t, Options{MinBackoff: 10 * time.Millisecond})
	mustWait(t, r, e.publish(t, tenant, textWebhook("wamid.1", "16505551234", "", "one", 1739321000)))

	k1, _ := r.lockKeys()
	var pid int32
	err := e.pool.QueryRow(context.Background(),
		lockHolderQuery, int64(k1)).Scan(&pid)
	if err != nil {
		t.Fatalf("no projector lock held: %v", err)
	}
	// Wait for the backend to be gone: until then the lock is still held.
	if _, err := e.pool.Exec(context.Background(), `SELECT pg_terminate_backend($1, 10000)`, pid); err != nil {
		t.Fatal(err)
	}
	seq := e.publish(t, tenant, textWebhook("wamid.2", "16505551234", "", "two", 1739321001))
	mustWait(t, r, seq)
	if c := e.mustConversation(t, tenant); c.Unread != 2 {
		t.Errorf("unread %d, want 2", c.Unread)
	}
	var holder int32
	if err := e.pool.QueryRow(context.Background(),
		lockHolderQuery, int64(k1)).Scan(&holder); err != nil || holder == pid {
		t.Errorf("lock holder %d (%v), want a new session", holder, err)
	}
}

// lockHolderQuery finds the session holding the projector lock in the
// test's database (the server is shared by parallel tests).
const lockHolderQuery = `SELECT pid FROM pg_locks
	WHERE locktype = 'advisory' AND granted AND classid::bigint = $1
	  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`

// TestRunnerCheckpointMovedBack: batches commit without waiting for the WAL
// flush, so a PostgreSQL crash can lose the last commits, checkpoint
// included, after the runner moved past their events. The runner must
// notice the checkpoint is behind what it committed and apply those events
// again.
func TestRunnerCheckpointMovedBack(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	first := e.publish(t, tenant, textWebhook("wamid.1", "16505551234", "", "one", 1739321000))
	e.publish(t, tenant, textWebhook("wamid.2", "16505551234", "", "two", 1739321001))
	third := e.publish(t, tenant, textWebhook("wamid.3", "16505551234", "", "three", 1739321002))
	r := e.start(t, Options{})
	mustWait(t, r, third)

	// What a crash that lost the last two commits leaves behind.
	ctx := context.Background()
	for _, q := range []string{
		`DELETE FROM messages WHERE wamid IN ('wamid.2', 'wamid.3')`,
		`DELETE FROM webhook_log WHERE seq > $1`,
		`UPDATE conversations SET unread_count = 1`,
		`UPDATE projector_checkpoints SET last_seq = $1`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, int64(first))
		}
		if _, err := e.pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	fourth := e.publish(t, tenant, textWebhook("wamid.4", "16505551234", "", "four", 1739321003))
	mustWait(t, r, fourth)
	for _, w := range []string{"wamid.1", "wamid.2", "wamid.3", "wamid.4"} {
		e.mustMessage(t, tenant, w)
	}
	if c := e.mustConversation(t, tenant); c.Unread != 4 {
		t.Errorf("unread %d, want 4", c.Unread)
	}
	if n := e.count(t, `SELECT count(*) FROM webhook_log`); n != 4 {
		t.Errorf("%d webhook_log rows, want 4", n)
	}
}

// TestRunnerGivesWayWhileBusy: while Busy reports other work the runner
// holds events back, at most MaxDefer after they arrived.
func TestRunnerGivesWayWhileBusy(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	var busy atomic.Bool
	busy.Store(true)
	r := e.start(t, Options{Busy: busy.Load, MaxDefer: time.Hour})
	seq := e.publish(t, tenant, textWebhook("wamid.1", "16505551234", "", "one", 1739321000))
	time.Sleep(300 * time.Millisecond)
	if cp, _ := r.Stats(); cp >= seq {
		t.Fatal("applied while busy")
	}
	busy.Store(false)
	mustWait(t, r, seq)

}

// TestRunnerDefersAtMostMaxDefer: a runner that is told it is busy for good
// still applies events once they have waited MaxDefer.
func TestRunnerDefersAtMostMaxDefer(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	r := e.start(t, Options{Busy: func() bool { return true }, MaxDefer: 100 * time.Millisecond})
	seq := e.publish(t, uuid.NewString(), textWebhook("wamid.1", "16505551234", "", "one", 1739321000))
	mustWait(t, r, seq)
}

// TestRunnerBusyFullBatchGoesAtOnce: however busy, a full batch is not
// held back, so that under lasting load projection keeps up in full
// batches instead of one batch per MaxDefer.
func TestRunnerBusyFullBatchGoesAtOnce(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	r := e.start(t, Options{Busy: func() bool { return true }, MaxDefer: time.Hour, MaxBatch: 2})
	e.publish(t, tenant, textWebhook("wamid.1", "16505551234", "", "one", 1739321000))
	seq := e.publish(t, tenant, textWebhook("wamid.2", "16505551234", "", "two", 1739321001))
	mustWait(t, r, seq)
}

// TestRunnerBackoff: the wait between retries doubles up to MaxBackoff, but
// while PostgreSQL refuses connections it stays within awayBackoff, so that
// the projector resumes soon after the database is back.
func TestRunnerBackoff(t *testing.T) {
	r := &Runner{opts: Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: 30 * time.Second}.withDefaults()}
	_, err := pgconn.Connect(t.Context(), "host="+t.TempDir()+" connect_timeout=5") // no server there
	if !errors.As(err, new(*pgconn.ConnectError)) {
		t.Fatalf("connecting to no server: %v, want a *pgconn.ConnectError", err)
	}
	refused := fmt.Errorf("begin: %w", err)
	tests := []struct {
		wait time.Duration
		err  error
		want time.Duration
	}{
		{100 * time.Millisecond, errors.New("conn closed"), 200 * time.Millisecond},
		{20 * time.Second, errors.New("conn closed"), 30 * time.Second},
		{400 * time.Millisecond, refused, 800 * time.Millisecond},
		{800 * time.Millisecond, refused, awayBackoff},
		{20 * time.Second, refused, awayBackoff},
	}
	for _, tt := range tests {
		if got := r.nextBackoff(tt.wait, tt.err); got != tt.want {
			t.Errorf("nextBackoff(%v, %v) = %v, want %v", tt.wait, tt.err, got, tt.want)
		}
	}
}

// TestRunnerSurvivesNATSRestart: a NATS server restarting drops the
// runner's consumer, which lives in memory; the runner must go on after it,
// missing nothing published around the restart and applying nothing twice.
// NATS is a server of its own (NATS_URL) restarted by hand, or the embedded
// one, restarted by its supervisor, which in-process connections follow.
func TestRunnerSurvivesNATSRestart(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		// start runs a server and connects to it; crash stops the server,
		// and restart starts it again where the supervisor does not.
		start func(t *testing.T) (nc *nats.Conn, crash, restart func())
	}{
		{"external", func(t *testing.T) (*nats.Conn, func(), func()) {
			dir := t.TempDir()
			ns, err := streams.StartServer(streams.ServerOptions{StoreDir: dir, Listen: "127.0.0.1:0"})
			if err != nil {
				t.Fatal(err)
			}
			listen := strings.TrimPrefix(ns.ClientURL(), "nats://")
			t.Cleanup(func() { ns.Shutdown() }) // the last cleanup: after the runner stopped
			nc, err := streams.Connect(ns.ClientURL(), t.Name())
			if err != nil {
				t.Fatal(err)
			}
			crash := func() {
				ns.Shutdown()
				ns.WaitForShutdown()
			}
			restart := func() {
				if ns, err = streams.StartServer(streams.ServerOptions{StoreDir: dir, Listen: listen}); err != nil {
					t.Fatal(err)
				}
			}
			return nc, crash, restart
		}},
		{"supervised embedded", func(t *testing.T) (*nats.Conn, func(), func()) {
			e, err := streams.StartEmbedded(streams.ServerOptions{StoreDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(e.Shutdown)
			sup := e.Supervise(context.Background(), supervisor.Options{Interval: 20 * time.Millisecond})
			t.Cleanup(sup.Stop)
			nc, err := streams.ConnectInProcess(e, t.Name())
			if err != nil {
				t.Fatal(err)
			}
			return nc, func() { e.Server().Shutdown() }, func() {}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nc, crash, restart := tt.start(t)
			e := mustEnvOn(t, nc, pgtest.New(t), streams.StreamOptions{})
			tenant := uuid.NewString()
			publish := func(from, to int) (last uint64) {
				for i := from; i < to; i++ {
					last = e.publish(t, tenant, textWebhook(fmt.Sprintf("wamid.%d", i), "16505551234", "", "hi", 1739321000+int64(i)))
				}
				return last
			}
			r := e.start(t, Options{MaxBatch: 10})
			mustWait(t, r, publish(0, 30))

			crash()
			restart()
			// Once the client is back and the stream recovered: what the runner
			// does meanwhile is the test, not how publishers ride a restart.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for {
				attempt, cancelAttempt := context.WithTimeout(ctx, time.Second)
				_, err := e.js.Stream(attempt, streams.StreamName)
				cancelAttempt()
				if err == nil {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("the stream is not back after the restart: %v", err)
				case <-time.After(20 * time.Millisecond):
				}
			}
			last := publish(30, 60)
			mustWait(t, r, last)
			if got := e.count(t, `SELECT count(*) FROM messages WHERE tenant_id = $1`, tenant); got != 60 {
				t.Errorf("%d messages, want 60", got)
			}
			if c := e.mustConversation(t, tenant); c.Unread != 60 {
				t.Errorf("unread %d, want 60", c.Unread)
			}
		})
	}
}
