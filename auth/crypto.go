package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// KeyRing encrypts credentials at rest with AES-256-GCM. It holds one or
// more keys by id; new ciphertexts use the first (active) key, and any key
// of the ring decrypts what it encrypted, so keys can be rotated: add a new
// key in front, run `wam keys rotate`, then drop the old one.
type KeyRing struct {
	active string
	aeads  map[string]cipher.AEAD
}

// ParseKeyRing reads ENCRYPTION_KEY: either one base64 key of 32 bytes (id
// "1"), or comma-separated "id:base64key" entries, the first being active.
func ParseKeyRing(spec string) (*KeyRing, error) {
	kr := &KeyRing{aeads: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		id, b64, found := strings.Cut(entry, ":")
		if !found {
			id, b64 = "1", entry
		}
		if id == "" || strings.ContainsAny(id, " ,:") {
			return nil, fmt.Errorf("ENCRYPTION_KEY entry %d: bad key id", i+1)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("ENCRYPTION_KEY entry %d (id %s): not base64 of 32 bytes", i+1, id)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		if _, dup := kr.aeads[id]; dup {
			return nil, fmt.Errorf("ENCRYPTION_KEY: key id %s twice", id)
		}
		kr.aeads[id] = aead
		if i == 0 {
			kr.active = id
		}
	}
	return kr, nil
}

// LoadKeyRing is the ring from spec (ENCRYPTION_KEY) when given, else a key
// kept in dir/encryption.key, made on first use. Back that file up with the
// database: without it the stored credentials cannot be read.
func LoadKeyRing(spec, dir string) (*KeyRing, error) {
	if spec != "" {
		return ParseKeyRing(spec)
	}
	b, err := readOrCreate(filepath.Join(dir, "encryption.key"), func() ([]byte, error) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		return []byte("1:" + base64.StdEncoding.EncodeToString(key) + "\n"), nil
	})
	if err != nil {
		return nil, err
	}
	return ParseKeyRing(strings.TrimSpace(string(b)))
}

// ActiveKey is the id of the key new ciphertexts use.
func (kr *KeyRing) ActiveKey() string { return kr.active }

// Encrypt seals plaintext under the active key, bound to aad (say, the
// tenant and phone number it belongs to: a ciphertext copied to another row
// will not decrypt). It returns the key id and nonce||ciphertext.
func (kr *KeyRing) Encrypt(plaintext, aad []byte) (keyID string, sealed []byte, err error) {
	aead := kr.aeads[kr.active]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, err
	}
	return kr.active, aead.Seal(nonce, nonce, plaintext, aad), nil
}

// ErrUndecryptable is returned when a ciphertext cannot be opened: unknown
// key id, wrong additional data, or tampering.
var ErrUndecryptable = errors.New("credential cannot be decrypted")

// Decrypt opens what Encrypt sealed with key keyID and the same aad.
func (kr *KeyRing) Decrypt(keyID string, sealed, aad []byte) ([]byte, error) {
	aead, ok := kr.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: key %q is not in ENCRYPTION_KEY", ErrUndecryptable, keyID)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, ErrUndecryptable
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], aad)
	if err != nil {
		return nil, ErrUndecryptable
	}
	return plain, nil
}

// CredentialAAD binds a stored secret of a phone number to its row: the
// tenant, the number and which secret it is ("access_token", "app_secret",
// "verify_token"), so that a ciphertext copied elsewhere does not decrypt.
func CredentialAAD(tenant uuid.UUID, phoneNumberID, field string) []byte {
	return []byte(tenant.String() + "|" + phoneNumberID + "|" + field)
}
