package api_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/ingest"
	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

// clock is a time the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// proxiedEnv is an env whose PostgreSQL is reached through a proxy the
// test can stall or cut, whose webhook routing runs on a clock the test
// moves, and whose requests have a deadline of one second.
func proxiedEnv(t *testing.T) (*env, *pgtest.Proxy, *clock) {
	t.Helper()
	proxy := pgtest.NewProxy(t, pgtest.URL(t))
	cfg, err := pgxpool.ParseConfig(proxy.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	clk := &clock{now: time.Now()}
	e := newEnvOn(t, pool, 1, func(c *api.Config) {
		c.RequestTimeout = time.Second
		c.Router = ingest.NewRouter(db.New(pool), ingest.RouterOptions{Now: clk.Now})
	})
	// Whatever happens, the server is let go before the test's cleanups
	// drop its database.
	t.Cleanup(func() { proxy.Restore(); proxy.Resume() })
	return e, proxy, clk
}

// within runs fn and fails the test if it has not returned after d: a
// request that hangs while a dependency is away is the defect looked for,
// and must not hang the test too.
func within[T any](t *testing.T, d time.Duration, what string, fn func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- fn() }()
	select {
	case v := <-done:
		return v
	case <-time.After(d):
		t.Fatalf("%s: no answer within %s", what, d)
		panic("unreachable")
	}
}

// TestWebhooksWhilePostgresStalls: while PostgreSQL answers nothing, a
// webhook for a number whose cached owner has gone stale is stored for that
// owner, and one for a number the cache never saw is stored unrouted marked
// deferred; neither waits beyond the routing lookup's deadline, and none is
// refused.
func TestWebhooksWhilePostgresStalls(t *testing.T) {
	t.Parallel()
	e, proxy, clk := proxiedEnv(t)
	tn := e.mustTenant("100", "111", "222")
	if rec := e.post(textWebhook("100", "111", "wamid.warm", "16505551234", "hello"), sign(textWebhook("100", "111", "wamid.warm", "16505551234", "hello"))); rec.Code != 200 {
		t.Fatalf("before the stall: %d %s", rec.Code, rec.Body)
	}

	proxy.Stall()
	clk.Add(time.Minute) // past every cached answer's freshness
	post := func(pnid, wamid string) *httptest.ResponseRecorder {
		body := textWebhook("100", pnid, wamid, "16505551234", "while the database sleeps")
		return within(t, 5*time.Second, "webhook for "+pnid, func() *httptest.ResponseRecorder { return e.post(body, sign(body)) })
	}
	for i, c := range []struct{ pnid, wamid string }{{"111", "wamid.stale.1"}, {"222", "wamid.unknown.1"}, {"111", "wamid.stale.2"}, {"222", "wamid.unknown.2"}} {
		if rec := post(c.pnid, c.wamid); rec.Code != 200 {
			t.Fatalf("webhook %d (%s) while PostgreSQL stalls: %d %s", i, c.pnid, rec.Code, rec.Body)
		}
	}

	msgs := e.streamMsgs()
	if len(msgs) != 5 {
		t.Fatalf("%d events stored, want 5", len(msgs))
	}
	for i, m := range msgs[1:] {
		pnid := []string{"111", "222"}[i%2]
		wantSubject, wantRouting := streams.WebhookSubject(tn.ID.String()), ""
		if pnid == "222" {
			wantSubject, wantRouting = streams.WebhookSubject(streams.Unrouted), streams.RoutingDeferred
		}
		if m.Subject != wantSubject || m.Header.Get(streams.HeaderRouting) != wantRouting {
			t.Errorf("webhook for %s stored on %s (routing %q), want %s (routing %q)", pnid, m.Subject,
				m.Header.Get(streams.HeaderRouting), wantSubject, wantRouting)
		}
	}
}

// TestAPIWhilePostgresIsAway: while PostgreSQL stalls, API reads answer
// 503 with Retry-After within the request's deadline, and /readyz names
// PostgreSQL (and only it) as down; when the server is gone (connections
// cut and refused, as after a SIGKILL) it is 503 too, never 500; once it is
// back, 200.
func TestAPIWhilePostgresIsAway(t *testing.T) {
	t.Parallel()
	e, proxy, _ := proxiedEnv(t)
	tn := e.mustTenant("100", "111")
	e.h = api.New(api.Config{RequestTimeout: time.Second}, e.pool, streams.NewPublisher(e.js), slog.New(slog.DiscardHandler),
		api.Dependency{Name: "postgres", Ready: func(ctx context.Context) error { return e.pool.Ping(ctx) }},
		api.Dependency{Name: "nats", Ready: func(ctx context.Context) error { _, err := e.js.AccountInfo(ctx); return err }})
	if rec := e.get("/api/conversations", tn.APIKey); rec.Code != 200 {
		t.Fatalf("before: %d %s", rec.Code, rec.Body)
	}
	for _, fault := range []struct {
		name       string
		start, end func()
	}{
		{"stalled", proxy.Stall, proxy.Resume},
		{"gone", proxy.Cut, proxy.Restore},
	} {
		fault.start()
		for _, path := range []string{"/api/conversations", "/api/auth/me", "/api/tenant"} {
			rec := within(t, 5*time.Second, fault.name+" GET "+path, func() *httptest.ResponseRecorder { return e.get(path, tn.APIKey) })
			if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: GET %s: %d (Retry-After %q) %s, want 503 with Retry-After", fault.name, path, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
			}
		}
		rec := within(t, 5*time.Second, fault.name+" /readyz", func() *httptest.ResponseRecorder { return e.get("/readyz", "") })
		if want := `"dependencies":{"nats":"ready","postgres":"unavailable"}`; rec.Code != 503 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: /readyz %d %s, want 503 with %s", fault.name, rec.Code, rec.Body, want)
		}
		fault.end()
		await.Until(t, 10*time.Second, fault.name+": reads answer again", func() bool {
			return e.get("/api/conversations", tn.APIKey).Code == 200 && e.get("/readyz", "").Code == 200
		})
	}
}
