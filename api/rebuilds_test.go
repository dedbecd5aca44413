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

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/rebuild"
	"github.com/wam-project/wam/sql/pgtest"
)

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
	live := projections.NewInbox(e.pool, e.js, nil, projections.Options{})
	runCtx, stopLive := context.WithCancel(ctx)
	liveDone := make(chan error, 1)
	go func() { liveDone <- live.Run(runCtx) }()
	defer func() {
		stopLive()
		if err := <-liveDone; err != nil {
			t.Error(err)
		}
	}()

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
