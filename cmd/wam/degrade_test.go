package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/sql/pgtest"
)

// TestServeThroughPostgresStall stalls PostgreSQL for 40 s (a proxy stops
// forwarding, as a SIGSTOP of the server would) under a steady stream of
// webhooks, for a number the routing cache knows and, during the stall, for
// one it has never seen. Every webhook is answered within the publish
// deadline and none is refused (JetStream is up throughout); API reads
// answer 503 meanwhile instead of hanging; once PostgreSQL is back, every
// acknowledged webhook is in the read models exactly once, those routed
// late included.
func TestServeThroughPostgresStall(t *testing.T) {
	if testing.Short() {
		t.Skip("a 40 s stall: not in -short")
	}
	t.Parallel()
	proxy := pgtest.NewProxy(t, pgtest.URL(t))
	env := map[string]string{
		"DATABASE_URL":    proxy.URL(),
		"WAM_DATA_DIR":    t.TempDir(),
		"META_APP_SECRET": testSecret,
		"LOG_LEVEL":       "error",
	}
	tenant, key := bootstrap(t, env, "111")
	mustRun(t, env, "number", "add", "--tenant", tenant, "--phone-number-id", "222",
		"--display-phone-number", "+1 555-000-2222", "--waba-id", "100111")
	base, _ := startServe(t, env)
	t.Cleanup(proxy.Resume)

	const publishDeadline = 10 * time.Second // serve's default
	var (
		mu      sync.Mutex
		acked   = map[string]bool{}
		refused = map[int]int{}
		slowest time.Duration
	)
	post := func(pnid, wamid, from string) {
		start := time.Now()
		code, err := postWebhook(base, textWebhook(pnid, wamid, from, "steady traffic"))
		took := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		slowest = max(slowest, took)
		if err == nil && code == http.StatusOK {
			acked[wamid] = true
		} else {
			refused[code]++
		}
	}
	// 50 webhooks a second for number 111, from 20 customers.
	stop := make(chan struct{})
	var load sync.WaitGroup
	load.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			load.Go(func() { post("111", fmt.Sprintf("wamid.steady.%d", i), fmt.Sprintf("1650555%04d", i%20)) })
		}
	})
	await.Until(t, 20*time.Second, "webhooks flowing", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 100
	})

	proxy.Stall()
	stallEnd := time.Now().Add(40 * time.Second)
	// A read while the database answers nothing: a 503 soon, not a hang.
	start := time.Now()
	code := getJSON(t, base, key, "/api/conversations", nil)
	if code != http.StatusServiceUnavailable || time.Since(start) > publishDeadline {
		t.Errorf("GET /api/conversations during the stall: %d after %s, want 503 within the request deadline", code, time.Since(start))
	}
	// Number 222 was never routed before: its webhooks arrive during the
	// stall, past the time the cache's answers for 111 have gone stale.
	perSecond := time.NewTicker(time.Second)
	for i := 0; time.Now().Before(stallEnd); i++ {
		load.Go(func() { post("222", fmt.Sprintf("wamid.uncached.%d", i), "16505559999") })
		<-perSecond.C
	}
	perSecond.Stop()
	proxy.Resume()
	mu.Lock()
	during := len(acked)
	mu.Unlock()
	await.Until(t, 20*time.Second, "steady traffic after the stall", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= during+100
	})
	close(stop)
	load.Wait()

	mu.Lock()
	t.Logf("%d webhooks acknowledged, slowest answer %s", len(acked), slowest)
	if len(refused) > 0 {
		t.Errorf("webhooks not acknowledged (by status, 0: no answer): %v", refused)
	}
	if slowest > publishDeadline {
		t.Errorf("the slowest webhook took %s, beyond the publish deadline of %s", slowest, publishDeadline)
	}
	want := acked
	mu.Unlock()

	var msgs []apiMessage
	await.Until(t, 90*time.Second, "every acknowledged webhook in the read models", func() bool {
		if code := getJSON(t, base, key, "/api/conversations?limit=1", nil); code != 200 {
			return false
		}
		_, msgs = inbox(t, base, key)
		found := 0
		for _, m := range msgs {
			if want[m.WAMID] {
				found++
			}
		}
		return found >= len(want)
	})
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.WAMID]++
	}
	uncached := 0
	for w := range want {
		if seen[w] != 1 {
			t.Errorf("%s is in the read models %d times, want 1", w, seen[w])
		}
		if strings.HasPrefix(w, "wamid.uncached.") {
			uncached++
		}
	}
	if uncached < 30 {
		t.Errorf("only %d webhooks for the uncached number were acknowledged during the stall", uncached)
	}
}
