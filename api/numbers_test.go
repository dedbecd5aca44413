package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wam-project/wam/streams"
)

const metaToken = "EAAGm0PX4ZCpsBAKZCZB-secret-access-token-0001"

func TestConnectNumber(t *testing.T) {
	e := newEnv(t)
	e.meta.AddNumber("102290129340398", "123456123", "+1 555-078-3881", "Acme Support", metaToken)
	owner := e.register(t, "owner@numbers.example.com")
	connect := func(token string, body map[string]any) *httptest.ResponseRecorder {
		return e.send(http.MethodPost, "/api/waba/credentials", token, body)
	}
	good := func() map[string]any {
		return map[string]any{"phone_number_id": "123456123", "display_phone_number": "+1 555-078-3881",
			"waba_id": "102290129340398", "access_token": metaToken, "app_secret": "per-tenant-app-secret-value"}
	}

	// Meta refuses a wrong token: nothing stored.
	bad := good()
	bad["access_token"] = "EAAGwrong-token-that-meta-rejects"
	if rec := connect(owner.AccessToken, bad); rec.Code != 400 || !strings.Contains(rec.Body.String(), "access_token") {
		t.Fatalf("wrong token: %d %s", rec.Code, rec.Body)
	}
	rec := connect(owner.AccessToken, good())
	if rec.Code != http.StatusCreated {
		t.Fatalf("connect: %d %s", rec.Code, rec.Body)
	}
	var n struct {
		ID             string `json:"id"`
		VerifiedName   string `json:"verified_name"`
		HasAccessToken bool   `json:"has_access_token"`
		HasAppSecret   bool   `json:"has_app_secret"`
	}
	json.Unmarshal(rec.Body.Bytes(), &n)
	if n.VerifiedName != "Acme Support" || !n.HasAccessToken || !n.HasAppSecret {
		t.Errorf("connected: %s", rec.Body)
	}
	if rec := connect(owner.AccessToken, good()); rec.Code != http.StatusConflict {
		t.Errorf("same number twice: %d", rec.Code)
	}
	list := e.send(http.MethodGet, "/api/phone-numbers", owner.AccessToken, "")
	if list.Code != 200 || !strings.Contains(list.Body.String(), "123456123") {
		t.Fatalf("list: %d %s", list.Code, list.Body)
	}

	// Stored encrypted: neither secret is in the row's bytes.
	var enc, secret []byte
	if err := e.pool.QueryRow(context.Background(),
		"SELECT access_token_enc, app_secret_enc FROM phone_numbers WHERE phone_number_id = '123456123'").Scan(&enc, &secret); err != nil {
		t.Fatal(err)
	}
	if len(enc) == 0 || strings.Contains(string(enc), "secret-access-token") || strings.Contains(string(secret), "per-tenant") {
		t.Error("credentials stored in plain text")
	}

	// Validation names the field; agents and other tenants cannot touch it.
	for field, mutate := range map[string]func(map[string]any){
		"phone_number_id":      func(b map[string]any) { b["phone_number_id"] = "12ab" },
		"display_phone_number": func(b map[string]any) { b["display_phone_number"] = "call me" },
		"access_token":         func(b map[string]any) { b["access_token"] = "short" },
		"messages_per_second":  func(b map[string]any) { b["messages_per_second"] = 5000 },
		"waba_id":              func(b map[string]any) { b["waba_id"] = "x" },
	} {
		b := good()
		mutate(b)
		if rec := connect(owner.AccessToken, b); rec.Code != 400 || !strings.Contains(rec.Body.String(), field) {
			t.Errorf("bad %s: %d %s", field, rec.Code, rec.Body)
		}
	}
	other := e.register(t, "owner@other-numbers.example.com")
	if rec := e.send(http.MethodDelete, "/api/phone-numbers/"+n.ID, other.AccessToken, ""); rec.Code != 404 {
		t.Errorf("tenant b deleting tenant a's number: %d", rec.Code)
	}
	if rec := e.send(http.MethodGet, "/api/phone-numbers", other.AccessToken, ""); strings.Contains(rec.Body.String(), "123456123") {
		t.Error("tenant b lists tenant a's number")
	}

	// The token appears in no response and no log line.
	for _, body := range []string{rec.Body.String(), list.Body.String()} {
		if strings.Contains(body, metaToken) || strings.Contains(body, "per-tenant-app-secret") {
			t.Error("a secret in a response")
		}
	}
	if strings.Contains(e.logs.String(), metaToken) || strings.Contains(e.logs.String(), "per-tenant-app-secret") {
		t.Error("a secret in the logs")
	}
	if rec := e.send(http.MethodDelete, "/api/phone-numbers/"+n.ID, owner.AccessToken, ""); rec.Code != 204 {
		t.Fatalf("delete: %d", rec.Code)
	}
}

