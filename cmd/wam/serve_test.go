package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/sql/pgtest"
)

// TestServeEndToEnd follows webhooks from HTTP through JetStream and the
// projector to the read API, across a restart with a short duplicate window.
func TestServeEndToEnd(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL":         pgtest.URL(t),
		"WAM_DATA_DIR":         t.TempDir(),
		"META_APP_SECRET":      testSecret,
		"WEBHOOK_VERIFY_TOKEN": "vt",
	}
	_, key := bootstrap(t, env, "111")
	_, otherKey := bootstrap(t, env, "222")

	base, stop := startServe(t, env)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/api/webhook?hub.mode=subscribe&hub.verify_token=vt&hub.challenge=42")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("verify: %v %v", resp, err)
	}
	resp.Body.Close()

	dup := textWebhook("111", "wamid.dup", "16505551234", "same webhook, three deliveries")
	if code, err := postWebhook(base, dup); code != 200 {
		t.Fatalf("first delivery: %d %v", code, err)
	}
	if err := stop(); err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}

	// Restart with a duplicate window shorter than the gap between Meta's
	// retries, so JetStream stores the retries as new events and only the
	// read models' idempotency stands between them and a double count.
	base, stop = startServe(t, env, "--duplicate-window", "500ms")
	for range 2 {
		time.Sleep(700 * time.Millisecond)
		if code, err := postWebhook(base, dup); code != 200 {
			t.Fatalf("redelivery: %d %v", code, err)
		}
	}
	for i := range 3 {
		body := textWebhook("111", fmt.Sprintf("wamid.page.%d", i), fmt.Sprintf("1650555000%d", i), "hello")
		if code, err := postWebhook(base, body); code != 200 {
			t.Fatalf("post: %d %v", code, err)
		}
	}

	var convs []apiConversation
	var msgs []apiMessage
	await.Until(t, 20*time.Second, "4 conversations projected", func() bool {
		convs, msgs = inbox(t, base, key)
		return len(msgs) == 4
	})
	for _, c := range convs {
		if c.UnreadCount != 1 {
			t.Errorf("conversation with %s: unread_count %d, want 1 (the duplicate counted once)", c.Contact.WaID, c.UnreadCount)
		}
	}
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.WAMID]++
	}
	if seen["wamid.dup"] != 1 {
		t.Errorf("wamid.dup appears %d times, want 1", seen["wamid.dup"])
	}

	// Pagination walks every conversation exactly once.
	var page struct {
		Data       []apiConversation `json:"data"`
		NextCursor string            `json:"next_cursor"`
	}
	got := map[string]bool{}
	for cursor, n := "", 0; n < 10; n++ {
		if code := getJSON(t, base, key, "/api/conversations?limit=1&cursor="+cursor, &page); code != 200 {
			t.Fatalf("page: %d", code)
		}
		for _, c := range page.Data {
			if got[c.ID] {
				t.Fatalf("conversation %s on two pages", c.ID)
			}
			got[c.ID] = true
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(got) != len(convs) {
		t.Fatalf("paged through %d conversations, want %d", len(got), len(convs))
	}

	// Tenants see only their own data.
	if code := getJSON(t, base, otherKey, "/api/messages/"+msgs[0].ID, nil); code != 404 {
		t.Errorf("other tenant reading a message: %d, want 404", code)
	}
	if code := getJSON(t, base, otherKey, "/api/conversations/"+convs[0].ID+"/messages", nil); code != 404 {
		t.Errorf("other tenant listing messages: %d, want 404", code)
	}
	if code := getJSON(t, base, "wam_nope", "/api/conversations", nil); code != 401 {
		t.Errorf("unknown key: %d, want 401", code)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`wam_projector_checkpoint{projector="inbox"}`, `wam_projector_lag_events{projector="inbox"} 0`, "wam_stream_last_sequence", "go_goroutines",
		`wam_stream_tenant_events{tenant="`, `wam_media_files{state="pending"} 0`, "wam_sender_pending", `wam_projector_lag_seconds{projector="inbox"} 0`,
		`wam_projector_state{projector="inbox",state="running"} 1`, `wam_projector_state{projector="inbox",state="retrying"} 0`,
		"wam_sender_retries_total 0", "wam_sender_queued 0"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}
}

// TestServeSurvivesSIGKILL kills a `wam serve` process (running its own
// private PostgreSQL) in the middle of a stream of webhooks and restarts it
// on the same data dir: every webhook that got a 200 is in the read models
// exactly once.
func TestServeSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs PostgreSQL: not in -short")
	}
	bin := buildWam(t)
	env := map[string]string{
		"WAM_DATA_DIR":    t.TempDir(),
		"META_APP_SECRET": testSecret,
		"LOG_LEVEL":       "warn",
		"PATH":            os.Getenv("PATH"),
	}
	_, key := bootstrap(t, env, "111")

	cmd, base := startWam(t, bin, env)
	p := postWebhooks(base, "wamid.kill")
	await.Until(t, 30*time.Second, "300 acked webhooks", func() bool { return len(p.acked()) >= 300 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	acked := p.stop()
	t.Logf("%d webhooks acknowledged before SIGKILL", len(acked))

	cmd, base = startWam(t, bin, env)
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("wam serve after SIGTERM: %v", err)
		}
	}()
	waitProjectedOnce(t, base, key, acked, 60*time.Second)
}

