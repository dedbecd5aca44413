package auth

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// TestVerifyRefuses: Verify accepts EdDSA tokens signed by our key, for
// our audience, from our issuer, within their lifetime; nothing else,
// whatever the token's header claims.
func TestVerifyRefuses(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tk := NewTokens(priv, func() time.Time { return now })
	user, tenant := uuid.New(), uuid.New()

	claims := func(mod func(m map[string]any)) []byte {
		m := map[string]any{
			"iss": Issuer, "aud": []string{Audience}, "sub": user.String(), "tid": tenant.String(), "role": RoleAgent,
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(AccessTTL).Unix(), "jti": uuid.NewString(),
		}
		if mod != nil {
			mod(m)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	signWith := func(payload []byte, key ed25519.PrivateKey) string {
		b, err := jws.Sign(payload, jws.WithKey(jwa.EdDSA, key))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	b64 := base64.RawURLEncoding
	unsigned := func(alg string, payload []byte) string {
		return b64.EncodeToString([]byte(`{"alg":"`+alg+`","typ":"JWT"}`)) + "." + b64.EncodeToString(payload) + "."
	}
	hs256 := func(secret []byte) string {
		in := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64.EncodeToString(claims(nil))
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(in))
		return in + "." + b64.EncodeToString(mac.Sum(nil))
	}
	good := signWith(claims(nil), priv)
	goodParts := strings.Split(good, ".")

	if c, err := tk.Verify(good); err != nil || c.TenantID != tenant || c.UserID != user || c.Role != RoleAgent {
		t.Fatalf("the good token: %+v %v", c, err)
	}
	// Clocks differ a little between machines: a token from 20 s in the
	// future is accepted, one from 5 minutes ahead is not.
	if _, err := tk.Verify(signWith(claims(func(m map[string]any) { m["nbf"] = now.Add(20 * time.Second).Unix() }), priv)); err != nil {
		t.Errorf("nbf within the clock skew: %v", err)
	}

	pub := priv.Public().(ed25519.PublicKey)
	for name, token := range map[string]string{
		"alg none":                  unsigned("none", claims(nil)),
		"alg None":                  unsigned("None", claims(nil)),
		"alg EdDSA, no signature":   unsigned("EdDSA", claims(nil)),
		"HS256, public key secret":  hs256(pub),
		"HS256, PEM-less key bytes": hs256([]byte(b64.EncodeToString(pub))),
		"raw JSON claims":           string(claims(nil)),
		"another key":               signWith(claims(nil), otherKey),
		"tampered tid": goodParts[0] + "." + b64.EncodeToString(claims(func(m map[string]any) {
			m["tid"] = uuid.NewString()
		})) + "." + goodParts[2],
		"tampered role": goodParts[0] + "." + b64.EncodeToString(claims(func(m map[string]any) {
			m["role"] = RoleOwner
		})) + "." + goodParts[2],
		"expired":         signWith(claims(func(m map[string]any) { m["exp"] = now.Add(-time.Minute).Unix() }), priv),
		"not yet valid":   signWith(claims(func(m map[string]any) { m["nbf"] = now.Add(5 * time.Minute).Unix() }), priv),
		"no exp":          signWith(claims(func(m map[string]any) { delete(m, "exp") }), priv),
		"no nbf":          signWith(claims(func(m map[string]any) { delete(m, "nbf") }), priv),
		"wrong audience":  signWith(claims(func(m map[string]any) { m["aud"] = []string{"other-api"} }), priv),
		"no audience":     signWith(claims(func(m map[string]any) { delete(m, "aud") }), priv),
		"wrong issuer":    signWith(claims(func(m map[string]any) { m["iss"] = "evil" }), priv),
		"no tenant":       signWith(claims(func(m map[string]any) { delete(m, "tid") }), priv),
		"tenant not uuid": signWith(claims(func(m map[string]any) { m["tid"] = "../other" }), priv),
		"subject not uuid": signWith(claims(func(m map[string]any) {
			m["sub"] = "admin"
		}), priv),
		"unknown role": signWith(claims(func(m map[string]any) { m["role"] = "root" }), priv),
		"empty":        "",
		"garbage":      "a.b.c",
	} {
		if c, err := tk.Verify(token); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: accepted (%+v, %v)", name, c, err)
		}
	}
}

// TestIssuedClaims: what Issue puts in a token, as another JWT library
// would read it.
func TestIssuedClaims(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tk := NewTokens(priv, func() time.Time { return now })
	c := Claims{UserID: uuid.New(), TenantID: uuid.New(), Role: RoleAdmin, SessionEpoch: 3}
	tok, _, err := tk.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := tk.Verify(tok); err != nil || back != c {
		t.Errorf("verified %+v (%v), want %+v", back, err, c)
	}
	parts := strings.Split(tok, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var h map[string]any
	var m map[string]any
	if err := json.Unmarshal(hdr, &h); err != nil || h["alg"] != "EdDSA" {
		t.Errorf("header %s", hdr)
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": "wam", "sub": c.UserID.String(), "tid": c.TenantID.String(), "role": "admin", "sep": float64(3),
		"iat": float64(now.Unix()), "nbf": float64(now.Unix()), "exp": float64(now.Add(15 * time.Minute).Unix()),
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("claim %s = %v, want %v", k, m[k], v)
		}
	}
	if aud, _ := m["aud"].([]any); len(aud) != 1 || aud[0] != "wam-api" {
		t.Errorf("aud = %v", m["aud"])
	}
	if jti, _ := m["jti"].(string); uuid.Validate(jti) != nil {
		t.Errorf("jti = %v", m["jti"])
	}
	if _, ok := m["email"]; ok {
		t.Error("the token carries the email address")
	}
}

func TestPasswordHashBounds(t *testing.T) {
	// Damaged or hostile stored hashes are errors, never a panic or a huge
	// allocation.
	for _, bad := range []string{
		"$argon2id$v=19$m=1024,t=0,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=1024,t=1,p=0$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
		"$argon2id$v=16$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
	} {
		if err := VerifyPassword("whatever it is", bad); err == nil || errors.Is(err, ErrPasswordMismatch) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	// The parameters a hash records are the ones it is checked with, so
	// raising the defaults later still verifies old hashes.
	old, err := HashPassword("correct horse battery", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyPassword("correct horse battery", old); err != nil {
		t.Fatal(err)
	}
}
