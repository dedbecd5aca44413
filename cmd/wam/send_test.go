package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

const (
	simToken = "EAAGsimulated-access-token-for-tests-0001"
	simWABA  = "200200200"
	simPNID  = "300300300"
)

// sendRig is a wam serve in this process talking to an in-process Meta
// simulator, which sends its webhooks back to it: a tenant with one number
// connected through the API (its token checked with the simulator).
type sendRig struct {
	base, apiKey, tenant string
	numberID             string // wam's id of the connected number
	sim                  *meta.Simulator
	sends                *sendLog
	stop                 func() error
	env                  map[string]string
	opsToken             string // an operator's, for GET /api/ops/stats
}

// senderStats are the sender's figures of GET /api/ops/stats.
type senderStats struct {
	Active      bool  `json:"active"`
	InProcess   bool  `json:"in_process"`
	Retries     int64 `json:"retries"`
	HeldNumbers int64 `json:"held_numbers"`
	Queued      int64 `json:"queued"`
	ByNumber    []struct {
		PhoneNumberID string `json:"phone_number_id"`
		Pending       int64  `json:"pending"`
		Held          bool   `json:"held"`
	} `json:"by_number"`
}

// senderStats reads the sender's figures as an operator sees them.
func (r *sendRig) senderStats(t testing.TB) senderStats {
	t.Helper()
	if r.opsToken == "" {
		r.opsToken = signInOperator(t, r.env, r.base, "ops@sender.example.com")
	}
	var st struct{ Sender senderStats }
	if code := getJSON(t, r.base, r.opsToken, "/api/ops/stats", &st); code != http.StatusOK {
		t.Fatalf("GET /api/ops/stats: %d", code)
	}
	return st.Sender
}

// pending is how many sends of number the stats show waiting, and whether
// the number is held.
func (s senderStats) pending(number string) (int64, bool) {
	for _, n := range s.ByNumber {
		if n.PhoneNumberID == number {
			return n.Pending, n.Held
		}
	}
	return 0, false
}

// sendLog records when the simulator accepted each message (a 200 to POST
// /{phone-number-id}/messages), by number.
type sendLog struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (l *sendLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if sw.status == http.StatusOK {
			parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
			l.mu.Lock()
			l.at[parts[len(parts)-2]] = append(l.at[parts[len(parts)-2]], time.Now())
			l.mu.Unlock()
		}
	})
}