// TestServeSurvivesPostgresSIGKILL kills the postmaster of the private
// PostgreSQL under a running `wam serve` in the middle of a stream of
// webhooks: wam starts the server again by itself, /readyz answers 200
// again, and the projector resumes, all within 60 s of the kill and without
// a restart of wam. Every webhook that got a 200, before, during and after
// the outage, is in the read models exactly once.
func TestServeSurvivesPostgresSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs PostgreSQL: not in -short")
	}
	bin := buildWam(t)
	dataDir := t.TempDir()
	env := map[string]string{
		"WAM_DATA_DIR":    dataDir,
		"META_APP_SECRET": testSecret,
		"LOG_LEVEL":       "warn",
		"PATH":            os.Getenv("PATH"),
	}
	_, key := bootstrap(t, env, "111")
	cmd, base := startWam(t, bin, env)
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("wam serve after SIGTERM: %v", err)
		}
	}()

	p := postWebhooks(base, "wamid.pgkill")
	defer p.stop()
	await.Until(t, 30*time.Second, "200 acked webhooks", func() bool { return len(p.acked()) >= 200 })
	pidFile := filepath.Join(dataDir, "postgres", "postmaster.pid")
	postmaster := func() int {
		b, _ := os.ReadFile(pidFile)
		line, _, _ := strings.Cut(string(b), "\n")
		pid, _ := strconv.Atoi(strings.TrimSpace(line))
		return pid
	}
	killed := postmaster()
	if killed <= 0 {
		t.Fatalf("no postmaster pid in %s", pidFile)
	}
	if err := syscall.Kill(killed, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	before := len(p.acked())
	at := time.Now()
	left := func() time.Duration { return time.Until(at.Add(60 * time.Second)) }
	t.Logf("killed postmaster %d after %d acked webhooks", killed, before)

	await.Until(t, left(), "a new postmaster", func() bool { pid := postmaster(); return pid > 0 && pid != killed })
	await.Until(t, left(), "/readyz to answer 200", func() bool {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	t.Logf("ready again %v after the kill, %d webhooks acked meanwhile", time.Since(at).Round(time.Millisecond), len(p.acked())-before)
	after := len(p.acked())
	await.Until(t, left(), "100 more acked webhooks", func() bool { return len(p.acked()) >= after+100 })
	if cmd.ProcessState != nil {
		t.Fatal("wam serve exited")
	}
	waitProjectedOnce(t, base, key, p.stop(), left())
	t.Logf("every acked webhook projected %v after the kill", time.Since(at).Round(time.Millisecond))
}

// TestServeSnoozeExpires: `wam serve` reopens a snoozed conversation when
// the snooze ends. Its waker looks at start, then at the latest every 30 s;
// serve is restarted after the snooze so that the test need not wait that
// long, which also shows that a snooze survives a restart.
func TestServeSnoozeExpires(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL":    pgtest.URL(t),
		"WAM_DATA_DIR":    t.TempDir(),
		"META_APP_SECRET": testSecret,
	}
	_, key := bootstrap(t, env, "111")
	base, stop := startServe(t, env)
	if code, err := postWebhook(base, textWebhook("111", "wamid.snooze", "16505551234", "call me tomorrow")); code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	var convs []apiConversation
	await.Until(t, 20*time.Second, "the conversation projected", func() bool {
		convs, _ = inbox(t, base, key)
		return len(convs) == 1
	})
	until := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second)
	body := `{"status":"snoozed","snoozed_until":"` + until.Format(time.RFC3339) + `"}`
	req, err := http.NewRequest(http.MethodPatch, base+"/api/conversations/"+convs[0].ID, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH %s: %d", body, resp.StatusCode)
	}
	await.Until(t, 20*time.Second, "the conversation snoozed", func() bool {
		convs, _ = inbox(t, base, key)
		return convs[0].Status == "snoozed"
	})
	if err := stop(); err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}

	base, _ = startServe(t, env)
	await.Until(t, 30*time.Second, "the conversation reopened", func() bool {
		convs, _ = inbox(t, base, key)
		return convs[0].Status == "open"
	})
	if convs[0].SnoozedUntil != nil {
		t.Errorf("reopened with snoozed_until %s", *convs[0].SnoozedUntil)
	}
	if time.Now().Before(until) {
		t.Errorf("reopened before %s", until)
	}
}
