package api_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wam-project/wam/streams"
)

// TestWebhookDeepBodyRouted: a signed webhook with a field nested beyond
// what encoding/json reads is still routed to the tenant of its number, and
// stored byte for byte; it used to land in the unrouted subject.
func TestWebhookDeepBodyRouted(t *testing.T) {
	e := newEnv(t)
	tn := e.mustTenant("100", "111")
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	body := bytes.Replace(textWebhook("100", "111", "wamid.DEEP", "16505551234", "hi"),
		[]byte(`"messaging_product"`), []byte(`"x":`+deep+`,"messaging_product"`), 1)
	if rec := e.post(body, sign(body)); rec.Code != 200 {
		t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
	}
	msgs := e.streamMsgs()
	if len(msgs) != 1 {
		t.Fatalf("%d events stored, want 1", len(msgs))
	}
	if want := streams.WebhookSubject(tn.ID.String()); msgs[0].Subject != want || !bytes.Equal(msgs[0].Data, body) {
		t.Errorf("stored on %s (%d bytes), want %s with the body as posted (%d bytes)", msgs[0].Subject, len(msgs[0].Data), want, len(body))
	}
}
