package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/rebuild"
	"github.com/wam-project/wam/sql/pgtest"
)

// runInbox runs the live inbox projector until the test ends.
func (e *env) runInbox(t *testing.T) *projections.Runner {
	t.Helper()
	live := projections.NewInbox(e.pool, e.js, nil, projections.Options{})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- live.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return live
}

// TestOnlineRebuild rebuilds every read model while Meta's webhooks keep
// coming at a steady rate and a client keeps reading the inbox: no answer
// is a 5xx, none shows fewer conversations or messages than one before it
// (an empty or partial table during the swap would), and afterwards the
// read models are those a projection of the same stream from scratch
// makes.
func TestOnlineRebuild(t *testing.T) {
	e := newEnv(t)
	tn := e.mustTenant("5001", "5002")
	ctx := context.Background()
	// The readers below read as fast as they can: past the plan's quota.
	if _, err := e.pool.Exec(ctx, `UPDATE tenants SET api_requests_per_minute = 10000000 WHERE id = $1`, tn.ID); err != nil {
		t.Fatal(err)
	}
	live := e.runInbox(t)

	gen := meta.NewWebhookGen("5002", "+1 555-000-1111", "5001", 7).WithSenders(25)
	var genMu sync.Mutex
	postOne := func() int {
		genMu.Lock()
		body, _, _ := gen.Next()
		genMu.Unlock()
		return e.post(body, sign(body)).Code
	}
	for range 1500 {
		if code := postOne(); code != http.StatusOK {
			t.Fatalf("webhook: %d", code)
		}
	}
	last := func() uint64 {
		info, err := e.stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := live.WaitFor(wctx, last()); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var posted, reads atomic.Int64
	var failures []string
	var failMu sync.Mutex
	fail := func(format string, args ...any) {
		failMu.Lock()
		defer failMu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	// Webhooks at a steady 200/s.
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if code := postOne(); code != http.StatusOK {
				fail("webhook answered %d", code)
			}
			posted.Add(1)
		}
	})
	// A client reading the inbox: the conversation list and one
	// conversation's messages, whose counts only ever grow.
	for range 2 {
		wg.Go(func() {
			var convs, msgs int
			var first string
			for {
				select {
				case <-stop:
					return
				default:
				}
				rec := e.get("/api/conversations?limit=200", tn.APIKey)
				if rec.Code != http.StatusOK {
					fail("GET /api/conversations: %d %s", rec.Code, rec.Body)
					continue
				}
				var page struct {
					Data []struct{ ID string }
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
					fail("conversations: %v", err)
					continue
				}
				if len(page.Data) < convs {
					fail("%d conversations after %d", len(page.Data), convs)
				}
				convs = max(convs, len(page.Data))
				if first == "" && len(page.Data) > 0 {
					first = page.Data[len(page.Data)-1].ID
				}
				if first != "" {
					rec := e.get("/api/conversations/"+first+"/messages?limit=200", tn.APIKey)
					if rec.Code != http.StatusOK {
						fail("GET messages: %d %s", rec.Code, rec.Body)
						continue
					}
					var mp struct{ Data []json.RawMessage }
					if err := json.Unmarshal(rec.Body.Bytes(), &mp); err != nil {
						fail("messages: %v", err)
						continue
					}
					if len(mp.Data) < msgs {
						fail("%d messages after %d", len(mp.Data), msgs)
					}
					msgs = max(msgs, len(mp.Data))
				}
				reads.Add(1)
			}
		})
	}

	svc := rebuild.New(e.pool, e.js, rebuild.Options{MaxBatch: 500})
	defer svc.Close()
	job, err := svc.Run(ctx, rebuild.Request{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A little more traffic on the new tables, then quiet.
	during := posted.Load()
	await.Until(t, 30*time.Second, "more webhooks after the swap", func() bool { return posted.Load() > during+50 })
	close(stop)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if job.State != rebuild.StateDone || job.EventsDone < 1500 {
		t.Fatalf("job = %+v", job)
	}
	t.Logf("rebuild: %d events at %.0f/s; %d webhooks and %d reads meanwhile", job.EventsDone, job.EventsPerS, posted.Load(), reads.Load())
	if reads.Load() == 0 {
		t.Fatal("no reads")
	}

	head := last()
	if err := live.WaitFor(wctx, head); err != nil {
		t.Fatal(err)
	}
	got, err := rebuild.Checksum(ctx, e.pool)
	if err != nil {
		t.Fatal(err)
	}
	scratch := pgtest.New(t)
	fresh := projections.NewInbox(scratch, e.js, nil, projections.Options{})
	freshCtx, stopFresh := context.WithCancel(ctx)
	freshDone := make(chan error, 1)
	go func() { freshDone <- fresh.Run(freshCtx) }()
	err = fresh.WaitFor(wctx, head)
	stopFresh()
	if rerr := <-freshDone; rerr != nil {
		t.Error(rerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	want, err := rebuild.Checksum(ctx, scratch)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("read models after the online rebuild:\n%s\nfrom scratch:\n%s", got, want)
	}
}

// TestRebuildThroughTheAPI: an operator starts a rebuild and follows it to
// the end, the start is in the operators' audit log, and a tenant's owner
// cannot start one.
func TestRebuildThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@rebuild.example.com")
	if rec := e.send(http.MethodPost, "/api/ops/rebuilds", owner.AccessToken, map[string]any{}); rec.Code != http.StatusForbidden {
		t.Fatalf("an owner starting a rebuild: %d %s", rec.Code, rec.Body)
	}
	op := e.operator(t, "ops@rebuild.example.com")
	rec := e.send(http.MethodPost, "/api/ops/rebuilds", op, map[string]any{})
	var job struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &job); err != nil || rec.Code != http.StatusAccepted {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	await.Until(t, time.Minute, "the rebuild to finish", func() bool {
		e.mustGet(t, "/api/ops/rebuilds/"+job.ID, op, &job)
		if job.State == "failed" {
			t.Fatalf("rebuild failed: %+v", job)
		}
		return job.State == "done"
	})
	var audit struct {
		Data []struct{ Action, Target string } `json:"data"`
	}
	e.mustGet(t, "/api/ops/audit-log", op, &audit)
	if len(audit.Data) == 0 || audit.Data[0].Action != "rebuild.started" || audit.Data[0].Target != job.ID {
		t.Fatalf("operators' audit log: %+v", audit.Data)
	}
}

// TestRebuildCancelThroughTheAPI: an operator lists rebuilds and cancels a
// running one (202, audited); it ends cancelled, its shadow dropped and
// the read models as they were; cancelling it again is a conflict, an
// unknown job not found; a tenant's owner and an API key may do neither.
func TestRebuildCancelThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	tn := e.mustTenant("6001", "6002")
	live := e.runInbox(t)
	gen := meta.NewWebhookGen("6002", "+1 555-000-1111", "6001", 9).WithSenders(10)
	for range 200 {
		body, _, _ := gen.Next()
		if rec := e.post(body, sign(body)); rec.Code != http.StatusOK {
			t.Fatalf("webhook: %d", rec.Code)
		}
	}
	info, err := e.stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := live.WaitFor(wctx, info.State.LastSeq); err != nil {
		t.Fatal(err)
	}
	before, err := rebuild.Checksum(wctx, e.pool)
	if err != nil {
		t.Fatal(err)
	}

	owner := e.register(t, "owner@cancel.example.com")
	for _, who := range []string{owner.AccessToken, tn.APIKey} {
		if rec := e.send(http.MethodGet, "/api/ops/rebuilds", who, nil); rec.Code != http.StatusForbidden {
			t.Errorf("a tenant listing rebuilds: %d %s", rec.Code, rec.Body)
		}
		if rec := e.send(http.MethodPost, "/api/ops/rebuilds/"+uuid.NewString()+"/cancel", who, nil); rec.Code != http.StatusForbidden {
			t.Errorf("a tenant cancelling a rebuild: %d %s", rec.Code, rec.Body)
		}
	}
	op := e.operator(t, "ops@cancel.example.com")
	if rec := e.send(http.MethodPost, "/api/ops/rebuilds/"+uuid.NewString()+"/cancel", op, nil); rec.Code != http.StatusNotFound {
		t.Errorf("cancelling no job: %d %s", rec.Code, rec.Body)
	}
	type job struct {
		ID                string  `json:"id"`
		State             string  `json:"state"`
		CancelRequestedAt *string `json:"cancel_requested_at"`
	}
	var started job
	rec := e.send(http.MethodPost, "/api/ops/rebuilds", op, map[string]any{})
	if err := json.Unmarshal(rec.Body.Bytes(), &started); err != nil || rec.Code != http.StatusAccepted {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	// The shadow's messages locked: the rebuild cannot end before the
	// cancel.
	var messages string
	await.Until(t, time.Minute, "the shadow tables", func() bool {
		return e.pool.QueryRow(wctx, `SELECT r.shadow || '.messages' FROM rebuilds r
			WHERE r.id = $1 AND to_regclass(r.shadow || '.messages') IS NOT NULL`, started.ID).Scan(&messages) == nil
	})
	hold, err := e.pool.Begin(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(wctx, "LOCK TABLE "+messages+" IN SHARE MODE"); err != nil {
		t.Fatal(err)
	}
	rec = e.send(http.MethodPost, "/api/ops/rebuilds/"+started.ID+"/cancel", op, nil)
	_ = hold.Rollback(wctx)
	var asked job
	if err := json.Unmarshal(rec.Body.Bytes(), &asked); err != nil || rec.Code != http.StatusAccepted || asked.ID != started.ID || asked.CancelRequestedAt == nil {
		t.Fatalf("cancel: %d %s", rec.Code, rec.Body)
	}
	var list struct{ Data []job }
	await.Until(t, time.Minute, "the rebuild to stop", func() bool {
		e.mustGet(t, "/api/ops/rebuilds?limit=10", op, &list)
		return len(list.Data) == 1 && list.Data[0].State != "running" && list.Data[0].State != "swapping"
	})
	if list.Data[0].ID != started.ID || list.Data[0].State != "cancelled" {
		t.Fatalf("rebuilds: %+v; want the job cancelled", list.Data)
	}
	if rec := e.send(http.MethodPost, "/api/ops/rebuilds/"+started.ID+"/cancel", op, nil); rec.Code != http.StatusConflict {
		t.Errorf("cancelling it again: %d %s", rec.Code, rec.Body)
	}
	var schemas int
	if err := e.pool.QueryRow(wctx, `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'wam\_rebuild\_%' OR nspname LIKE 'wam\_retired\_%'`).Scan(&schemas); err != nil || schemas != 0 {
		t.Errorf("%d shadow schemas left (%v)", schemas, err)
	}
	if got, err := rebuild.Checksum(wctx, e.pool); err != nil || got != before {
		t.Errorf("read models after the cancelled rebuild (%v):\n%s\nbefore:\n%s", err, got, before)
	}
	var audit struct {
		Data []struct{ Action, Target string } `json:"data"`
	}
	e.mustGet(t, "/api/ops/audit-log", op, &audit)
	if len(audit.Data) < 2 || audit.Data[0].Action != "rebuild.cancelled" || audit.Data[0].Target != started.ID ||
		audit.Data[1].Action != "rebuild.started" {
		t.Errorf("operators' audit log: %+v", audit.Data)
	}
	// The list is newest first, as long as limit says.
	rec = e.send(http.MethodPost, "/api/ops/rebuilds", op, map[string]any{})
	var second job
	if err := json.Unmarshal(rec.Body.Bytes(), &second); err != nil || rec.Code != http.StatusAccepted {
		t.Fatalf("start again: %d %s", rec.Code, rec.Body)
	}
	await.Until(t, time.Minute, "the second rebuild to finish", func() bool {
		e.mustGet(t, "/api/ops/rebuilds/"+second.ID, op, &second)
		return second.State == "done"
	})
	e.mustGet(t, "/api/ops/rebuilds?limit=1", op, &list)
	if len(list.Data) != 1 || list.Data[0].ID != second.ID {
		t.Errorf("rebuilds?limit=1: %+v; want the second", list.Data)
	}
	e.mustGet(t, "/api/ops/rebuilds", op, &list)
	if len(list.Data) != 2 || list.Data[0].ID != second.ID || list.Data[1].ID != started.ID {
		t.Errorf("rebuilds: %+v; want the second, then the first", list.Data)
	}
}
