package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/sql/pgtest"
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
	sim                  *meta.Simulator
	stop                 func() error
	env                  map[string]string
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
	o.WebhookURL, o.AppSecret = base+"/api/webhook", testSecret
	sim := meta.NewSimulatorWith(o)
	t.Cleanup(sim.Close)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
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
	r := &sendRig{apiKey: created.APIKey, tenant: created.TenantID, sim: sim, env: env}
	r.base, r.stop = startServe(t, env, append([]string{"--port", strconv.Itoa(port)}, args...)...)
	code, body := r.call(t, http.MethodPost, "/api/waba/credentials", "", map[string]any{
		"phone_number_id": simPNID, "display_phone_number": "+15550300300", "waba_id": simWABA, "access_token": simToken,
	})
	if code != http.StatusCreated {
		t.Fatalf("connect the number: %d %s", code, body)
	}
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
	eventually(t, 20*time.Second, "the customer's message in wam", func() bool {
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
	eventually(t, 60*time.Second, "every message read", func() bool {
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
	// Meta's code and title.
	bad := r.send(t, `{`+to+`,"type":"template","template":{"name":"order_update","language":{"code":"en_US"}}}`)
	var m sentMsg
	eventually(t, 30*time.Second, "the refused send failed", func() bool {
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
