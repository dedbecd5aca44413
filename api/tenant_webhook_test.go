package api_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wam-project/wam/streams"
)

// TestTenantOwnAppWebhook: a tenant that brings its own Meta app gets
// webhooks at /api/webhook/{tenant_id}, verified with its own verify token
// and signed with its own app secret, and can only speak for its numbers.
func TestTenantOwnAppWebhook(t *testing.T) {
	e := newEnv(t)
	e.meta.AddNumber("100", "123456123", "+1 555-078-3881", "Acme", metaToken)
	owner := e.register(t, "owner@byo.example.com")
	rec := e.send(http.MethodPost, "/api/waba/credentials", owner.AccessToken, map[string]any{
		"phone_number_id": "123456123", "display_phone_number": "+15550783881", "waba_id": "100",
		"access_token": metaToken, "app_secret": "acme-own-app-secret", "verify_token": "acme-verify",
	})
	if rec.Code != http.StatusCreated {
		t.Fatalf("connect: %d %s", rec.Code, rec.Body)
	}
	victim := e.mustTenant("200", "222") // another tenant's number
	base := "/api/webhook/" + owner.User.TenantID

	if rec := e.get(base+"?hub.mode=subscribe&hub.verify_token=acme-verify&hub.challenge=77", ""); rec.Code != 200 || rec.Body.String() != "77" {
		t.Errorf("verify with the tenant's token: %d %s", rec.Code, rec.Body)
	}
	if rec := e.get(base+"?hub.mode=subscribe&hub.verify_token="+verifyToken+"&hub.challenge=77", ""); rec.Code != 403 {
		t.Errorf("verify with the platform's token at the tenant's endpoint: %d", rec.Code)
	}

	ownSign := func(body []byte) string {
		mac := hmac.New(sha256.New, []byte("acme-own-app-secret"))
		mac.Write(body)
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	post := func(body []byte, sig string) int {
		req := httptest.NewRequest(http.MethodPost, base, bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec.Code
	}
	before := len(e.streamMsgs())
	mine := textWebhook("100", "123456123", "wamid.own", "16505551234", "via my app")
	theirs := textWebhook("200", "222", "wamid.forged", "16505551234", "pretending to be the victim's customer")
	if code := post(mine, sign(mine)); code != 401 {
		t.Errorf("signed with the platform's secret: %d, want 401", code)
	}
	if code := post(mine, ownSign(mine)); code != 200 {
		t.Fatalf("own webhook: %d", code)
	}
	if code := post(theirs, ownSign(theirs)); code != 200 {
		t.Fatalf("webhook for another tenant's number: %d (kept, unrouted)", code)
	}
	msgs := e.streamMsgs()[before:]
	if len(msgs) != 2 || msgs[0].Subject != streams.WebhookSubject(owner.User.TenantID) ||
		msgs[1].Subject != streams.WebhookSubject(streams.Unrouted) {
		for _, m := range msgs {
			t.Logf("stored on %s", m.Subject)
		}
		t.Fatalf("want the own webhook on the tenant's subject and the forged one unrouted, not on %s", streams.WebhookSubject(victim.ID.String()))
	}
}
