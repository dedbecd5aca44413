package api_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/auth"
)

type session struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	User         struct {
		ID       string `json:"id"`
		TenantID string `json:"tenant_id"`
		Email    string `json:"email"`
		Role     string `json:"role"`
	} `json:"user"`
}

func (e *env) send(method, path, token string, body any) *httptest.ResponseRecorder {
	var r *bytes.Reader
	switch b := body.(type) {
	case string:
		r = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	// Each request from its own (documentation-range) /64 network, so that
	// the per-address sign-in limit only bites in the test about it.
	n := e.nextIP.Add(1)
	req.RemoteAddr = fmt.Sprintf("[2001:db8:%x:%x::1]:40000", n>>16, n&0xffff)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

func (e *env) mustSession(t testing.TB, rec *httptest.ResponseRecorder, want int) session {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
	}
	var s session
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil || s.AccessToken == "" || s.RefreshToken == "" {
		t.Fatalf("no session in %s (%v)", rec.Body, err)
	}
	return s
}

func (e *env) register(t testing.TB, email string) session {
	t.Helper()
	return e.mustSession(t, e.send(http.MethodPost, "/api/auth/register", "", map[string]string{
		"tenant_name": "Acme " + email, "name": "Owner", "email": email, "password": "correct horse battery",
	}), http.StatusCreated)
}

// member is a user the owner invited with a one-time password, signed in
// with it: their id, that password and their session.
func (e *env) member(t *testing.T, owner session, email, role string) (id, password string, s session) {
	t.Helper()
	rec := e.send(http.MethodPost, "/api/users", owner.AccessToken, map[string]string{"email": email, "name": role, "role": role})
	var u struct {
		ID                string `json:"id"`
		TemporaryPassword string `json:"temporary_password"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &u); err != nil || rec.Code != http.StatusCreated {
		t.Fatalf("invite %s: %d %s", email, rec.Code, rec.Body)
	}
	s = e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": email, "password": u.TemporaryPassword}), http.StatusOK)
	return u.ID, u.TemporaryPassword, s
}

func TestAccounts(t *testing.T) {
	e := newEnv(t)
	reg := e.register(t, "Owner@Example.com")
	if reg.User.Role != "owner" || reg.User.Email != "owner@example.com" || reg.ExpiresIn != 900 {
		t.Errorf("register: %+v", reg)
	}
	if rec := e.send(http.MethodPost, "/api/auth/register", "", map[string]string{
		"tenant_name": "Again", "name": "X", "email": "owner@example.com", "password": "another long one",
	}); rec.Code != http.StatusConflict {
		t.Errorf("same email twice: %d", rec.Code)
	}

	// Wrong password and unknown email get the same answer.
	bad1 := e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "owner@example.com", "password": "wrong password!"})
	bad2 := e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "wrong password!"})
	if bad1.Code != 401 || bad2.Code != 401 || problemDetail(t, bad1) != problemDetail(t, bad2) {
		t.Errorf("bad logins: %d %s / %d %s", bad1.Code, bad1.Body, bad2.Code, bad2.Body)
	}
	login := e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{
		"email": "owner@example.com", "password": "correct horse battery",
	}), http.StatusOK)

	rec := e.send(http.MethodGet, "/api/auth/me", login.AccessToken, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"email":"owner@example.com"`) {
		t.Fatalf("me: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodGet, "/api/conversations", login.AccessToken, ""); rec.Code != 200 {
		t.Fatalf("conversations with an access token: %d %s", rec.Code, rec.Body)
	}

	// Refresh rotates; the old token used again revokes the whole family.
	r1 := e.mustSession(t, e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": login.RefreshToken}), 200)
	r2 := e.mustSession(t, e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": r1.RefreshToken}), 200)
	if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": login.RefreshToken}); rec.Code != 401 {
		t.Fatalf("reused refresh token: %d", rec.Code)
	}
	if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": r2.RefreshToken}); rec.Code != 401 {
		t.Fatalf("newest token of a revoked family still works: %d", rec.Code)
	}
	// Another sign-in is another family, untouched.
	if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": reg.RefreshToken}); rec.Code != 200 {
		t.Fatalf("the registration's own family: %d", rec.Code)
	}

	// Logout revokes the family.
	s := e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{
		"email": "owner@example.com", "password": "correct horse battery",
	}), http.StatusOK)
	if rec := e.send(http.MethodPost, "/api/auth/logout", "", map[string]string{"refresh_token": s.RefreshToken}); rec.Code != 204 {
		t.Fatalf("logout: %d", rec.Code)
	}
	if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": s.RefreshToken}); rec.Code != 401 {
		t.Fatalf("refresh after logout: %d", rec.Code)
	}

	// No password or token ever reaches the logs.
	logs := e.logs.String()
	for _, secret := range []string{"correct horse battery", "wrong password!", reg.AccessToken, reg.RefreshToken,
		login.AccessToken, login.RefreshToken, r1.RefreshToken, r2.RefreshToken, s.RefreshToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret was logged: %.12s…", secret)
		}
	}
}