// rate is how many messages a second number sent, from its first accepted
// send to its last, and how many there were.
func (l *sendLog) rate(number string) (float64, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := l.at[number]
	if len(at) < 2 {
		return 0, len(at)
	}
	return float64(len(at)-1) / at[len(at)-1].Sub(at[0]).Seconds(), len(at)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func newSendRig(t *testing.T, o meta.SimOptions, args ...string) *sendRig {
	t.Helper()
	return newSendRigVia(t, o, nil, args...)
}

// newSendRigVia is newSendRig with the simulator's HTTP side behind wrap
// (nil: none), for tests that break Meta's answers.
func newSendRigVia(t *testing.T, o meta.SimOptions, wrap func(http.Handler) http.Handler, args ...string) *sendRig {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	if o.WebhookURL == "" {
		o.WebhookURL = base + "/api/webhook"
	}
	o.AppSecret = testSecret
	sim := meta.NewSimulatorWith(o)
	t.Cleanup(sim.Close)
	sends := &sendLog{at: map[string][]time.Time{}}
	var h http.Handler = sends.wrap(sim)
	if wrap != nil {
		h = wrap(h)
	}
	graph := httptest.NewServer(h)
	t.Cleanup(graph.Close)
	sim.AddNumber(simWABA, simPNID, "+1 555-030-0300", "Acme", simToken)
	env := map[string]string{
		"DATABASE_URL":      pgtest.URL(t),
		"WAM_DATA_DIR":      t.TempDir(),
		"META_APP_SECRET":   testSecret,
		"META_API_BASE_URL": graph.URL,
	}
	var created struct{ TenantID, APIKey string }
	out := mustRun(t, env, "tenant", "create", "--name", "Sender", "--requests-per-minute", "1000000")
	if err := json.Unmarshal([]byte(lastLine(out)), &struct {
		TenantID *string `json:"tenant_id"`
		APIKey   *string `json:"api_key"`
	}{&created.TenantID, &created.APIKey}); err != nil {
		t.Fatal(err)
	}
	r := &sendRig{apiKey: created.APIKey, tenant: created.TenantID, sim: sim, sends: sends, env: env}
	r.base, r.stop = startServe(t, env, append([]string{"--port", strconv.Itoa(port)}, args...)...)
	code, body := r.call(t, http.MethodPost, "/api/waba/credentials", "", map[string]any{
		"phone_number_id": simPNID, "display_phone_number": "+15550300300", "waba_id": simWABA, "access_token": simToken,
	})
	if code != http.StatusCreated {
		t.Fatalf("connect the number: %d %s", code, body)
	}
	var n struct{ ID string }
	_ = json.Unmarshal(body, &n)
	r.numberID = n.ID
	return r
}

// call sends a JSON request with the rig's API key.
func (r *sendRig) call(t testing.TB, method, path, idem string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		if s, ok := body.(string); ok {
			b = []byte(s)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.apiKey)
	req.Header.Set("Content-Type", "application/json")
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

type sentMsg struct {
	ID       string               `json:"id"`
	Wamid    string               `json:"wamid"`
	Status   string               `json:"status"`
	Type     string               `json:"type"`
	Statuses map[string]time.Time `json:"statuses"`
	Error    *struct {
		Code  int    `json:"code"`
		Title string `json:"title"`
	} `json:"error"`
}

// send posts a message and returns its id.
func (r *sendRig) send(t testing.TB, body string) sentMsg {
	t.Helper()
	code, out := r.call(t, http.MethodPost, "/api/messages", "", body)
	if code != http.StatusAccepted {
		t.Fatalf("send %s: %d %s", body, code, out)
	}
	var m sentMsg
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (r *sendRig) message(t testing.TB, id string) sentMsg {
	t.Helper()
	var m sentMsg
	code, out := r.call(t, http.MethodGet, "/api/messages/"+id, "", nil)
	if code == http.StatusOK {
		_ = json.Unmarshal(out, &m)
	}
	return m
}

// customer makes a simulated customer write, and waits until wam has the
// message (the 24-hour window is open then), returning its wam id.
func (r *sendRig) customer(t testing.TB, waID, text string) string {
	t.Helper()
	wamid, err := r.sim.CustomerWrites(context.Background(), simPNID, waID, "Kerry", text)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	await.Until(t, 20*time.Second, "the customer's message in wam", func() bool {
		var page struct{ Data []sentMsg }
		if code, out := r.call(t, http.MethodGet, "/api/messages?direction=inbound", "", nil); code == 200 {
			_ = json.Unmarshal(out, &page)
		}
		for _, m := range page.Data {
			if m.Wamid == wamid {
				id = m.ID
				return true
			}
		}
		return false
	})
	return id
}

// TestSendEveryTypeEndToEnd sends every message type through the API to a
// customer who wrote: each goes to the simulator and moves queued → sent →
// delivered → read in the read model, by the simulator's status webhooks.
// A send Meta refuses carries Meta's code and title; the simulator saw each
// message once.
func TestSendEveryTypeEndToEnd(t *testing.T) {
	t.Parallel()
	o := meta.SimOptions{SentAfter: 50 * time.Millisecond, DeliveredAfter: 50 * time.Millisecond, ReadAfter: 50 * time.Millisecond}
	r := newSendRig(t, o)
	r.sim.AddTemplate(simWABA, meta.Template{Name: "order_update", Language: "en_US", Category: "UTILITY",
		Components: json.RawMessage(`[{"type":"BODY","text":"Your order {{1}} is on its way."}]`)})
	r.syncTemplates(t) // a template send must name a template wam knows
	in := r.customer(t, "16505551234", "Does it come in blue?")
	to := `"to":"16505551234"`
	bodies := map[string]string{
		"text":             `{` + to + `,"type":"text","text":{"body":"Yes, in blue.","preview_url":false}}`,
		"reply":            `{` + to + `,"type":"text","text":{"body":"This one?"},"context":{"message_id":"` + in + `"}}`,
		"image":            `{` + to + `,"type":"image","image":{"link":"https://example.com/blue.jpg","caption":"blue"}}`,
		"audio":            `{` + to + `,"type":"audio","audio":{"link":"https://example.com/note.ogg"}}`,
		"video":            `{` + to + `,"type":"video","video":{"link":"https://example.com/demo.mp4","caption":"demo"}}`,
		"document":         `{` + to + `,"type":"document","document":{"link":"https://example.com/spec.pdf","filename":"spec.pdf"}}`,
		"sticker":          `{` + to + `,"type":"sticker","sticker":{"link":"https://example.com/s.webp"}}`,
		"location":         `{` + to + `,"type":"location","location":{"latitude":37.48,"longitude":-122.15,"name":"Shop"}}`,
		"contacts":         `{` + to + `,"type":"contacts","contacts":[{"name":{"formatted_name":"Ann Lee","first_name":"Ann"},"phones":[{"phone":"+16505550000","type":"WORK"}]}]}`,
		"buttons":          `{` + to + `,"type":"interactive","interactive":{"type":"button","body":{"text":"Which colour?"},"action":{"buttons":[{"type":"reply","reply":{"id":"blue","title":"Blue"}},{"type":"reply","reply":{"id":"red","title":"Red"}}]}}}`,
		"list":             `{` + to + `,"type":"interactive","interactive":{"type":"list","header":{"type":"text","text":"Sizes"},"body":{"text":"Pick a size"},"footer":{"text":"All in stock"},"action":{"button":"Sizes","sections":[{"title":"Shirts","rows":[{"id":"s","title":"Small"},{"id":"m","title":"Medium","description":"most sold"}]}]}}}`,
		"cta_url":          `{` + to + `,"type":"interactive","interactive":{"type":"cta_url","body":{"text":"See the catalogue"},"action":{"name":"cta_url","parameters":{"display_text":"Open","url":"https://example.com/catalogue"}}}}`,
		"location_request": `{` + to + `,"type":"interactive","interactive":{"type":"location_request_message","body":{"text":"Where shall we deliver?"},"action":{"name":"send_location"}}}`,
		"reaction":         `{` + to + `,"type":"reaction","reaction":{"message_id":"` + in + `","emoji":"👍"}}`,
		"template":         `{` + to + `,"type":"template","template":{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"#1234"}]}]}}`,
	}
	sent := map[string]string{}
	for name, body := range bodies {
		sent[name] = r.send(t, body).ID
	}
	await.Until(t, 60*time.Second, "every message read", func() bool {
		for name, id := range sent {
			m := r.message(t, id)
			if name == "reaction" {
				if m.Status != "read" && m.Status != "delivered" && m.Status != "sent" {
					return false
				}
				continue
			}
			if m.Status != "read" {
				return false
			}
		}
		return true
	})
	for name, id := range sent {
		m := r.message(t, id)
		if m.Wamid == "" || m.Statuses["queued"].IsZero() || m.Statuses["accepted"].IsZero() || m.Statuses["sent"].IsZero() {
			t.Errorf("%s: wamid %q, statuses %v", name, m.Wamid, m.Statuses)
		}
	}
	st := r.sim.Stats()
	for name, id := range sent {
		if n := st.ByCallback["wam:"+id]; n != 1 {
			t.Errorf("%s was sent %d times, want once", name, n)
		}
	}

	// Meta refuses a template with the wrong parameters: failed, with
	// Meta's code and title. (wam refuses such a send itself when it knows
	// the number's WABA; this number was connected without its WABA id.)
	const other = "300300301"
	r.sim.AddNumber(simWABA, other, "+1 555-030-0301", "Acme", simToken)
	if code, out := r.call(t, http.MethodPost, "/api/waba/credentials", "", map[string]any{
		"phone_number_id": other, "display_phone_number": "+15550300301", "access_token": simToken,
	}); code != http.StatusCreated {
		t.Fatalf("connect a number without its WABA id: %d %s", code, out)
	}
	bad := r.send(t, `{`+to+`,"phone_number_id":"`+other+`","type":"template","template":{"name":"order_update","language":{"code":"en_US"}}}`)
	var m sentMsg
	await.Until(t, 30*time.Second, "the refused send failed", func() bool {
		m = r.message(t, bad.ID)
		return m.Status == "failed"
	})
	if m.Error == nil || m.Error.Code != 132000 || m.Error.Title == "" {
		t.Errorf("failed send: error %+v, want Meta's 132000 with its title", m.Error)
	}
	if st := r.sim.Stats(); st.ByCallback["wam:"+bad.ID] != 0 || st.Rejected[strconv.Itoa(132000)] != 1 {
		t.Errorf("the refused template: sent %d, rejected %v", st.ByCallback["wam:"+bad.ID], st.Rejected)
	}

}

// templates sends the approved template "hello" (no parameters) to n
// distinct recipients, or to one when one is set, and returns the ids.
func (r *sendRig) templates(t testing.TB, n int, one string) []string {
	t.Helper()
	ids := make([]string, n)
	send := func(i int) {
		to := one
		if to == "" {
			to = fmt.Sprintf("1650777%04d", i)
		}
		ids[i] = r.send(t, `{"to":"`+to+`","type":"template","template":{"name":"hello","language":{"code":"en_US"}}}`).ID
	}
	if one != "" {
		for i := range ids { // one recipient: in order
			send(i)
		}
		return ids
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				send(i)
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	return ids
}

// settled waits until every message of ids is accepted or beyond (or
// failed), and returns them.
func (r *sendRig) settled(t testing.TB, timeout time.Duration, ids []string) map[string]sentMsg {
	t.Helper()
	got := map[string]sentMsg{}
	await.Until(t, timeout, fmt.Sprintf("%d messages settled", len(ids)), func() bool {
		for _, id := range ids {
			if m, ok := got[id]; ok && m.Status != "queued" {
				continue
			}
			m := r.message(t, id)
			if m.Status == "" || m.Status == "queued" {
				return false
			}
			got[id] = m
		}
		return true
	})
	return got
}

// addHello gives the number's WABA the approved template "hello" at Meta,
// and syncs it into wam, which checks template sends against its list.
func (r *sendRig) addHello(t testing.TB) {
	t.Helper()
	r.sim.AddTemplate(simWABA, meta.Template{Name: "hello", Language: "en_US", Category: "UTILITY",
		Components: json.RawMessage(`[{"type":"BODY","text":"Hello from Acme."}]`)})
	r.syncTemplates(t)
}

// TestSendKeepsNumberRate: 500 messages from one number limited to 20 a
// second: the simulator never refuses one for throughput (130429), never
// sees more than 20 in a second, and the rate it sees is within 5% of 20.
func TestSendKeepsNumberRate(t *testing.T) {
	if testing.Short() {
		t.Skip("25 s of sending: not in -short")
	}
	// Not in parallel with the others: it measures a rate.
	r := newSendRig(t, meta.SimOptions{})
	r.addHello(t)
	r.sim.SetThroughput(simPNID, 20)
	if code, body := r.call(t, http.MethodPatch, "/api/waba/credentials/"+r.numberID, "", map[string]any{"messages_per_second": 20}); code != 200 {
		t.Fatalf("set the rate: %d %s", code, body)
	}
	ids := r.templates(t, 500, "")
	got := r.settled(t, 90*time.Second, ids)
	for id, m := range got {
		if m.Status == "failed" {
			t.Errorf("%s failed: %+v", id, m.Error)
		}
	}
	st := r.sim.Stats()
	rate, n := r.sends.rate(simPNID)
	t.Logf("%d sent at %.2f/s; the most in one second %d; refused %v", n, rate, st.MaxPerSecond[simPNID], st.Rejected)
	if st.Rejected["130429"] != 0 {
		t.Errorf("the simulator refused %d sends for throughput", st.Rejected["130429"])
	}
	if st.MaxPerSecond[simPNID] > 20 {
		t.Errorf("%d sends in one second, beyond the number's 20", st.MaxPerSecond[simPNID])
	}
	if n != 500 || rate < 19 || rate > 20 {
		t.Errorf("%d sends at %.2f/s, want 500 within 5%% of 20/s", n, rate)
	}
}

// TestSendKeepsPairRate: a burst of messages to one recipient goes out in
// the pair rate's burst, then one per interval; the simulator, which
// enforces the same pair rate, refuses none (131056).
func TestSendKeepsPairRate(t *testing.T) {
	t.Parallel()
	r := newSendRig(t, meta.SimOptions{PairInterval: time.Second, PairBurst: 5}, "--pair-interval", "1s", "--pair-burst", "5")
	r.addHello(t)
	ids := r.templates(t, 10, "16505550101")
	got := r.settled(t, 60*time.Second, ids)
	for id, m := range got {
		if m.Status == "failed" {
			t.Errorf("%s failed: %+v", id, m.Error)
		}
	}
	if st := r.sim.Stats(); st.Rejected["131056"] != 0 {
		t.Errorf("the simulator refused %d sends for the pair rate", st.Rejected["131056"])
	}
	r.sends.mu.Lock()
	at := r.sends.at[simPNID]
	r.sends.mu.Unlock()
	if len(at) != 10 {
		t.Fatalf("%d sends, want 10", len(at))
	}
	// After the burst of 5, one a second: the 10th no sooner than ~5 s
	// after the first.
	if gap := at[9].Sub(at[0]); gap < 4500*time.Millisecond {
		t.Errorf("10 messages to one recipient within %s: the pair rate allows 5 then 1/s", gap)
	}
}

// TestSendHoldsOnInvalidToken: when Meta refuses a number's token (190),
// its sends wait instead of failing one by one, the number shows the token
// invalid; a new token resumes them, each sent once.
func TestSendHoldsOnInvalidToken(t *testing.T) {
	t.Parallel()
	r := newSendRig(t, meta.SimOptions{})
	r.addHello(t)
	first := r.templates(t, 1, "")
	r.settled(t, 30*time.Second, first)

	const newToken = "EAAGsimulated-access-token-for-tests-0002"
	r.sim.AddNumber(simWABA, simPNID, "+1 555-030-0300", "Acme", newToken) // the old token no longer works
	held := r.templates(t, 5, "")
	await.Until(t, 30*time.Second, "the number's token marked invalid", func() bool {
		_, body := r.call(t, http.MethodGet, "/api/waba/credentials", "", nil)
		return strings.Contains(string(body), `"token_status":"invalid"`)
	})
	for _, id := range held {
		var m sentMsg
		await.Until(t, 10*time.Second, "the held message projected", func() bool {
			m = r.message(t, id)
			return m.Status != ""
		})
		if m.Status != "queued" {
			t.Errorf("%s while the number is held: %s, want queued", id, m.Status)
		}
	}
	// The operators see the number held with its five sends waiting.
	if st := r.senderStats(t); st.HeldNumbers != 1 || st.Queued != 5 || !st.Active {
		t.Errorf("sender stats while held: %+v", st)
	} else if n, held := st.pending(simPNID); n != 5 || !held {
		t.Errorf("the held number: %d pending, held %v; want 5, held", n, held)
	}
	if code, body := r.call(t, http.MethodPatch, "/api/waba/credentials/"+r.numberID, "", map[string]any{"access_token": newToken}); code != 200 {
		t.Fatalf("replace the token: %d %s", code, body)
	}
	for id, m := range r.settled(t, 60*time.Second, held) {
		if m.Status == "failed" {
			t.Errorf("%s failed after the new token: %+v", id, m.Error)
		}
		if n := r.sim.Stats().ByCallback["wam:"+id]; n != 1 {
			t.Errorf("%s sent %d times", id, n)
		}
	}
}

// TestSendRetriesOrFails: a throughput refusal (130429) is retried until
// Meta takes the message, which is then sent once; an undeliverable one
// (131026) fails at once with Meta's code.
func TestSendRetriesOrFails(t *testing.T) {
	t.Parallel()
	r := newSendRig(t, meta.SimOptions{})
	r.addHello(t)
	r.sim.SetFaults(meta.Faults{ErrorShare: 1, ErrorCode: 131026})
	failed := r.templates(t, 1, "")[0]
	var m sentMsg
	await.Until(t, 20*time.Second, "the undeliverable message failed", func() bool {
		m = r.message(t, failed)
		return m.Status == "failed"
	})
	if m.Error == nil || m.Error.Code != 131026 {
		t.Errorf("failed with %+v, want code 131026", m.Error)
	}
	if n := r.sim.Stats().Rejected["131026"]; n != 1 {
		t.Errorf("the undeliverable message was tried %d times, want once", n)
	}

	r.sim.SetFaults(meta.Faults{ErrorShare: 1, ErrorCode: 130429})
	retried := r.templates(t, 1, "")[0]
	await.Until(t, 20*time.Second, "refusals for throughput", func() bool { return r.sim.Stats().Rejected["130429"] >= 2 })
	if m := r.message(t, retried); m.Status != "queued" {
		t.Errorf("while Meta refuses for throughput: %s, want queued", m.Status)
	}
	// The operators see the retries and the send waiting on its number.
	var st senderStats
	await.Until(t, 20*time.Second, "the sender's retries in the stats", func() bool {
		st = r.senderStats(t)
		return st.Retries >= 2
	})
	if n, held := st.pending(simPNID); n != 1 || held || !st.Active || !st.InProcess {
		t.Errorf("sender stats while retrying: %+v", st)
	}
	r.sim.SetFaults(meta.Faults{})
	got := r.settled(t, 60*time.Second, []string{retried})
	if got[retried].Status == "failed" {
		t.Errorf("the retried message failed: %+v", got[retried].Error)
	}
	if n := r.sim.Stats().ByCallback["wam:"+retried]; n != 1 {
		t.Errorf("the retried message was sent %d times", n)
	}
}

// TestSendSurvivesSIGKILL kills a real `wam serve` with SIGKILL while it
// sends a burst of 1,000 messages, and starts it again: the simulator saw
// every message exactly once, and every message's outcome is recorded.
func TestSendSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not in -short")
	}
	t.Parallel()
	bin := buildWam(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	sim := meta.NewSimulatorWith(meta.SimOptions{WebhookURL: base + "/api/webhook", AppSecret: testSecret,
		SentAfter: 100 * time.Millisecond, DeliveredAfter: 100 * time.Millisecond, ReadAfter: time.Hour})
	t.Cleanup(sim.Close)
	graph := httptest.NewServer(sim)
	t.Cleanup(graph.Close)
	sim.AddNumber(simWABA, simPNID, "+1 555-030-0300", "Acme", simToken)
	r := &sendRig{base: base, sim: sim}
	env := map[string]string{
		"DATABASE_URL": pgtest.URL(t), "WAM_DATA_DIR": t.TempDir(), "META_APP_SECRET": testSecret,
		"META_API_BASE_URL": graph.URL, "WAM_SEND_SETTLE_WAIT": "3s", "LOG_LEVEL": "warn", "PATH": os.Getenv("PATH"),
	}
	var created struct{ TenantID, APIKey string }
	out := mustRun(t, env, "tenant", "create", "--name", "Burst", "--requests-per-minute", "1000000")
	if err := json.Unmarshal([]byte(lastLine(out)), &struct {
		TenantID *string `json:"tenant_id"`
		APIKey   *string `json:"api_key"`
	}{&created.TenantID, &created.APIKey}); err != nil {
		t.Fatal(err)
	}
	r.apiKey = created.APIKey
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--port", strconv.Itoa(port))
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-serving(stdout):
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("wam serve did not start")
		}
		return cmd
	}
	cmd := start()
	if code, body := r.call(t, http.MethodPost, "/api/waba/credentials", "", map[string]any{
		"phone_number_id": simPNID, "display_phone_number": "+15550300300", "waba_id": simWABA, "access_token": simToken,
	}); code != http.StatusCreated {
		t.Fatalf("connect: %d %s", code, body)
	}
	r.addHello(t)
	// 40 a second: the burst takes 25 s, and is still going when all 1000
	// are queued.
	sim.SetThroughput(simPNID, 40)
	var n struct{ ID string }
	_, body := r.call(t, http.MethodGet, "/api/waba/credentials", "", nil)
	var list struct{ Data []struct{ ID string } }
	_ = json.Unmarshal(body, &list)
	n.ID = list.Data[0].ID
	if code, body := r.call(t, http.MethodPatch, "/api/waba/credentials/"+n.ID, "", map[string]any{"messages_per_second": 40}); code != 200 {
		t.Fatalf("set the rate: %d %s", code, body)
	}
	ids := r.templates(t, 1000, "")
	// Kill it about a third of the way.
	await.Until(t, 60*time.Second, "a third of the burst sent", func() bool { return r.sim.Stats().Accepted >= 330 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	t.Logf("killed with %d of 1000 accepted by Meta", r.sim.Stats().Accepted)

	cmd = start()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	got := r.settled(t, 120*time.Second, ids)
	st := r.sim.Stats()
	for _, id := range ids {
		if n := st.ByCallback["wam:"+id]; n != 1 {
			t.Errorf("message %s was sent %d times", id, n)
		}
		if m := got[id]; m.Status == "failed" || m.Wamid == "" {
			t.Errorf("message %s: %s, wamid %q", id, m.Status, m.Wamid)
		}
	}
	if st.Accepted != 1000 {
		t.Errorf("the simulator accepted %d messages, want 1000", st.Accepted)
	}
}

// TestTwoSendersKeepTheRate: two wam serve processes on one stream and one
// database, both taking sends, keep a number's limit together (one sender
// is active, the other stands by), and when the active one stops the other
// takes over: every message sent once.
func TestTwoSendersKeepTheRate(t *testing.T) {
	t.Parallel()
	// A NATS server of the test's: either serve may stop.
	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	// Meta's webhooks go to whichever serve answers, as behind a load
	// balancer: a status must settle an attempt whatever serve is up.
	var lbMu sync.Mutex
	var backends []string
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		lbMu.Lock()
		targets := slices.Clone(backends)
		lbMu.Unlock()
		for _, b := range targets {
			fwd, _ := http.NewRequest(req.Method, b+req.URL.RequestURI(), bytes.NewReader(body))
			fwd.Header = req.Header.Clone()
			resp, err := http.DefaultClient.Do(fwd)
			if err != nil {
				continue
			}
			resp.Body.Close()
			w.WriteHeader(resp.StatusCode)
			return
		}
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(lb.Close)
	r := newSendRig(t, meta.SimOptions{WebhookURL: lb.URL + "/api/webhook"}, "--nats-url", ns.ClientURL())
	lbMu.Lock()
	backends = append(backends, r.base)
	lbMu.Unlock()
	r.addHello(t)
	r.sim.SetThroughput(simPNID, 20)
	if code, body := r.call(t, http.MethodPatch, "/api/waba/credentials/"+r.numberID, "", map[string]any{"messages_per_second": 20}); code != 200 {
		t.Fatalf("set the rate: %d %s", code, body)
	}
	env2 := map[string]string{}
	for k, v := range r.env {
		env2[k] = v
	}
	// The same data dir: both need the key that seals the numbers' tokens
	// (its NATS and PostgreSQL are elsewhere).
	second := &sendRig{apiKey: r.apiKey, sim: r.sim}
	second.base, second.stop = startServe(t, env2, "--nats-url", ns.ClientURL())
	lbMu.Lock()
	backends = append(backends, second.base)
	lbMu.Unlock()

	ids := append(r.templates(t, 100, ""), second.templates(t, 100, "")...)
	// The first serve stops while sends are under way; the second goes on.
	await.Until(t, 30*time.Second, "sends under way", func() bool { return r.sim.Stats().Accepted >= 40 })
	if err := r.stop(); err != nil {
		t.Fatalf("stop the first serve: %v", err)
	}
	got := second.settled(t, 90*time.Second, ids)
	st := r.sim.Stats()
	for _, id := range ids {
		if n := st.ByCallback["wam:"+id]; n != 1 || got[id].Status == "failed" {
			t.Errorf("message %s: sent %d times, %s", id, n, got[id].Status)
		}
	}
	if st.Rejected["130429"] != 0 || st.MaxPerSecond[simPNID] > 20 {
		t.Errorf("two senders: %d refused for throughput, at most %d in a second (limit 20)", st.Rejected["130429"], st.MaxPerSecond[simPNID])
	}
}

// TestSendIdempotentAcrossRestarts: a send repeated with its
// Idempotency-Key after wam restarted, and after JetStream's duplicate
// window passed, is the same message, sent once; the key with another
// body is refused.
func TestSendIdempotentAcrossRestarts(t *testing.T) {
	t.Parallel()
	r := newSendRig(t, meta.SimOptions{SentAfter: 10 * time.Millisecond}, "--duplicate-window", "500ms")
	r.customer(t, "16505551234", "hi")
	body := `{"to":"16505551234","type":"text","text":{"body":"only once"}}`
	code, out := r.call(t, http.MethodPost, "/api/messages", "order-42-confirmation", body)
	var first sentMsg
	if err := json.Unmarshal(out, &first); code != http.StatusAccepted || err != nil {
		t.Fatalf("send: %d %s", code, out)
	}
	r.settled(t, 30*time.Second, []string{first.ID})
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	// Past the duplicate window, which no longer remembers the request.
	<-time.After(time.Second)
	port := strings.TrimPrefix(r.base, "http://127.0.0.1:")
	r.base, r.stop = startServe(t, r.env, "--port", port, "--duplicate-window", "500ms")

	code, out = r.call(t, http.MethodPost, "/api/messages", "order-42-confirmation", body)
	var again sentMsg
	if err := json.Unmarshal(out, &again); code != http.StatusAccepted || err != nil || again.ID != first.ID {
		t.Fatalf("repeat after the restart: %d %s, want message %s", code, out, first.ID)
	}
	if again.Status == "queued" {
		t.Errorf("the repeat answers the message as queued; it was sent already")
	}
	if code, out := r.call(t, http.MethodPost, "/api/messages", "order-42-confirmation", `{"to":"16505551234","type":"text","text":{"body":"something else"}}`); code != http.StatusUnprocessableEntity {
		t.Errorf("the key with another body: %d %s, want 422", code, out)
	}
	if n := r.sim.Stats().ByCallback["wam:"+first.ID]; n != 1 {
		t.Errorf("sent %d times, want once", n)
	}
}

// TestServeDemo: `wam serve --demo` on a fresh data dir: within 30 s the
// demo owner logs in and sees conversations simulated customers wrote; a
// reply goes out and reaches read.
func TestServeDemo(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "WAM_DATA_DIR": t.TempDir()}
	base, _ := startServe(t, env, "--demo", "--demo-rate", "1")
	deadline := time.Now().Add(30 * time.Second)
	var session struct {
		AccessToken string `json:"access_token"`
	}
	await.Until(t, time.Until(deadline), "the demo owner logs in", func() bool {
		resp, err := http.Post(base+"/api/auth/login", "application/json", strings.NewReader(`{"email":"demo@wam.local","password":"wam-demo"}`))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&session) == nil
	})
	r := &sendRig{base: base, apiKey: session.AccessToken}
	var conv string
	await.Until(t, time.Until(deadline), "a conversation a simulated customer started", func() bool {
		var page struct {
			Data []struct {
				ID              string  `json:"id"`
				WindowExpiresAt *string `json:"window_expires_at"`
			}
		}
		if code, out := r.call(t, http.MethodGet, "/api/conversations", "", nil); code == 200 {
			_ = json.Unmarshal(out, &page)
		}
		for _, c := range page.Data {
			if c.WindowExpiresAt != nil {
				conv = c.ID
				return true
			}
		}
		return false
	})
	reply := r.send(t, `{"conversation_id":"`+conv+`","type":"text","text":{"body":"Thanks for writing! How can we help?"}}`)
	await.Until(t, 60*time.Second, "the reply read", func() bool { return r.message(t, reply.ID).Status == "read" })
}
