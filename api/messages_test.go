package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// recentText is a webhook of one text message the customer from sent just
// now, which opens the 24-hour window.
func recentText(waba, pnid, wamid, from string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":%q,"changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},"contacts":[{"profile":{"name":"Kerry"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"timestamp":"%d","text":{"body":"hello?"},"type":"text"}]},"field":"messages"}]}]}`,
		waba, pnid, from, from, wamid, time.Now().Unix()))
}

// sendMsg posts body to path with the API key and, when set, an
// Idempotency-Key.
func (e *env) sendMsg(path, key, idem string, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

type sentMessage struct {
	ID             string          `json:"id"`
	ConversationID string          `json:"conversation_id"`
	Direction      string          `json:"direction"`
	Type           string          `json:"type"`
	Status         string          `json:"status"`
	Preview        string          `json:"preview"`
	Content        json.RawMessage `json:"content"`
	ReplyTo        *string         `json:"reply_to"`
}

func decodeSent(t *testing.T, rec *httptest.ResponseRecorder) sentMessage {
	t.Helper()
	if rec.Code != http.StatusAccepted {
		t.Fatalf("send: %d %s", rec.Code, rec.Body)
	}
	var m sentMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSendQueued: a send is stored as a request and answered 202 with the
// message queued; projected, it is in the conversation the customer wrote
// in, its last message, without counting as unread.
func TestSendQueued(t *testing.T) {
	e := newEnv(t)
	tn := e.mustTenant("100", "111")
	in := recentText("100", "111", "wamid.in.1", "16505551234")
	if rec := e.post(in, sign(in)); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	e.project(t)
	m := decodeSent(t, e.sendMsg("/api/messages", tn.APIKey, "", `{"to":"+1 650-555-1234","type":"text","text":{"body":"Yes, in blue."}}`))
	if m.Status != "queued" || m.Direction != "outbound" || m.Type != "text" || m.Preview != "Yes, in blue." {
		t.Errorf("answer: %+v", m)
	}
	e.project(t)
	var got sentMessage
	e.mustGet(t, "/api/messages/"+m.ID, tn.APIKey, &got)
	if got.Status != "queued" || got.ConversationID != m.ConversationID || !strings.Contains(string(got.Content), "Yes, in blue.") {
		t.Errorf("projected: %+v", got)
	}
	var conv struct {
		UnreadCount        int    `json:"unread_count"`
		LastMessagePreview string `json:"last_message_preview"`
		Contact            struct {
			WaID string `json:"wa_id"`
		} `json:"contact"`
	}
	e.mustGet(t, "/api/conversations/"+m.ConversationID, tn.APIKey, &conv)
	if conv.UnreadCount != 1 || conv.LastMessagePreview != "Yes, in blue." || conv.Contact.WaID != "16505551234" {
		t.Errorf("conversation after the reply: %+v", conv)
	}

	// In the conversation by its id, and the aliases of the old product.
	decodeSent(t, e.sendMsg("/api/messages", tn.APIKey, "", `{"conversation_id":"`+m.ConversationID+`","type":"reaction","reaction":{"message_id":"wamid.in.1","emoji":"👍"}}`))
	decodeSent(t, e.sendMsg("/api/messages/send", tn.APIKey, "", `{"conversation_id":"`+m.ConversationID+`","text":"alias"}`))
	decodeSent(t, e.sendMsg("/api/messages/send-media", tn.APIKey, "", `{"to":"16505551234","type":"image","link":"https://example.com/a.jpg","caption":"look"}`))
	decodeSent(t, e.sendMsg("/api/messages/send-template", tn.APIKey, "", `{"to":"16505550000","name":"order_update","language":"en_US"}`))
	e.project(t)
	var page struct {
		Data []sentMessage `json:"data"`
	}
	e.mustGet(t, "/api/messages?direction=outbound&conversation_id="+m.ConversationID, tn.APIKey, &page)
	if len(page.Data) != 4 {
		t.Errorf("outbound messages of the conversation: %d, want 4", len(page.Data))
	}
}

// TestSendWindow: outside the 24-hour window only templates go out; the
// refusal says when the window closed.
func TestSendWindow(t *testing.T) {
	e := newEnv(t)
	tn := e.mustTenant("100", "111")
	old := textWebhook("100", "111", "wamid.old", "16505551234", "long ago") // 2024
	e.post(old, sign(old))
	e.project(t)
	for _, c := range []struct{ to, expires string }{{"16505551234", `"window_expires_at":"2024-06-11T06:13:20Z"`}, {"16505559999", `"window_expires_at":null`}} {
		rec := e.sendMsg("/api/messages", tn.APIKey, "", `{"to":"`+c.to+`","type":"text","text":{"body":"hi"}}`)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"type":"https://wam.dev/problems/window-closed"`) ||
			!strings.Contains(rec.Body.String(), c.expires) {
			t.Errorf("free-form to %s outside the window: %d %s", c.to, rec.Code, rec.Body)
		}
	}
	decodeSent(t, e.sendMsg("/api/messages", tn.APIKey, "", `{"to":"16505559999","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`))
}

