// Package auth holds wam's credentials: API keys, argon2id passwords,
// Ed25519-signed access tokens (JWTs), opaque refresh tokens and the
// encryption of the credentials wam keeps for tenants.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// APIKey is a freshly made developer key. Secret is shown to its owner once;
// only Hash is stored.
type APIKey struct {
	Secret string // the whole key: wam_<prefix>_<random>
	Prefix string // wam_<prefix>: visible, tells keys apart, not secret
	Hash   []byte // sha256 of Secret
}

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewAPIKey makes a random key with 160 bits of entropy after its prefix.
func NewAPIKey() (APIKey, error) {
	var b [25]byte
	if _, err := rand.Read(b[:]); err != nil {
		return APIKey{}, err
	}
	s := strings.ToLower(keyEncoding.EncodeToString(b[:]))
	prefix := "wam_" + s[:8]
	secret := prefix + "_" + s[8:]
	return APIKey{Secret: secret, Prefix: prefix, Hash: HashAPIKey(secret)}, nil
}

// HashAPIKey is the stored form of a key. A fast hash is right here: keys are
// long random strings, not guessable passwords.
func HashAPIKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// LooksLikeAPIKey reports whether s has the shape of a wam API key, so that
// other bearer tokens (JWTs) can be told apart without a lookup.
func LooksLikeAPIKey(s string) bool {
	return strings.HasPrefix(s, "wam_") && len(s) == len("wam_")+8+1+32
}
