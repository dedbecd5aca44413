package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wam-project/wam/internal/await"
)

const testSecret = "e2e-app-secret"

func getenvFrom(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// mustRun runs a wam command to completion and returns what it printed.
func mustRun(t testing.TB, env map[string]string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"wam"}, args...), getenvFrom(env), &out, &errOut); err != nil {
		t.Fatalf("wam %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// bootstrap creates a tenant owning phone number id pnid, in a WABA of its
// own (a WABA belongs to one tenant), and returns its id and API key.
func bootstrap(t testing.TB, env map[string]string, pnid string) (tenant, apiKey string) {
	t.Helper()
	var created struct{ TenantID, APIKey string }
	out := mustRun(t, env, "tenant", "create", "--name", "Acme", "--requests-per-minute", "1000000")
	if err := json.Unmarshal([]byte(lastLine(out)), &struct {
		TenantID *string `json:"tenant_id"`
		APIKey   *string `json:"api_key"`
	}{&created.TenantID, &created.APIKey}); err != nil || created.APIKey == "" {
		t.Fatalf("tenant create printed %q: %v", out, err)
	}
	mustRun(t, env, "number", "add", "--tenant", created.TenantID, "--phone-number-id", pnid,
		"--display-phone-number", "+1 555-000-1111", "--waba-id", "100"+pnid)
	return created.TenantID, created.APIKey
}

// startServe runs `wam serve` in this process on a free port and returns its
// base URL and a function that stops it (as SIGTERM would) and returns run's error.
func startServe(t testing.TB, env map[string]string, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	urls := serving(pr)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"wam", "serve", "--port", "0"}, args...), getenvFrom(env), pw, testLog(t))
		pw.Close()
	}()
	select {
	case u := <-urls:
		stopped := false
		var stopErr error
		stop := func() error {
			if !stopped {
				stopped = true
				cancel()
				stopErr = <-done
			}
			return stopErr
		}
		t.Cleanup(func() { _ = stop() })
		return u, stop
	case err := <-done:
		cancel()
		t.Fatalf("serve exited before serving: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not start within 60s")
	}
	return "", nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func sign(body []byte) string {
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func postWebhook(base string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/api/webhook", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", sign(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func textWebhook(pnid, wamid, from, text string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"100","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},"contacts":[{"profile":{"name":"Kerry Fisher"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"timestamp":"1718000000","text":{"body":%q},"type":"text"}]},"field":"messages"}]}]}`,
		pnid, from, from, wamid, text))
}

// buildWam builds the binary, for tests that run it as a process of its own.
func buildWam(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wam")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startWam runs `wam serve` from bin with env only, on a free port, and
// returns the process and its base URL.
func startWam(t testing.TB, bin string, env map[string]string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--port", "0")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-serving(out):
		return cmd, u
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("wam serve did not start")
	}
	return nil, ""
}

// webhookStream posts text webhooks of number 111 from 8 goroutines, each with a
// wamid of its own, 400 a second in all (steady traffic, which the tests'
// faults meet, rather than as many as the machine takes: what is acked
// must then be projected within the tests' deadlines on two busy cores),
// and keeps the wamids that were answered 200.
type webhookStream struct {
	mu    sync.Mutex
	ok    []string
	wg    sync.WaitGroup
	done  chan struct{}
	ended bool
}

func postWebhooks(base, prefix string) *webhookStream {
	p := &webhookStream{done: make(chan struct{})}
	for w := range 8 {
		p.wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond) // 50 a second from each
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-p.done:
					return
				case <-tick.C:
				}
				wamid := fmt.Sprintf("%s.%d.%d", prefix, w, i)
				body := textWebhook("111", wamid, fmt.Sprintf("165055510%02d", i%50), "before and after")
				if code, _ := postWebhook(base, body); code == 200 {
					p.mu.Lock()
					p.ok = append(p.ok, wamid)
					p.mu.Unlock()
				}
			}
		})
	}
	return p
}

// acked returns the wamids answered 200 so far.
func (p *webhookStream) acked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ok)
}

// stop stops posting and returns every wamid answered 200.
func (p *webhookStream) stop() []string {
	if !p.ended {
		p.ended = true
		close(p.done)
		p.wg.Wait()
	}
	return p.acked()
}

