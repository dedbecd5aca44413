package meta

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testWABA    = "102290129340398"
	testNumber  = "106540352242922"
	testDisplay = "+1 555-078-3881"
	testToken   = "EAAG-simulator-test-token"
	testSecret  = "sim-app-secret"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 8, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// simEnv is a simulator behind an httptest server, with a client for it
// and, when asked, a webhook sink.
type simEnv struct {
	sim    *Simulator
	srv    *httptest.Server
	client *Client
	hooks  *webhookSink
}

// newSimEnv starts a simulator with opts and one number (testNumber of
// testWABA, testToken), sending its webhooks to a sink.
func newSimEnv(tb testing.TB, opts SimOptions) *simEnv {
	tb.Helper()
	sink := newWebhookSink(tb)
	if opts.WebhookURL == "" {
		opts.WebhookURL = sink.srv.URL
	}
	if opts.AppSecret == "" {
		opts.AppSecret = testSecret
	}
	sim := NewSimulatorWith(opts)
	tb.Cleanup(sim.Close)
	sim.AddNumber(testWABA, testNumber, testDisplay, "Acme", testToken)
	srv := httptest.NewServer(sim)
	tb.Cleanup(srv.Close)
	return &simEnv{sim: sim, srv: srv, client: NewClient(srv.URL, "v23.0"), hooks: sink}
}

// post sends body to path of the simulator with the test token and
// returns the status and the decoded answer.
func (e *simEnv) post(tb testing.TB, path string, body any) (int, map[string]any) {
	tb.Helper()
	b, _ := json.Marshal(body)
	if s, ok := body.(string); ok {
		b = []byte(s)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("POST %s answered %d, not JSON: %s", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// send sends a message object through the client.
func (e *simEnv) send(tb testing.TB, msg map[string]any) (SendResult, error) {
	tb.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		tb.Fatal(err)
	}
	return e.client.SendMessage(context.Background(), testNumber, testToken, b)
}

// openWindow makes customer waID write, so that the business may answer.
func (e *simEnv) openWindow(tb testing.TB, waID string) string {
	tb.Helper()
	wamid, err := e.sim.CustomerWrites(context.Background(), testNumber, waID, "Ana", "hello")
	if err != nil {
		tb.Fatal(err)
	}
	return wamid
}

// webhookSink is wam's webhook endpoint as the tests see it: it checks
// each signature, keeps each body, and answers failFirst requests with 500.
type webhookSink struct {
	srv       *httptest.Server
	mu        sync.Mutex
	bodies    [][]byte
	requests  int
	failFirst int
	badSigs   int
	gate      chan struct{} // when set, requests wait until it is closed
}

func newWebhookSink(tb testing.TB) *webhookSink {
	k := &webhookSink{}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		k.mu.Lock()
		gate := k.gate
		k.mu.Unlock()
		if gate != nil {
			<-gate
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		k.requests++
		if r.Header.Get("X-Hub-Signature-256") != Sign(body, testSecret) {
			k.badSigs++
		}
		if k.requests <= k.failFirst {
			http.Error(w, "not now", http.StatusInternalServerError)
			return
		}
		k.bodies = append(k.bodies, body)
	}))
	tb.Cleanup(k.srv.Close)
	return k
}

// received is every webhook taken so far, decoded.
func (k *webhookSink) received() []webhook {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]webhook, 0, len(k.bodies))
	for _, b := range k.bodies {
		var w webhook
		_ = json.Unmarshal(b, &w)
		out = append(out, w)
	}
	return out
}

// statuses are the statuses taken so far for wamid, in the order they
// came.
func (k *webhookSink) statuses(wamid string) []map[string]json.RawMessage {
	var out []map[string]json.RawMessage
	for _, w := range k.received() {
		for _, e := range w.Entry {
			for _, c := range e.Changes {
				for _, st := range c.Value.Statuses {
					if jsonStr(st["id"]) == wamid {
						out = append(out, st)
					}
				}
			}
		}
	}
	return out
}

// message is the inbound message wamid, once it has come.
func (k *webhookSink) message(wamid string) map[string]json.RawMessage {
	for _, w := range k.received() {
		for _, e := range w.Entry {
			for _, c := range e.Changes {
				for _, m := range c.Value.Messages {
					if jsonStr(m["id"]) == wamid {
						return m
					}
				}
			}
		}
	}
	return nil
}

func jsonStr(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// graphErr is err as a Graph API error, or fails the test.
func graphErr(tb testing.TB, err error) *Error {
	tb.Helper()
	ge, ok := err.(*Error)
	if !ok {
		tb.Fatalf("got %v (%T), want a Graph API error", err, err)
	}
	return ge
}

// newEchoServer answers every request with a Graph API error repeating
// the Authorization header, as a misbehaving server might.
func newEchoServer(tb testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": "bad header " + r.Header.Get("Authorization"), "type": "OAuthException", "code": 100,
			"error_data": map[string]any{"details": r.Header.Get("Authorization")}}})
	}))
	tb.Cleanup(srv.Close)
	return srv
}
