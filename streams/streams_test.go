package streams

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/domain"
)

func TestSubjects(t *testing.T) {
	tests := []struct {
		subject, tenant, typ string
		ok                   bool
	}{
		{"wam.t1.webhook.meta", "t1", "webhook.meta", true},
		{"wam._unrouted.webhook.meta", Unrouted, "webhook.meta", true},
		{"wam.t1", "", "", false},
		{"other.t1.webhook.meta", "", "", false},
		{"wam..webhook", "", "", false},
	}
	for _, tt := range tests {
		tenant, typ, ok := ParseSubject(tt.subject)
		if tenant != tt.tenant || typ != tt.typ || ok != tt.ok {
			t.Errorf("ParseSubject(%q) = %q, %q, %v", tt.subject, tenant, typ, ok)
		}
	}
	for s, want := range map[string]bool{
		"6f1b7c2e-3f61-4c9e-9a54-2f0c3f8f0a01": true, Unrouted: true,
		"": false, "a.b": false, "*": false, ">": false, "a b": false,
	} {
		if got := ValidTenantToken(s); got != want {
			t.Errorf("ValidTenantToken(%q) = %v", s, got)
		}
	}
	if got := WebhookSubject("t1"); got != "wam.t1.webhook.meta" {
		t.Errorf("WebhookSubject = %q", got)
	}
}

func TestPublish(t *testing.T) {
	ns, err := StartServer(ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown) // after the connection's Close
	nc, js := mustConnect(t, ns)
	ctx := context.Background()
	st, err := EnsureStream(ctx, js, StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Ensuring again, as every start does, changes nothing.
	if _, err := EnsureStream(ctx, js, StreamOptions{DuplicateWindow: time.Minute}); err != nil {
		t.Fatal(err)
	}
	p := NewPublisher(js)
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	e := Event{Tenant: "t1", Type: TypeWebhookMeta, OccurredAt: at, RequestID: "r1", Actor: "meta", Data: []byte(`{}`)}
	seq, err := p.Publish(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := p.Publish(ctx, e); err != nil || again != seq {
		t.Fatalf("same event again: seq %d (%v), want the stored copy's %d", again, err, seq)
	}
	m, err := st.GetMsg(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{
		HeaderType: TypeWebhookMeta, HeaderSchema: "1", HeaderTenant: "t1",
		HeaderOccurredAt: "2026-01-02T03:04:05.000000006Z", HeaderRequestID: "r1", HeaderActor: "meta",
	} {
		if got := m.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if m.Subject != "wam.t1.webhook.meta" {
		t.Errorf("subject %q", m.Subject)
	}
	if _, err := p.Publish(ctx, Event{Tenant: "a.b", Type: TypeWebhookMeta}); err == nil {
		t.Error("a tenant with a dot was published")
	}
	// Live notifications are outside the stream.
	if err := nc.Publish(LiveSubject("t1", "message"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("%d messages in the stream, want 1", info.State.Msgs)
	}
}

func TestConversationEvent(t *testing.T) {
	tenant := uuid.MustParse("6f1b7c2e-3f61-4c9e-9a54-2f0c3f8f0a01")
	conv := uuid.MustParse("0b0c5a3e-8c1f-5d0e-9f6a-1c2d3e4f5a6b")
	until := time.Date(2031, 5, 1, 9, 0, 0, 0, time.UTC)
	at := time.Date(2031, 5, 1, 9, 0, 1, 0, time.UTC)
	e, err := ConversationEvent(tenant, domain.EventSnoozeExpired, domain.ConversationEvent{ConversationID: conv, SnoozedUntil: &until, At: at})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Subject(), "wam."+tenant.String()+".conversation.snooze_expired"; got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	if !e.OccurredAt.Equal(at) || e.Tenant != tenant.String() {
		t.Errorf("event %+v", e)
	}
	var back domain.ConversationEvent
	if err := json.Unmarshal(e.Data, &back); err != nil || back.ConversationID != conv || !back.SnoozedUntil.Equal(until) {
		t.Errorf("body %s: %v", e.Data, err)
	}
	if _, err := ConversationEvent(tenant, TypeWebhookMeta, domain.ConversationEvent{}); err == nil {
		t.Error("a webhook type made a conversation event")
	}
}

// mustConnect connects in-process to ns until the test ends.
func mustConnect(tb testing.TB, ns nats.InProcessConnProvider) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := ConnectInProcess(ns, tb.Name())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return nc, js
}
