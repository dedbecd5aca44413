package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"
	"time"
)

// mediaOf is the media object member typ of inbound message m.
func mediaOf(tb testing.TB, m map[string]json.RawMessage, typ string) (id, mime, sum string) {
	tb.Helper()
	var o struct {
		ID       string `json:"id"`
		MimeType string `json:"mime_type"`
		SHA256   string `json:"sha256"`
	}
	if err := json.Unmarshal(m[typ], &o); err != nil || o.ID == "" {
		tb.Fatalf("message without its %s: %v", typ, m)
	}
	return o.ID, o.MimeType, o.SHA256
}

func TestSimCustomersWriteEveryKind(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{})
	ctx := context.Background()
	waID := testCustomer // msg() writes to them
	deliver := func(kind string) map[string]json.RawMessage {
		t.Helper()
		wamid, err := e.sim.CustomerSends(ctx, testNumber, waID, "", kind)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, kind+" to arrive", func() bool { return e.hooks.message(wamid) != nil })
		m := e.hooks.message(wamid)
		if jsonStr(m["from"]) != waID {
			t.Errorf("%s from %s", kind, m["from"])
		}
		return m
	}
	download := func(id string) []byte {
		t.Helper()
		info, err := e.client.Media(ctx, id, testToken)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := e.client.DownloadMedia(ctx, info.URL, testToken, &b, 1<<20); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}

	img := deliver(CustomerImage)
	id, mime, sum := mediaOf(t, img, "image")
	photo := download(id)
	if _, err := jpeg.Decode(bytes.NewReader(photo)); err != nil || mime != "image/jpeg" || !SHA256Matches(photo, sum) {
		t.Errorf("the photo (%s, sha256 %s) is not the JPEG it claims: %v", mime, sum, err)
	}
	voice := deliver(CustomerVoice)
	id, mime, sum = mediaOf(t, voice, "audio")
	note := download(id)
	if !bytes.HasPrefix(note, []byte("OggS")) || !bytes.Contains(note, []byte("OpusHead")) || mime != "audio/ogg; codecs=opus" ||
		!SHA256Matches(note, sum) || string(voice["audio"]) == "" || !strings.Contains(string(voice["audio"]), `"voice":true`) {
		t.Errorf("voice note %s", voice["audio"])
	}
	if loc := deliver(CustomerLocation); !strings.Contains(string(loc["location"]), "latitude") {
		t.Errorf("location %s", loc["location"])
	}

	// Replies need something of the business's to answer to.
	if m := deliver(CustomerButtonReply); jsonStr(m["type"]) != "text" {
		t.Errorf("a button reply with no buttons sent is text: %v", m)
	}
	r, err := e.send(t, msg("interactive", interactive("button", map[string]any{"buttons": buttons(2)})))
	if err != nil {
		t.Fatal(err)
	}
	m := deliver(CustomerButtonReply)
	var reply struct {
		Type        string `json:"type"`
		ButtonReply struct {
			ID, Title string
		} `json:"button_reply"`
	}
	var context struct{ From, ID string }
	_ = json.Unmarshal(m["interactive"], &reply)
	_ = json.Unmarshal(m["context"], &context)
	if reply.Type != "button_reply" || !strings.HasPrefix(reply.ButtonReply.ID, "b") || context.ID != r.MessageID || context.From != "15550783881" {
		t.Errorf("button reply %s, context %s", m["interactive"], m["context"])
	}
	r, err = e.send(t, msg("interactive", interactive("list", map[string]any{"button": "Pick", "sections": []any{map[string]any{"rows": rows(3)}}})))
	if err != nil {
		t.Fatal(err)
	}
	if m := deliver(CustomerListReply); !strings.Contains(string(m["interactive"]), `"list_reply"`) || !strings.Contains(string(m["context"]), r.MessageID) {
		t.Errorf("list reply %s", m["interactive"])
	}
	if m := deliver(CustomerReaction); !strings.Contains(string(m["reaction"]), r.MessageID) {
		t.Errorf("reaction %s", m["reaction"])
	}
	if m := deliver(CustomerReply); !strings.Contains(string(m["context"]), r.MessageID) || jsonStr(m["type"]) != "text" {
		t.Errorf("reply %v", m)
	}
	if _, err := e.sim.CustomerSends(ctx, testNumber, waID, "", "telegram"); err == nil {
		t.Error("an unknown kind is accepted")
	}
	if _, err := e.sim.CustomerWrites(ctx, "404", waID, "", "hi"); err == nil {
		t.Error("a message to an unknown number is accepted")
	}
}

