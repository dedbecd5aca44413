package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
)

func key64(t *testing.T) string {
	k := make([]byte, 32)
	rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

func TestKeyRing(t *testing.T) {
	old := key64(t)
	kr, err := ParseKeyRing(old)
	if err != nil {
		t.Fatal(err)
	}
	id, sealed, err := kr.Encrypt([]byte("EAAG-secret-token"), []byte("tenant|123"))
	if err != nil || id != "1" || bytes.Contains(sealed, []byte("EAAG")) {
		t.Fatalf("encrypt: %s %x %v", id, sealed, err)
	}
	if p, err := kr.Decrypt(id, sealed, []byte("tenant|123")); err != nil || string(p) != "EAAG-secret-token" {
		t.Fatalf("decrypt: %q %v", p, err)
	}
	if _, err := kr.Decrypt(id, sealed, []byte("other|123")); !errors.Is(err, ErrUndecryptable) {
		t.Fatal("decrypted with another row's additional data")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := kr.Decrypt(id, sealed, []byte("tenant|123")); !errors.Is(err, ErrUndecryptable) {
		t.Fatal("tampered ciphertext opened")
	}

	// Rotation: a new active key in front; the old one still decrypts.
	id, sealed, _ = kr.Encrypt([]byte("x"), nil)
	rotated, err := ParseKeyRing("2:" + key64(t) + ",1:" + old)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.ActiveKey() != "2" {
		t.Fatalf("active %s", rotated.ActiveKey())
	}
	if p, err := rotated.Decrypt(id, sealed, nil); err != nil || string(p) != "x" {
		t.Fatal("old key lost in rotation")
	}
	for _, bad := range []string{"", "1:short", "1:" + old + ",1:" + old, "a b:" + old} {
		if _, err := ParseKeyRing(bad); err == nil {
			t.Errorf("ParseKeyRing(%q) accepted", bad)
		}
	}
	dir := t.TempDir()
	k1, err := LoadKeyRing("", dir)
	if err != nil {
		t.Fatal(err)
	}
	id, sealed, _ = k1.Encrypt([]byte("y"), nil)
	k2, _ := LoadKeyRing("", dir)
	if p, err := k2.Decrypt(id, sealed, nil); err != nil || string(p) != "y" {
		t.Fatal("the generated key was not kept")
	}
}