// TestConnectNumberChecksWABA: a waba_id is taken only when Meta lists the
// number in that WABA for the token given, since WABA-level webhooks are
// routed by it.
func TestConnectNumberChecksWABA(t *testing.T) {
	e := newEnv(t)
	e.meta.AddNumber("100", "111", "+1 555-000-0111", "Acme", metaToken)
	e.meta.AddNumber("200", "222", "+1 555-000-0222", "Victim", "EAAG-victims-own-token-0002")
	a := e.register(t, "owner@waba-a.example.com")
	connect := func(waba string) *httptest.ResponseRecorder {
		return e.send(http.MethodPost, "/api/waba/credentials", a.AccessToken, map[string]any{
			"phone_number_id": "111", "display_phone_number": "+15550000111", "waba_id": waba, "access_token": metaToken,
		})
	}
	for waba, why := range map[string]string{
		"200": "another business's WABA, which the token may not read",
		"999": "a WABA that does not exist",
	} {
		if rec := connect(waba); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "waba_id") {
			t.Errorf("%s: %d %s", why, rec.Code, rec.Body)
		}
	}
	// A WABA the token reads but that does not hold the number.
	e.meta.AddNumber("300", "333", "+1 555-000-0333", "Acme Two", metaToken)
	if rec := connect("300"); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "does not list phone number 111") {
		t.Errorf("a WABA without the number: %d %s", rec.Code, rec.Body)
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM phone_numbers").Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused connections stored %d numbers (%v)", n, err)
	}
	if rec := connect("100"); rec.Code != http.StatusCreated {
		t.Fatalf("the number's own WABA: %d %s", rec.Code, rec.Body)
	}
}