func problemDetail(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var p struct{ Detail string }
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p.Detail
}

// TestAccessTokenAttacks: every forged, stale or misdirected token is a 401.
func TestAccessTokenAttacks(t *testing.T) {
	e := newEnv(t)
	s := e.register(t, "a@example.com")
	tenant := uuid.MustParse(s.User.TenantID)
	user := uuid.MustParse(s.User.ID)
	now := time.Now()

	claims := func(mod func(b *jwt.Builder)) jwt.Token {
		b := jwt.NewBuilder().Issuer(auth.Issuer).Audience([]string{auth.Audience}).Subject(user.String()).
			IssuedAt(now).NotBefore(now).Expiration(now.Add(10*time.Minute)).
			Claim("tid", tenant.String()).Claim("role", "owner")
		if mod != nil {
			mod(b)
		}
		tok, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	sign := func(tok jwt.Token, key ed25519.PrivateKey) string {
		b, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA, key))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	b64 := base64.RawURLEncoding
	payload := func(tok jwt.Token) string {
		j, err := json.Marshal(tok)
		if err != nil {
			t.Fatal(err)
		}
		return b64.EncodeToString(j)
	}
	// alg none: header and payload, empty signature.
	none := b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + payload(claims(nil)) + "."
	// HS256 with our public key as the HMAC secret (key confusion).
	hsInput := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + payload(claims(nil))
	mac := hmac.New(sha256.New, e.key.Public().(ed25519.PublicKey))
	mac.Write([]byte(hsInput))
	hs256 := hsInput + "." + b64.EncodeToString(mac.Sum(nil))
	// Tampered: another tenant id under the original signature.
	good := sign(claims(nil), e.key)
	parts := strings.Split(good, ".")
	other := uuid.New()
	tampered := parts[0] + "." + payload(claims(func(b *jwt.Builder) { b.Claim("tid", other.String()) })) + "." + parts[2]
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)

	if rec := e.send(http.MethodGet, "/api/auth/me", good, ""); rec.Code != 200 {
		t.Fatalf("the well-formed token itself: %d %s", rec.Code, rec.Body)
	}
	for name, token := range map[string]string{
		"alg none":              none,
		"HS256 with public key": hs256,
		"expired": sign(claims(func(b *jwt.Builder) {
			b.IssuedAt(now.Add(-time.Hour)).NotBefore(now.Add(-time.Hour)).Expiration(now.Add(-10 * time.Minute))
		}), e.key),
		"not yet valid":   sign(claims(func(b *jwt.Builder) { b.NotBefore(now.Add(10 * time.Minute)) }), e.key),
		"wrong audience":  sign(claims(func(b *jwt.Builder) { b.Audience([]string{"someone-else"}) }), e.key),
		"wrong issuer":    sign(claims(func(b *jwt.Builder) { b.Issuer("evil") }), e.key),
		"no expiry":       sign(claims(func(b *jwt.Builder) { b.Expiration(time.Time{}) }), e.key),
		"bad role":        sign(claims(func(b *jwt.Builder) { b.Claim("role", "root") }), e.key),
		"tampered claims": tampered,
		"another key":     sign(claims(nil), otherKey),
		"garbage":         "a.b.c",
	} {
		if rec := e.send(http.MethodGet, "/api/auth/me", token, ""); rec.Code != 401 {
			t.Errorf("%s: %d, want 401", name, rec.Code)
		}
	}
}

// TestAccountsCrossTenant: a signed-in user of tenant B gets 404 for
// tenant A's conversations and messages.
func TestAccountsCrossTenant(t *testing.T) {
	e := newEnv(t)
	a := e.mustTenant("100", "111")
	body := textWebhook("100", "111", "wamid.a", "16505551234", "for a")
	if rec := e.post(body, sign(body)); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	e.project(t)
	var convs page[conversation]
	e.mustGet(t, "/api/conversations", a.APIKey, &convs)
	var msgs page[message]
	e.mustGet(t, "/api/conversations/"+convs.Data[0].ID+"/messages", a.APIKey, &msgs)

	b := e.register(t, "b@example.com")
	for _, path := range []string{"/api/conversations/" + convs.Data[0].ID + "/messages", "/api/messages/" + msgs.Data[0].ID} {
		if rec := e.send(http.MethodGet, path, b.AccessToken, ""); rec.Code != 404 {
			t.Errorf("tenant b user GET %s: %d, want 404", path, rec.Code)
		}
	}
	if rec := e.send(http.MethodGet, "/api/conversations", b.AccessToken, ""); rec.Code != 200 || strings.Contains(rec.Body.String(), convs.Data[0].ID) {
		t.Errorf("tenant b lists tenant a's conversation: %s", rec.Body)
	}
}

