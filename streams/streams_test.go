package streams

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
	defer ns.Shutdown()
	nc, err := ConnectInProcess(ns, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
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