// TestSendIdempotent: a repeat with the same Idempotency-Key and body is the
// same message, before and after it is projected; another body with that
// key is refused; nothing is stored twice.
func TestSendIdempotent(t *testing.T) {
	e := newEnv(t)
	tn := e.mustTenant("100", "111")
	in := recentText("100", "111", "wamid.in.1", "16505551234")
	e.post(in, sign(in))
	e.project(t)
	body := `{"to":"16505551234","type":"text","text":{"body":"once"}}`
	first := decodeSent(t, e.sendMsg("/api/messages", tn.APIKey, "k-1", body))
	again := decodeSent(t, e.sendMsg("/api/messages", tn.APIKey, "k-1", ` {"type":"text","text":{"body":"once"},"to":"16505551234"}`))
	if again.ID != first.ID {
		t.Fatalf("repeat: message %s, want %s", again.ID, first.ID)
	}
	if rec := e.sendMsg("/api/messages", tn.APIKey, "k-1", `{"to":"16505551234","type":"text","text":{"body":"twice?"}}`); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("same key, another body: %d %s", rec.Code, rec.Body)
	}
	e.project(t)
	if m := decodeSent(t, e.sendMsg("/api/messages", tn.APIKey, "k-1", body)); m.ID != first.ID {
		t.Errorf("repeat after projection: %s", m.ID)
	}
	requests := 0
	for _, m := range e.streamMsgs() {
		if strings.HasSuffix(m.Subject, ".message.send_requested") {
			requests++
		}
	}
	if requests != 1 {
		t.Errorf("%d send requests stored, want 1", requests)
	}
}

