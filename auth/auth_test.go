package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var cheap = Argon2Params{Memory: 1 << 10, Time: 1, Threads: 1}

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") || strings.Contains(h, "correct horse") {
		t.Fatalf("hash %q", h)
	}
	if err := VerifyPassword("correct horse battery", h); err != nil {
		t.Fatal(err)
	}
	if err := VerifyPassword("correct horse batterY", h); !errors.Is(err, ErrPasswordMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	h2, _ := HashPassword("correct horse battery", cheap)
	if h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$a$b", "$argon2id$v=19$m=x$a$b", "$argon2id$v=19$m=1024,t=1,p=1$!!$!!"} {
		if err := VerifyPassword("x", bad); err == nil || errors.Is(err, ErrPasswordMismatch) {
			t.Errorf("malformed hash %q: %v", bad, err)
		}
	}
}

func TestTokens(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tk := NewTokens(priv, func() time.Time { return now })
	c := Claims{UserID: uuid.New(), TenantID: uuid.New(), Role: RoleAgent}
	tok, exp, err := tk.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(AccessTTL)) {
		t.Errorf("expiry %v", exp)
	}
	got, err := tk.Verify(tok)
	if err != nil || got != c {
		t.Fatalf("verify: %+v, %v", got, err)
	}
	now = now.Add(AccessTTL + clockSkew + time.Second)
	if _, err := tk.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestSigningKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := SigningKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "jwt_ed25519.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := SigningKey("", dir)
	if err != nil || !k1.Equal(k2) {
		t.Fatal("the key was not reused")
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k1)
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	k3, err := SigningKey(pemText, t.TempDir())
	if err != nil || !k1.Equal(k3) {
		t.Fatalf("JWT_PRIVATE_KEY: %v", err)
	}
	if _, err := SigningKey("not pem", dir); err == nil {
		t.Fatal("garbage accepted as a key")
	}
}