func TestAccountsValidation(t *testing.T) {
	e := newEnv(t)
	for body, field := range map[string]string{
		`{"tenant_name":"A","name":"N","email":"not-an-email","password":"long enough pw"}`:                                 "email",
		`{"tenant_name":"A","name":"N","email":"a@example.com","password":"short"}`:                                         "password",
		`{"tenant_name":"","name":"N","email":"a@example.com","password":"long enough pw"}`:                                 "tenant_name",
		`{"tenant_name":"A","name":7,"email":"a@example.com","password":"long enough pw"}`:                                  "name",
		`{"tenant_name":"A","name":"N","email":"a@example.com","password":"long enough pw","x":1}`:                          "x",
		`{"tenant_name":"` + strings.Repeat("a", 201) + `","name":"N","email":"a@example.com","password":"long enough pw"}`: "tenant_name",
		`not json`: "body",
	} {
		rec := e.send(http.MethodPost, "/api/auth/register", "", body)
		if rec.Code != 400 || !strings.Contains(problemDetail(t, rec), field) ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%.40s…: %d %s, want 400 naming %q", body, rec.Code, rec.Body, field)
		}
	}
}

// TestSignInLimits: password guessing is slowed per address and per account.
func TestSignInLimits(t *testing.T) {
	e := newEnv(t)
	e.register(t, "victim@example.com")
	guess := func(ip, email string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/auth/login",
			strings.NewReader(`{"email":"`+email+`","password":"not the password"}`))
		req.RemoteAddr = ip + ":40000"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", e.nextIP.Add(1)%250)) // ignored
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec
	}
	// One address, many accounts: five tries, then 429.
	for i := range 5 {
		if rec := guess("192.0.2.1", fmt.Sprintf("user%d@example.com", i)); rec.Code != 401 {
			t.Fatalf("try %d: %d", i, rec.Code)
		}
	}
	rec := guess("192.0.2.1", "user9@example.com")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("sixth try from one address: %d (Retry-After %q)", rec.Code, rec.Header().Get("Retry-After"))
	}
	// One account, many addresses: five tries, then 429.
	for i := range 5 {
		if rec := guess(fmt.Sprintf("198.51.100.%d", i), "victim@example.com"); rec.Code != 401 {
			t.Fatalf("account try %d: %d", i, rec.Code)
		}
	}
	if rec := guess("198.51.100.99", "victim@example.com"); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("sixth try on one account: %d", rec.Code)
	}
	// One IPv6 /64, a fresh address each time: one network, five tries.
	for i := range 5 {
		if rec := guess(fmt.Sprintf("[2001:db8:aa:1::%x]", i+1), fmt.Sprintf("v6user%d@example.com", i)); rec.Code != 401 {
			t.Fatalf("try %d from the /64: %d", i, rec.Code)
		}
	}
	if rec := guess("[2001:db8:aa:1:ffff::9]", "v6user9@example.com"); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("sixth try from one /64: %d", rec.Code)
	}
	if rec := guess("[2001:db8:aa:2::1]", "v6user9@example.com"); rec.Code != 401 {
		t.Fatalf("the next /64: %d, want 401", rec.Code)
	}
	// Signing up with one address from many places: the first is an
	// account, the next four conflicts, then 429.
	for i := range 6 {
		rec := e.send(http.MethodPost, "/api/auth/register", "", map[string]string{
			"tenant_name": "Probe", "name": "P", "email": "probed@example.com", "password": "correct horse battery",
		})
		want := map[bool]int{true: http.StatusConflict, false: http.StatusCreated}[i > 0]
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		if rec.Code != want {
			t.Errorf("sign-up %d with one address: %d, want %d", i, rec.Code, want)
		}
	}
}