// TestSendRefusals: each of Meta's limits, and each malformed request, is
// a 400 naming the field.
func TestSendRefusals(t *testing.T) {
	e := newEnv(t)
	tn := e.mustTenant("100", "111")
	in := recentText("100", "111", "wamid.in.1", "16505551234")
	e.post(in, sign(in))
	e.project(t)
	long := func(n int) string { return strings.Repeat("x", n) }
	buttons := func(n int) string {
		var b []string
		for i := range n {
			b = append(b, fmt.Sprintf(`{"type":"reply","reply":{"id":"b%d","title":"B%d"}}`, i, i))
		}
		return strings.Join(b, ",")
	}
	rows := func(n int) string {
		var r []string
		for i := range n {
			r = append(r, fmt.Sprintf(`{"id":"r%d","title":"Row %d"}`, i, i))
		}
		return strings.Join(r, ",")
	}
	for _, c := range []struct{ name, body, field string }{
		{"no recipient", `{"type":"text","text":{"body":"hi"}}`, "to: required"},
		{"bad number", `{"to":"not a number","type":"text","text":{"body":"hi"}}`, "to: not a phone number"},
		{"empty text", `{"to":"16505551234","type":"text","text":{"body":""}}`, "text.body: required"},
		{"text too long", `{"to":"16505551234","type":"text","text":{"body":"` + long(4097) + `"}}`, "text.body: at most 4096"},
		{"type without its object", `{"to":"16505551234","type":"image","text":{"body":"hi"}}`, "image: required"},
		{"two objects", `{"to":"16505551234","type":"text","text":{"body":"hi"},"image":{"link":"https://x.io/a.png"}}`, "image: not allowed"},
		{"media without id or link", `{"to":"16505551234","type":"image","image":{"caption":"c"}}`, "image: id (of a media upload) or link required"},
		{"caption too long", `{"to":"16505551234","type":"video","video":{"link":"https://x.io/a.mp4","caption":"` + long(1025) + `"}}`, "video.caption: at most 1024"},
		{"audio caption", `{"to":"16505551234","type":"audio","audio":{"link":"https://x.io/a.ogg","caption":"c"}}`, "audio.caption"},
		{"filename of an image", `{"to":"16505551234","type":"image","image":{"link":"https://x.io/a.png","filename":"a.png"}}`, "image.filename"},
		{"latitude", `{"to":"16505551234","type":"location","location":{"latitude":91,"longitude":0}}`, "location.latitude"},
		{"six contacts", `{"to":"16505551234","type":"contacts","contacts":[` + strings.Repeat(`{"name":{"formatted_name":"A"}},`, 5) + `{"name":{"formatted_name":"A"}}]}`, "contacts"},
		{"four buttons", `{"to":"16505551234","type":"interactive","interactive":{"type":"button","body":{"text":"pick"},"action":{"buttons":[` + buttons(4) + `]}}}`, "interactive.action.buttons: 1 to 3"},
		{"button title", `{"to":"16505551234","type":"interactive","interactive":{"type":"button","body":{"text":"pick"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"` + long(21) + `"}}]}}}`, "interactive.action.buttons.0.reply.title: at most 20"},
		{"button id", `{"to":"16505551234","type":"interactive","interactive":{"type":"button","body":{"text":"pick"},"action":{"buttons":[{"type":"reply","reply":{"id":"` + long(257) + `","title":"a"}}]}}}`, "interactive.action.buttons.0.reply.id: at most 256"},
		{"list button text", `{"to":"16505551234","type":"interactive","interactive":{"type":"list","body":{"text":"pick"},"action":{"button":"` + long(21) + `","sections":[{"rows":[` + rows(1) + `]}]}}}`, "interactive.action.button: at most 20"},
		{"eleven sections", `{"to":"16505551234","type":"interactive","interactive":{"type":"list","body":{"text":"pick"},"action":{"button":"Menu","sections":[` + strings.Repeat(`{"title":"S","rows":[{"id":"x","title":"y"}]},`, 10) + `{"title":"S","rows":[{"id":"z","title":"y"}]}]}}}`, "interactive.action.sections: 1 to 10"},
		{"eleven rows", `{"to":"16505551234","type":"interactive","interactive":{"type":"list","body":{"text":"pick"},"action":{"button":"Menu","sections":[{"rows":[` + rows(11) + `]}]}}}`, "interactive.action.sections.0.rows.10: at most 10 rows"},
		{"section title needed", `{"to":"16505551234","type":"interactive","interactive":{"type":"list","body":{"text":"pick"},"action":{"button":"Menu","sections":[{"rows":[{"id":"a","title":"b"}]},{"rows":[{"id":"c","title":"d"}]}]}}}`, "interactive.action.sections.0.title: required"},
		{"row title", `{"to":"16505551234","type":"interactive","interactive":{"type":"list","body":{"text":"pick"},"action":{"button":"Menu","sections":[{"rows":[{"id":"a","title":"` + long(25) + `"}]}]}}}`, "interactive.action.sections.0.rows.0.title: at most 24"},
		{"row description", `{"to":"16505551234","type":"interactive","interactive":{"type":"list","body":{"text":"pick"},"action":{"button":"Menu","sections":[{"rows":[{"id":"a","title":"b","description":"` + long(73) + `"}]}]}}}`, "interactive.action.sections.0.rows.0.description: at most 72"},
		{"header text", `{"to":"16505551234","type":"interactive","interactive":{"type":"button","header":{"type":"text","text":"` + long(61) + `"},"body":{"text":"pick"},"action":{"buttons":[` + buttons(1) + `]}}}`, "interactive.header.text: at most 60"},
		{"interactive body", `{"to":"16505551234","type":"interactive","interactive":{"type":"button","body":{"text":"` + long(1025) + `"},"action":{"buttons":[` + buttons(1) + `]}}}`, "interactive.body.text: at most 1024"},
		{"footer", `{"to":"16505551234","type":"interactive","interactive":{"type":"button","body":{"text":"a"},"footer":{"text":"` + long(61) + `"},"action":{"buttons":[` + buttons(1) + `]}}}`, "interactive.footer.text: at most 60"},
		{"cta url", `{"to":"16505551234","type":"interactive","interactive":{"type":"cta_url","body":{"text":"a"},"action":{"name":"cta_url","parameters":{"display_text":"Go","url":"ftp://x"}}}}`, "interactive.action.parameters.url"},
		{"template name", `{"to":"16505551234","type":"template","template":{"name":"","language":{"code":"en"}}}`, "template.name: required"},
		{"template button index", `{"to":"16505551234","type":"template","template":{"name":"t","language":{"code":"en"},"components":[{"type":"button","sub_type":"url"}]}}`, "template.components.0.index"},
		{"reaction without message", `{"to":"16505551234","type":"reaction","reaction":{"message_id":"","emoji":"👍"}}`, "reaction.message_id: required"},
		{"unknown field", `{"to":"16505551234","type":"text","text":{"body":"hi"},"colour":"red"}`, "colour: unknown field"},
		{"unknown type", `{"to":"16505551234","type":"poll"}`, "type"},
		{"reply to an unknown message", `{"to":"16505551234","type":"text","text":{"body":"hi"},"context":{"message_id":"0190a0a0-0000-7000-8000-000000000000"}}`, "context.message_id: no such message"},
		{"number of another tenant", `{"to":"16505551234","phone_number_id":"999","type":"text","text":{"body":"hi"}}`, "phone_number_id: not a number of this tenant"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := e.sendMsg("/api/messages", tn.APIKey, "", c.body)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.field) {
				t.Errorf("%d %s, want 400 naming %q", rec.Code, rec.Body, c.field)
			}
		})
	}
	for _, m := range e.streamMsgs() {
		if strings.HasSuffix(m.Subject, ".message.send_requested") {
			t.Errorf("a refused request was stored: %s", m.Data)
		}
	}
}