// signInOperator makes an operator with `wam operator create` and signs
// them in at base; it returns their access token.
func signInOperator(t testing.TB, env map[string]string, base, email string) string {
	t.Helper()
	var op struct {
		Email    string `json:"email"`
		Password string `json:"temporary_password"`
	}
	if out := mustRun(t, env, "operator", "create", "--email", email); json.Unmarshal([]byte(lastLine(out)), &op) != nil {
		t.Fatalf("operator create printed %q", out)
	}
	body, _ := json.Marshal(map[string]string{"email": op.Email, "password": op.Password})
	res, err := http.Post(base+"/api/ops/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&sess); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("operator sign-in: %d (%v)", res.StatusCode, err)
	}
	return sess.AccessToken
}

// getJSON GETs path with the API key and decodes the answer into v.
func getJSON(t testing.TB, base, apiKey, path string, v any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

type apiConversation struct {
	ID           string  `json:"id"`
	UnreadCount  int     `json:"unread_count"`
	Status       string  `json:"status"`
	SnoozedUntil *string `json:"snoozed_until"`
	Contact      struct {
		WaID, Phone, Name string
	} `json:"contact"`
}

type apiMessage struct {
	ID     string `json:"id"`
	WAMID  string `json:"wamid"`
	Type   string `json:"type"`
	Status string `json:"status"`
}

// inbox lists every conversation and every message of the tenant through the API.
func inbox(t testing.TB, base, apiKey string) ([]apiConversation, []apiMessage) {
	t.Helper()
	var convs []apiConversation
	var msgs []apiMessage
	cursor := ""
	for {
		var page struct {
			Data       []apiConversation `json:"data"`
			NextCursor string            `json:"next_cursor"`
		}
		if code := getJSON(t, base, apiKey, "/api/conversations?limit=200&cursor="+cursor, &page); code != 200 {
			t.Fatalf("list conversations: %d", code)
		}
		convs = append(convs, page.Data...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	for _, c := range convs {
		cursor := ""
		for {
			var page struct {
				Data       []apiMessage `json:"data"`
				NextCursor string       `json:"next_cursor"`
			}
			if code := getJSON(t, base, apiKey, "/api/conversations/"+c.ID+"/messages?limit=200&cursor="+cursor, &page); code != 200 {
				t.Fatalf("list messages: %d", code)
			}
			msgs = append(msgs, page.Data...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
	}
	return convs, msgs
}

// waitProjectedOnce waits until every webhook in acked is in the read
// models, and checks that each is there exactly once and that nothing was
// counted twice. Webhooks in flight when something was killed may be stored
// without a 200; those are fine (Meta retries them).
func waitProjectedOnce(t testing.TB, base, apiKey string, acked []string, timeout time.Duration) {
	t.Helper()
	want := map[string]bool{}
	for _, w := range acked {
		want[w] = true
	}
	var convs []apiConversation
	var msgs []apiMessage
	await.Until(t, timeout, "every acked webhook projected", func() bool {
		// The API may fail while PostgreSQL is away, which inbox does not forgive.
		if getJSON(t, base, apiKey, "/api/conversations?limit=1", nil) != 200 {
			return false
		}
		convs, msgs = inbox(t, base, apiKey)
		found := 0
		for _, m := range msgs {
			if want[m.WAMID] {
				found++
			}
		}
		return found >= len(want)
	})
	// The conversations are read before their messages, in requests of
	// their own: a commit between them (the last webhooks still being
	// projected) gives unread counts of before it beside messages of after.
	// Every acked webhook is in now, and nothing more comes: read again.
	convs, msgs = inbox(t, base, apiKey)
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.WAMID]++
	}
	for w := range want {
		if seen[w] != 1 {
			t.Errorf("%s is in the read model %d times, want 1", w, seen[w])
		}
	}
	unread := 0
	for _, c := range convs {
		unread += c.UnreadCount
	}
	if unread != len(msgs) {
		t.Errorf("unread counts add up to %d for %d inbound messages", unread, len(msgs))
	}
}

// testLog is where in-process servers log: the test's output with -v and
// WAM_TEST_LOG=1, else nowhere.
func testLog(t testing.TB) io.Writer {
	if os.Getenv("WAM_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
