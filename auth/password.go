package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters of new password hashes.
// Hashes record their own parameters, so raising these later still verifies
// old hashes.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon2 suits a small server: 64 MiB, one pass, two lanes (OWASP's
// second recommended configuration is 46 MiB, t=1).
var DefaultArgon2 = Argon2Params{Memory: 64 << 10, Time: 1, Threads: 2}

// Password length limits: long enough to resist guessing, short enough that
// hashing cannot be used to burn CPU.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// maxArgon2Memory bounds the memory cost VerifyPassword accepts from a
// stored hash: 1 GiB, sixteen times the default.
const maxArgon2Memory = 1 << 20 // KiB

// hashing admits as many argon2 computations at once as there are cores.
// Each takes its memory cost (64 MiB by default) for tens of milliseconds,
// and sign-in endpoints are open to anybody: without a bound, a burst of
// sign-ins from many addresses would take as much memory as it liked.
// Beyond the bound, callers queue.
var hashing = make(chan struct{}, runtime.GOMAXPROCS(0))

func idKey(password, salt []byte, p Argon2Params, keyLen uint32) []byte {
	hashing <- struct{}{}
	defer func() { <-hashing }()
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, keyLen)
}

// ErrPasswordMismatch is returned by VerifyPassword for a wrong password.
var ErrPasswordMismatch = errors.New("password does not match")

// HashPassword hashes password with argon2id into a PHC string
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
func HashPassword(password string, p Argon2Params) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := idKey([]byte(password), salt, p, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword checks password against a hash made by HashPassword, in
// time independent of where they differ.
func VerifyPassword(password, encoded string) error {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("not an argon2id hash")
	}
	var version int
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return errors.New("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return fmt.Errorf("argon2 parameters: %w", err)
	}
	// argon2.IDKey panics on zero time or threads, and memory is
	// allocated as stated: a damaged row must be an error, not a crash or
	// a gigabytes-large allocation on every sign-in.
	if p.Time < 1 || p.Time > 16 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory {
		return fmt.Errorf("argon2 parameters out of range: %s", parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return errors.New("malformed argon2 hash")
	}
	got := idKey([]byte(password), salt, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrPasswordMismatch
	}
	return nil
}
