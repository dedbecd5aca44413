package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Access tokens: who may call the API for the next quarter hour.
const (
	Issuer    = "wam"
	Audience  = "wam-api"
	AccessTTL = 15 * time.Minute
	clockSkew = 30 * time.Second
)

// Claims is what an access token asserts.
type Claims struct {
	UserID   uuid.UUID
	TenantID uuid.UUID
	Role     string
	// SessionEpoch is the user's session epoch when the token was issued
	// (claim "sep", 0 when absent): a token of an earlier epoch than the
	// user's is refused (the password changed since).
	SessionEpoch int32
}

// Tokens issues and verifies access tokens: JWTs signed with Ed25519
// (EdDSA). Verification accepts that algorithm and key only, whatever the
// token's header says.
type Tokens struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	now  func() time.Time
}

// NewTokens returns Tokens signing with priv.
func NewTokens(priv ed25519.PrivateKey, now func() time.Time) *Tokens {
	return &Tokens{priv: priv, pub: priv.Public().(ed25519.PublicKey), now: now}
}

// Issue signs an access token for c and returns it with its expiry.
func (t *Tokens) Issue(c Claims) (string, time.Time, error) {
	now := t.now().Truncate(time.Second)
	exp := now.Add(AccessTTL)
	tok, err := jwt.NewBuilder().
		Issuer(Issuer).
		Audience([]string{Audience}).
		Subject(c.UserID.String()).
		IssuedAt(now).
		NotBefore(now).
		Expiration(exp).
		JwtID(uuid.NewString()).
		Claim("tid", c.TenantID.String()).
		Claim("role", c.Role).
		Claim("sep", c.SessionEpoch).
		Build()
	if err != nil {
		return "", time.Time{}, err
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA, t.priv))
	if err != nil {
		return "", time.Time{}, err
	}
	return string(signed), exp, nil
}

// ErrInvalidToken is returned for every token Verify refuses; the reason is
// wrapped for logs, never shown to the caller.
var ErrInvalidToken = errors.New("invalid access token")

// Verify checks an access token's signature (EdDSA with our key only),
// issuer, audience, expiry and not-before, and returns its claims.
func (t *Tokens) Verify(token string) (Claims, error) {
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKey(jwa.EdDSA, t.pub),
		jwt.WithValidate(true),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.NotBeforeKey),
		jwt.WithAcceptableSkew(clockSkew),
		jwt.WithClock(jwt.ClockFunc(t.now)),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var c Claims
	var ok bool
	if c.UserID, err = uuid.Parse(tok.Subject()); err != nil {
		return Claims{}, fmt.Errorf("%w: subject", ErrInvalidToken)
	}
	tid, _ := tok.Get("tid")
	s, _ := tid.(string)
	if c.TenantID, err = uuid.Parse(s); err != nil {
		return Claims{}, fmt.Errorf("%w: tid", ErrInvalidToken)
	}
	role, _ := tok.Get("role")
	if c.Role, ok = role.(string); !ok || !(ValidRole(c.Role) || c.Role == RoleOperator) {
		return Claims{}, fmt.Errorf("%w: role", ErrInvalidToken)
	}
	if sep, ok := tok.Get("sep"); ok {
		n, isNumber := sep.(float64) // JSON numbers
		if !isNumber || n < 0 || n > math.MaxInt32 || n != math.Trunc(n) {
			return Claims{}, fmt.Errorf("%w: sep", ErrInvalidToken)
		}
		c.SessionEpoch = int32(n)
	}
	return c, nil
}

// Roles, from most to least powerful. Owners and admins manage users,
// numbers, keys and settings; agents work the inbox.
const (
	RoleOwner = "owner"
	RoleAdmin = "admin"
	RoleAgent = "agent"
)

// RoleOperator is the role in the access tokens of operators, who run the
// installation above tenants (their TenantID is uuid.Nil). It is no role a
// user of a tenant can have: ValidRole refuses it.
const RoleOperator = "operator"

// ValidRole reports whether r is one of the roles.
func ValidRole(r string) bool { return r == RoleOwner || r == RoleAdmin || r == RoleAgent }

// SigningKey returns the Ed25519 key that signs access tokens: the PKCS#8
// PEM in pemText when given (JWT_PRIVATE_KEY), else the key kept in
// dir/jwt_ed25519.pem, made on first use.
func SigningKey(pemText, dir string) (ed25519.PrivateKey, error) {
	if pemText != "" {
		return parseKey([]byte(pemText), "JWT_PRIVATE_KEY")
	}
	b, err := readOrCreate(filepath.Join(dir, "jwt_ed25519.pem"), func() ([]byte, error) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	})
	if err != nil {
		return nil, err
	}
	return parseKey(b, filepath.Join(dir, "jwt_ed25519.pem"))
}

// readOrCreate returns the contents of the secret file at path, first
// writing gen's output there (mode 0600) if it does not exist. O_EXCL: two
// processes starting at once must not each make a different secret.
func readOrCreate(path string, gen func() ([]byte, error)) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return b, err
	}
	b, err = gen()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return nil, err
	}
	return b, f.Sync()
}

func parseKey(b []byte, from string) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", from)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", from)
	}
	return priv, nil
}