// TestWABABelongsToOneTenant: a WABA one tenant has connected cannot be
// claimed by another, even with a token Meta lets read it, and its
// WABA-level webhooks keep going to the tenant that has it.
func TestWABABelongsToOneTenant(t *testing.T) {
	e := newEnv(t)
	const tokenA, tokenB = "EAAG-token-of-tenant-a-0001", "EAAG-token-of-tenant-b-0002"
	e.meta.AddNumber("200", "222", "+1 555-000-0222", "Bee", tokenB)
	e.meta.AddNumber("200", "223", "+1 555-000-0223", "Bee", tokenA) // A's token reaches B's WABA too
	a := e.register(t, "owner@claim-a.example.com")
	b := e.register(t, "owner@claim-b.example.com")
	connect := func(owner session, pnid, token string) *httptest.ResponseRecorder {
		return e.send(http.MethodPost, "/api/phone-numbers", owner.AccessToken, map[string]any{
			"phone_number_id": pnid, "display_phone_number": "+1 555-000-0" + pnid, "waba_id": "200", "access_token": token,
		})
	}
	if rec := connect(b, "222", tokenB); rec.Code != http.StatusCreated {
		t.Fatalf("b connects its number: %d %s", rec.Code, rec.Body)
	}
	if rec := connect(a, "223", tokenA); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "waba_id") {
		t.Fatalf("a claims b's WABA: %d %s", rec.Code, rec.Body)
	}
	if rec := connect(b, "223", tokenA); rec.Code != http.StatusCreated {
		t.Fatalf("b connects a second number of its WABA: %d %s", rec.Code, rec.Body)
	}

	template := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"200","time":1718000000,"changes":[{"value":{"event":"APPROVED","message_template_id":1234567890123456789,"message_template_name":"hello","message_template_language":"en_US","reason":"NONE"},"field":"message_template_status_update"}]}]}`)
	before := len(e.streamMsgs())
	if rec := e.post(template, sign(template)); rec.Code != http.StatusOK {
		t.Fatalf("template webhook: %d", rec.Code)
	}
	msgs := e.streamMsgs()[before:]
	if len(msgs) != 1 || msgs[0].Subject != streams.WebhookSubject(b.User.TenantID) {
		for _, m := range msgs {
			t.Logf("stored on %s", m.Subject)
		}
		t.Fatalf("template update for b's WABA: %d events, want one on b's subject", len(msgs))
	}
}

// TestReplaceNumberToken: after Meta refused a number's token (the sender
// marks it invalid), a new token checked with Meta makes it valid again,
// its other secrets kept; a token Meta refuses changes nothing.
func TestReplaceNumberToken(t *testing.T) {
	e := newEnv(t)
	e.meta.AddNumber("100", "123456123", "+1 555-078-3881", "Acme", metaToken)
	owner := e.register(t, "owner@token.example.com")
	rec := e.send(http.MethodPost, "/api/waba/credentials", owner.AccessToken, map[string]any{
		"phone_number_id": "123456123", "display_phone_number": "+15550783881", "waba_id": "100",
		"access_token": metaToken, "app_secret": "own-app-secret-value",
	})
	var n struct {
		ID          string `json:"id"`
		TokenStatus string `json:"token_status"`
		TokenError  string `json:"token_error"`
		Rate        int    `json:"messages_per_second"`
		AppSecret   bool   `json:"has_app_secret"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &n); err != nil || n.TokenStatus != "valid" {
		t.Fatalf("connect: %d %s", rec.Code, rec.Body)
	}
	if _, err := e.pool.Exec(context.Background(), `UPDATE phone_numbers SET token_status = 'invalid', token_error = 'Session has expired' WHERE id = $1`, n.ID); err != nil {
		t.Fatal(err)
	}
	rec = e.send(http.MethodGet, "/api/waba/credentials", owner.AccessToken, "")
	if !strings.Contains(rec.Body.String(), `"token_status":"invalid"`) || !strings.Contains(rec.Body.String(), "Session has expired") {
		t.Errorf("list while held: %s", rec.Body)
	}
	if rec := e.send(http.MethodPatch, "/api/waba/credentials/"+n.ID, owner.AccessToken, map[string]any{"access_token": "EAAGnot-a-token-meta-knows-at-all"}); rec.Code != 400 {
		t.Errorf("a token Meta refuses: %d %s", rec.Code, rec.Body)
	}
	newToken := "EAAGm0PX4ZCpsBAKZCZB-secret-access-token-0002"
	e.meta.AddNumber("100", "123456123", "+1 555-078-3881", "Acme", newToken)
	rec = e.send(http.MethodPatch, "/api/waba/credentials/"+n.ID, owner.AccessToken, map[string]any{"access_token": newToken, "messages_per_second": 20})
	if err := json.Unmarshal(rec.Body.Bytes(), &n); rec.Code != 200 || err != nil {
		t.Fatalf("replace: %d %s", rec.Code, rec.Body)
	}
	if n.TokenStatus != "valid" || n.TokenError != "" || n.Rate != 20 || !n.AppSecret {
		t.Errorf("after the new token: %+v", n)
	}
	if strings.Contains(rec.Body.String(), newToken) {
		t.Error("the token was returned")
	}
}
