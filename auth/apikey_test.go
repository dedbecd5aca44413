package auth

import (
	"bytes"
	"testing"
)

func TestNewAPIKey(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k, err := NewAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		if !LooksLikeAPIKey(k.Secret) {
			t.Fatalf("%q does not look like a key", k.Secret)
		}
		if len(k.Prefix) != len("wam_")+8 || k.Secret[:len(k.Prefix)] != k.Prefix {
			t.Fatalf("prefix %q of %q", k.Prefix, k.Secret)
		}
		if !bytes.Equal(k.Hash, HashAPIKey(k.Secret)) || bytes.Contains(k.Hash, []byte(k.Secret)) {
			t.Fatal("hash is not the sha256 of the secret")
		}
		if seen[k.Secret] || seen[k.Prefix] {
			t.Fatalf("repeated key or prefix %q", k.Prefix)
		}
		seen[k.Secret], seen[k.Prefix] = true, true
	}
	for _, s := range []string{"", "wam_", "Bearer x", "eyJhbGciOiJFZERTQSJ9.e30.sig"} {
		if LooksLikeAPIKey(s) {
			t.Errorf("%q looks like a key", s)
		}
	}
}
