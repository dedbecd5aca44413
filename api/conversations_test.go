package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/projections"
)

type page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

type conversation struct {
	ID          string `json:"id"`
	UnreadCount int    `json:"unread_count"`
	Preview     string `json:"last_message_preview"`
	Window      string `json:"window_expires_at"`
	Status      string `json:"status"`
	Contact     struct {
		WaID  string `json:"wa_id"`
		Phone string `json:"phone"`
		Name  string `json:"name"`
	} `json:"contact"`
}

type message struct {
	ID        string               `json:"id"`
	WAMID     string               `json:"wamid"`
	Direction string               `json:"direction"`
	Type      string               `json:"type"`
	Status    string               `json:"status"`
	Content   json.RawMessage      `json:"content"`
	ReplyTo   *string              `json:"reply_to"`
	Error     *struct{ Code int }  `json:"error"`
	Statuses  map[string]time.Time `json:"statuses"`
}

// project runs the inbox projector until everything published so far is applied.
func (e *env) project(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := projections.NewInbox(e.pool, e.js, nil, projections.Options{})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	// The last event the inbox reads (the stream holds others: replay jobs).
	var last uint64
	for _, subject := range (projections.Inbox{}).Subjects() {
		m, err := e.stream.GetLastMsgForSubject(ctx, subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		last = max(last, m.Sequence)
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := r.WaitFor(wctx, last); err != nil {
		t.Fatal(err)
	}
}

func (e *env) mustGet(t *testing.T, path, key string, v any) {
	t.Helper()
	rec := e.get(path, key)
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatal(err)
	}
}

func statusWebhook(waba, pnid, wamid, status, recipient string, at int64) []byte {
	errs := ""
	if status == "failed" {
		errs = `,"errors":[{"code":131026,"title":"Message undeliverable","message":"Message undeliverable","error_data":{"details":"Message Undeliverable."}}]`
	}
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":%q,"changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},"statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":%q%s}]},"field":"messages"}]}]}`,
		waba, pnid, wamid, status, at, recipient, errs))
}

func TestReadAPI(t *testing.T) {
	e := newEnv(t)
	a := e.mustTenant("100", "111")
	b := e.mustTenant("200", "222")
	post := func(body []byte) {
		t.Helper()
		if rec := e.post(body, sign(body)); rec.Code != 200 {
			t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
		}
	}
	for i := range 5 {
		post(textWebhook("100", "111", fmt.Sprintf("wamid.in.%d", i), fmt.Sprintf("1650555000%d", i), fmt.Sprintf("hello %d", i)))
	}
	post(textWebhook("200", "222", "wamid.b", "16505550000", "tenant b"))
	// An outbound message known only by its statuses, out of order.
	for _, st := range []string{"read", "delivered", "sent"} {
		post(statusWebhook("100", "111", "wamid.out", st, "16505550000", 1718000100))
	}
	post(statusWebhook("100", "111", "wamid.fail", "failed", "16505550001", 1718000200))
	post(statusWebhook("100", "111", "wamid.fail", "read", "16505550001", 1718000300))
	e.project(t)

	// Pages of two walk all five conversations once, most recent first.
	var all []conversation
	for cursor, n := "", 0; n < 10; n++ {
		var p page[conversation]
		e.mustGet(t, "/api/conversations?limit=2&cursor="+cursor, a.APIKey, &p)
		if len(p.Data) > 2 {
			t.Fatalf("page of %d with limit 2", len(p.Data))
		}
		all = append(all, p.Data...)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(all) != 5 {
		t.Fatalf("%d conversations, want 5", len(all))
	}
	byWaID := map[string]conversation{}
	for _, c := range all {
		byWaID[c.Contact.WaID] = c
	}
	c0 := byWaID["16505550000"]
	if c0.Contact.Phone != "+16505550000" || c0.Contact.Name != "Kerry" || c0.UnreadCount != 1 ||
		c0.Preview != "hello 0" || c0.Status != "open" || c0.Window == "" {
		t.Errorf("conversation: %+v", c0)
	}

	var msgs page[message]
	e.mustGet(t, "/api/conversations/"+c0.ID+"/messages", a.APIKey, &msgs)
	got := map[string]message{}
	for _, m := range msgs.Data {
		got[m.WAMID] = m
	}
	if m := got["wamid.in.0"]; m.Direction != "inbound" || m.Type != "text" || string(m.Content) != `{"body":"hello 0"}` {
		t.Errorf("inbound message: %+v %s", m, m.Content)
	}
	out := got["wamid.out"]
	if out.Direction != "outbound" || out.Status != "read" || len(out.Statuses) != 3 {
		t.Errorf("statuses out of order: %+v", out)
	}

	// Failed is terminal: the read after it changes nothing.
	var fail message
	e.mustGet(t, "/api/messages/"+domain.MessageID(a.ID.String(), "wamid.fail").String(), a.APIKey, &fail)
	if fail.Status != "failed" || fail.Error == nil || fail.Error.Code != 131026 {
		t.Errorf("failed message: %+v", fail)
	}

	// Tenant b sees none of it, and its own only.
	var bConvs page[conversation]
	e.mustGet(t, "/api/conversations", b.APIKey, &bConvs)
	if len(bConvs.Data) != 1 || bConvs.Data[0].Contact.WaID != "16505550000" || bConvs.Data[0].ID == c0.ID {
		t.Errorf("tenant b conversations: %+v", bConvs.Data)
	}
	for _, path := range []string{
		"/api/conversations/" + c0.ID + "/messages",
		"/api/messages/" + out.ID,
	} {
		if rec := e.get(path, b.APIKey); rec.Code != 404 || !strings.Contains(rec.Header().Get("Content-Type"), "problem+json") {
			t.Errorf("tenant b GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}

	// Bad input is a 400 problem naming the parameter; no key is a 401.
	for path, field := range map[string]string{
		"/api/conversations?limit=0":       "limit",
		"/api/conversations?limit=201":     "limit",
		"/api/conversations?limit=x":       "limit",
		"/api/conversations?cursor=!!!":    "cursor",
		"/api/conversations?cursor=bm9wZQ": "cursor",
		"/api/messages/not-a-uuid":         "id: must be a uuid",
	} {
		rec := e.get(path, a.APIKey)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), field) {
			t.Errorf("GET %s: %d %s, want 400 naming %s", path, rec.Code, rec.Body, field)
		}
	}
	for _, key := range []string{"", "wam_unknown", "Bearer"} {
		if rec := e.get("/api/conversations", key); rec.Code != 401 {
			t.Errorf("key %q: %d, want 401", key, rec.Code)
		}
	}
}

// TestMessagesOfOneSecondInArrivalOrder: Meta's timestamps are to the
// second, and customers send several messages in one; they are listed in
// the order wam received them, also across pages.
func TestMessagesOfOneSecondInArrivalOrder(t *testing.T) {
	e := newEnv(t)
	a := e.mustTenant("300", "333")
	const n = 7
	for i := range n {
		body := textWebhook("300", "333", fmt.Sprintf("wamid.burst.%d", i), "16505550042", fmt.Sprintf("part %d", i))
		if rec := e.post(body, sign(body)); rec.Code != 200 {
			t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
		}
	}
	e.project(t)
	var convs page[conversation]
	e.mustGet(t, "/api/conversations", a.APIKey, &convs)
	if len(convs.Data) != 1 {
		t.Fatalf("%d conversations, want 1", len(convs.Data))
	}
	var got []string
	for cursor, pages := "", 0; pages < n; pages++ {
		var p page[message]
		e.mustGet(t, "/api/conversations/"+convs.Data[0].ID+"/messages?limit=2&cursor="+cursor, a.APIKey, &p)
		for _, m := range p.Data {
			got = append(got, m.WAMID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	var want []string
	for i := n - 1; i >= 0; i-- {
		want = append(want, fmt.Sprintf("wamid.burst.%d", i))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("newest first:\n got %v\nwant %v", got, want)
	}
}