// TestChangePassword: a user changes their password with the current one;
// every other sign-in ends at once (access and refresh tokens), and the
// answer's session goes on.
func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	const email, old, new = "pw@change.example.com", "correct horse battery", "a new long passphrase"
	first := e.register(t, email)
	second := e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": email, "password": old}), http.StatusOK)
	rec := e.send(http.MethodPost, "/api/api-keys", first.AccessToken, map[string]string{"name": "k"})
	var key struct{ Key string }
	if err := json.Unmarshal(rec.Body.Bytes(), &key); err != nil || key.Key == "" {
		t.Fatalf("key: %d %s", rec.Code, rec.Body)
	}

	change := func(token, current, next string) *httptest.ResponseRecorder {
		return e.send(http.MethodPost, "/api/auth/password", token, map[string]string{"current_password": current, "new_password": next})
	}
	if rec := change(key.Key, old, new); rec.Code != http.StatusForbidden {
		t.Errorf("with an API key: %d, want 403", rec.Code)
	}
	if rec := change(first.AccessToken, "not the password", new); rec.Code != http.StatusBadRequest || !strings.HasPrefix(problemDetail(t, rec), "current_password:") {
		t.Errorf("wrong current password: %d %s", rec.Code, rec.Body)
	}
	if rec := change(first.AccessToken, old, "short"); rec.Code != http.StatusBadRequest || !strings.HasPrefix(problemDetail(t, rec), "new_password:") {
		t.Errorf("short new password: %d %s", rec.Code, rec.Body)
	}
	third := e.mustSession(t, change(first.AccessToken, old, new), http.StatusOK)

	for name, s := range map[string]session{"first": first, "second": second} {
		if rec := e.send(http.MethodGet, "/api/auth/me", s.AccessToken, ""); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s sign-in's access token after the change: %d, want 401", name, rec.Code)
		}
		if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": s.RefreshToken}); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s sign-in's refresh token after the change: %d, want 401", name, rec.Code)
		}
	}
	if rec := e.send(http.MethodGet, "/api/auth/me", third.AccessToken, ""); rec.Code != http.StatusOK {
		t.Errorf("the new session: %d", rec.Code)
	}
	e.mustSession(t, e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": third.RefreshToken}), http.StatusOK)
	if rec := e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": email, "password": old}); rec.Code != http.StatusUnauthorized {
		t.Errorf("old password: %d, want 401", rec.Code)
	}
	e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": email, "password": new}), http.StatusOK)
	audit := e.send(http.MethodGet, "/api/audit-log", third.AccessToken, "").Body.String()
	if !strings.Contains(audit, `"password_changed"`) || !strings.Contains(audit, `"password_change_failed"`) {
		t.Errorf("audit log without the change and the failed attempt: %s", audit)
	}
	if strings.Contains(e.logs.String(), new) || strings.Contains(e.logs.String(), old) {
		t.Error("a password was logged")
	}
}

// TestTrustedProxies: behind a proxy the operator named, the client is who
// X-Forwarded-For says, and the sign-in limits count clients, not the
// proxy; from anywhere else the header is ignored.
func TestTrustedProxies(t *testing.T) {
	_, proxies, _ := net.ParseCIDR("192.0.2.0/24")
	e := newEnvWith(t, 1, func(c *api.Config) { c.TrustedProxies = []*net.IPNet{proxies} })
	var n int
	login := func(peer, forwarded string) int {
		n++ // a new account each time: only the address limit is at play
		req := httptest.NewRequest(http.MethodPost, "/api/auth/login", strings.NewReader(fmt.Sprintf(`{"email":"nobody%d@example.com","password":"not the password"}`, n)))
		req.RemoteAddr = peer + ":40000"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", forwarded)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec.Code
	}
	// Through the proxy, ten clients: nobody is limited.
	for i := range 10 {
		if code := login("192.0.2.10", fmt.Sprintf("203.0.113.%d", i+1)); code != http.StatusUnauthorized {
			t.Fatalf("client %d through the proxy: %d", i, code)
		}
	}
	// From elsewhere, the header does not make ten clients of one.
	for i := range 6 {
		code := login("198.51.100.7", fmt.Sprintf("203.0.113.%d", 100+i))
		if want := map[bool]int{true: http.StatusTooManyRequests, false: http.StatusUnauthorized}[i == 5]; code != want {
			t.Fatalf("try %d from an untrusted peer: %d, want %d", i, code, want)
		}
	}
}

// TestRequestIDFromClient: a client's X-Request-ID is kept when it is a
// short, plain id, and replaced otherwise.
func TestRequestIDFromClient(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		sent string
		kept bool
	}{
		{"req-42.abc_DEF", true},
		{strings.Repeat("A", 65), false},
		{"has space", false},
		{"ünïcode", false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.Header.Set("X-Request-ID", tc.sent)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-ID")
		if (got == tc.sent) != tc.kept || got == "" || len(got) > 64 {
			t.Errorf("sent %.20q: answered under %.20q, kept %v, want kept %v", tc.sent, got, got == tc.sent, tc.kept)
		}
	}
}