func TestSimCustomersInBackground(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{CustomerRate: 500, Customers: 5})
	waitFor(t, "customers to write", func() bool { return len(e.hooks.received()) >= 20 })
	e.sim.Close()
	st := e.sim.Stats()
	senders := map[string]bool{}
	for _, w := range e.hooks.received() {
		for _, c := range w.Entry[0].Changes {
			for _, m := range c.Value.Messages {
				senders[jsonStr(m["from"])] = true
			}
		}
	}
	if st.CustomerMessages < 20 || len(senders) < 2 || len(senders) > 5 {
		t.Errorf("%d customer messages from %d senders", st.CustomerMessages, len(senders))
	}
	// After Close nobody writes any more.
	n := e.sim.Stats().CustomerMessages
	if _, err := e.sim.CustomerWrites(context.Background(), testNumber, testCustomer, "", "late"); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Stats().CustomerMessages; got != n+1 {
		t.Errorf("background customers went on after Close: %d, then %d", n, got)
	}
}

func TestSimHTTPControl(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{})
	status, answer := e.post(t, "/_sim/customers/messages", map[string]any{"phone_number_id": testNumber, "wa_id": testCustomer, "name": "Ana", "text": "Olá"})
	wamid, _ := answer["wamid"].(string)
	if status != 200 || !strings.HasPrefix(wamid, "wamid.") {
		t.Fatalf("customer message: %d %v", status, answer)
	}
	waitFor(t, "the message", func() bool { return e.hooks.message(wamid) != nil })
	if m := e.hooks.message(wamid); !strings.Contains(string(m["text"]), `\u00e1`) {
		t.Errorf("text %s, escaped the way Meta does", m["text"])
	}
	if _, err := e.send(t, textTo(testCustomer)); err != nil {
		t.Fatalf("the customer's message opened the window: %v", err)
	}
	status, answer = e.post(t, "/_sim/numbers", map[string]any{"waba_id": "300", "phone_number_id": "301", "display_phone_number": "+1 555 000 0301", "access_token": "EAAG-301", "throughput": 20})
	if status != 200 || len(answer["customers"].([]any)) != 20 {
		t.Errorf("add number: %d %v", status, answer)
	}
	status, _ = e.post(t, "/_sim/templates", map[string]any{"waba_id": testWABA, "name": "welcome", "language": "en", "category": "MARKETING", "components": []any{map[string]any{"type": "BODY", "text": "Welcome"}}})
	if status != 200 {
		t.Errorf("add template: %d", status)
	}
	status, answer = e.post(t, "/_sim/faults", map[string]any{"error_share": 1, "error_code": CodeThroughput, "latency": "1ms"})
	if status != 200 || answer["latency"] != "1ms" {
		t.Errorf("faults: %d %v", status, answer)
	}
	if _, err := e.send(t, textTo(testCustomer)); graphErr(t, err).Code != CodeThroughput {
		t.Errorf("with every send failing: %v", err)
	}
	resp, err := http.Get(e.srv.URL + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st SimStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Accepted != 1 || len(st.Sends) != 1 || st.Rejected["130429"] != 1 || st.CustomerMessages != 1 || st.MaxPerSecond[testNumber] != 1 {
		t.Errorf("stats %+v", st)
	}
	for sendWamid, s := range st.Sends {
		if s.To != testCustomer || s.PhoneNumberID != testNumber || s.Type != "text" || !strings.HasPrefix(sendWamid, "wamid.") {
			t.Errorf("send %s: %+v", sendWamid, s)
		}
	}
	if status, _ := e.post(t, "/_sim/nothing", map[string]any{}); status != 404 {
		t.Errorf("unknown endpoint: %d", status)
	}
}

func TestSimFaultBursts(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newSimEnv(t, SimOptions{Now: clock.Now, Faults: Faults{BurstEvery: time.Minute, BurstLength: 10 * time.Second}})
	lookup := func() error { _, err := e.client.PhoneNumber(context.Background(), testNumber, testToken); return err }
	if err := lookup(); err != nil {
		t.Fatalf("before the first burst: %v", err)
	}
	clock.Advance(time.Minute)
	if ge := graphErr(t, lookup()); ge.Status != http.StatusServiceUnavailable || ge.Code != CodeServiceUnavailable {
		t.Errorf("during a burst: %v", ge)
	}
	clock.Advance(10 * time.Second)
	if err := lookup(); err != nil {
		t.Errorf("after the burst: %v", err)
	}
	clock.Advance(50 * time.Second)
	if lookup() == nil {
		t.Error("the next burst did not come")
	}
}