// TestSendAsAgent: agents send in conversations assigned to them or to
// nobody; in a colleague's they are refused (403), as is marking its
// messages read; owners send anywhere.
func TestSendAsAgent(t *testing.T) {
	e := newEnv(t)
	e.meta.AddNumber("100", "123456123", "+1 555-078-3881", "Acme", metaToken)
	owner := e.register(t, "owner@agents.example.com")
	if rec := e.send(http.MethodPost, "/api/waba/credentials", owner.AccessToken, map[string]any{
		"phone_number_id": "123456123", "display_phone_number": "+15550783881", "waba_id": "100", "access_token": metaToken,
	}); rec.Code != http.StatusCreated {
		t.Fatalf("connect: %d %s", rec.Code, rec.Body)
	}
	aliceID, _, alice := e.member(t, owner, "alice@agents.example.com", "agent")
	_, _, bob := e.member(t, owner, "bob@agents.example.com", "agent")
	for _, w := range [][]byte{recentText("100", "123456123", "wamid.a", "16505551111"), recentText("100", "123456123", "wamid.b", "16505552222")} {
		e.post(w, sign(w))
	}
	e.project(t)
	var convs page[conversation]
	e.mustGet(t, "/api/conversations", owner.AccessToken, &convs)
	byWaID := map[string]string{}
	for _, c := range convs.Data {
		byWaID[c.Contact.WaID] = c.ID
	}
	alices := byWaID["16505551111"]
	if rec := e.send(http.MethodPatch, "/api/conversations/"+alices, owner.AccessToken, map[string]any{"assignee_id": aliceID}); rec.Code != http.StatusAccepted {
		t.Fatalf("assign: %d %s", rec.Code, rec.Body)
	}
	e.project(t)
	text := func(conv string) string {
		return `{"conversation_id":"` + conv + `","type":"text","text":{"body":"hi"}}`
	}
	for _, c := range []struct {
		who  string
		tok  string
		conv string
		want int
	}{
		{"bob in alice's", bob.AccessToken, alices, http.StatusForbidden},
		{"alice in hers", alice.AccessToken, alices, http.StatusAccepted},
		{"bob in an unassigned one", bob.AccessToken, byWaID["16505552222"], http.StatusAccepted},
		{"the owner in alice's", owner.AccessToken, alices, http.StatusAccepted},
	} {
		if rec := e.sendMsg("/api/messages", c.tok, "", text(c.conv)); rec.Code != c.want {
			t.Errorf("%s: %d %s, want %d", c.who, rec.Code, rec.Body, c.want)
		}
	}
	var msgs page[message]
	e.mustGet(t, "/api/conversations/"+alices+"/messages", owner.AccessToken, &msgs)
	var inbound string
	for _, m := range msgs.Data {
		if m.Direction == "inbound" {
			inbound = m.ID
		}
	}
	if rec := e.send(http.MethodPost, "/api/messages/"+inbound+"/read", bob.AccessToken, ""); rec.Code != http.StatusForbidden {
		t.Errorf("bob marks alice's customer's message read: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodPost, "/api/messages/"+inbound+"/read", alice.AccessToken, map[string]any{"typing_indicator": map[string]string{"type": "text"}}); rec.Code != http.StatusAccepted {
		t.Errorf("alice marks it read, typing: %d %s", rec.Code, rec.Body)
	}
}
