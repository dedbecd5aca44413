package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/sql/pgtest"
)

// TestRebuildAndEraseCommands: `wam rebuild` and `wam erase` run against
// the data dir of a serve that stopped, and serve, started again, answers
// from what they made.
func TestRebuildAndEraseCommands(t *testing.T) {
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "WAM_DATA_DIR": t.TempDir(), "META_APP_SECRET": testSecret}
	tenant, key := bootstrap(t, env, "333")
	base, stop := startServe(t, env)
	for _, w := range []struct{ wamid, from, text string }{
		{"wamid.cli-1", "15550001001", "first of the erased"},
		{"wamid.cli-2", "15550001002", "kept"},
		{"wamid.cli-3", "15550001001", "second of the erased"},
	} {
		if code, err := postWebhook(base, textWebhook("333", w.wamid, w.from, w.text)); err != nil || code != http.StatusOK {
			t.Fatalf("webhook: %d %v", code, err)
		}
	}
	await.Until(t, 30*time.Second, "three messages in the inbox", func() bool {
		_, msgs := inbox(t, base, key)
		return len(msgs) == 3
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	var job struct {
		State      string `json:"state"`
		EventsDone int    `json:"events_done"`
	}
	if err := json.Unmarshal([]byte(lastLine(mustRun(t, env, "rebuild", "--projector", "inbox"))), &job); err != nil || job.State != "done" || job.EventsDone != 3 {
		t.Fatalf("rebuild: %+v (%v)", job, err)
	}
	if err := json.Unmarshal([]byte(lastLine(mustRun(t, env, "rebuild", "--tenant", tenant))), &job); err != nil || job.State != "done" || job.EventsDone != 3 {
		t.Fatalf("rebuild of the tenant: %+v (%v)", job, err)
	}
	var erased struct {
		EventsDeleted int `json:"events_deleted"`
	}
	if err := json.Unmarshal([]byte(lastLine(mustRun(t, env, "erase", "--tenant", tenant, "--phone", "+1 555-000-1001"))), &erased); err != nil || erased.EventsDeleted != 2 {
		t.Fatalf("erase: %+v (%v)", erased, err)
	}
	if err := run(t.Context(), []string{"wam", "erase", "--tenant", tenant, "--phone", "+15550001001"}, getenvFrom(env), &strings.Builder{}, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "contact not found") {
		t.Errorf("erasing again: %v", err)
	}

	base, _ = startServe(t, env)
	convs, msgs := inbox(t, base, key)
	if len(convs) != 1 || convs[0].Contact.Phone != "+15550001002" || len(msgs) != 1 {
		t.Errorf("after the erasure: %+v, %+v", convs, msgs)
	}
}

// TestRebuildCommandInterrupted: Ctrl-C on `wam rebuild` (its context
// cancelled) cancels the rebuild: the job ends cancelled, its shadow
// schema is dropped, and the command says so. The test holds a lock on
// the shadow's messages, so that the rebuild cannot end before.
func TestRebuildCommandInterrupted(t *testing.T) {
	url := pgtest.URL(t)
	env := map[string]string{"DATABASE_URL": url, "WAM_DATA_DIR": t.TempDir(), "META_APP_SECRET": testSecret}
	_, key := bootstrap(t, env, "444")
	base, stop := startServe(t, env)
	if code, err := postWebhook(base, textWebhook("444", "wamid.int-1", "15550002001", "hello")); err != nil || code != http.StatusOK {
		t.Fatalf("webhook: %d %v", code, err)
	}
	await.Until(t, 30*time.Second, "the message in the inbox", func() bool {
		_, msgs := inbox(t, base, key)
		return len(msgs) == 1
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	var stdout strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"wam", "rebuild"}, getenvFrom(env), &stdout, testLog(t))
	}()
	var messages string
	await.Until(t, time.Minute, "the shadow tables", func() bool {
		return pool.QueryRow(t.Context(), `SELECT r.shadow || '.messages' FROM rebuilds r
			WHERE r.state = 'running' AND to_regclass(r.shadow || '.messages') IS NOT NULL`).Scan(&messages) == nil
	})
	hold, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(t.Context(), "LOCK TABLE "+messages+" IN SHARE MODE"); err != nil {
		t.Fatal(err)
	}
	interrupt()
	_ = hold.Rollback(t.Context())
	err = <-done
	var job struct {
		State string `json:"state"`
	}
	if err == nil || !strings.Contains(err.Error(), "rebuild cancelled") {
		t.Errorf("wam rebuild interrupted: %v", err)
	}
	if jerr := json.Unmarshal([]byte(lastLine(stdout.String())), &job); jerr != nil || job.State != "cancelled" {
		t.Errorf("the job printed: %q (%v)", stdout.String(), jerr)
	}
	var schemas int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'wam\_rebuild\_%'`).Scan(&schemas); err != nil || schemas != 0 {
		t.Errorf("%d shadow schemas left (%v)", schemas, err)
	}
}
