package ingest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/sql/db"
)

// AppSecrets are a tenant's own Meta app's secrets, for tenants that bring
// their own app and point it at /api/webhook/{tenant_id}: the app secrets
// that sign its webhooks and the verify tokens of its subscription checks
// (one per number that has them).
type AppSecrets struct {
	AppSecrets, VerifyTokens []string
}

// Secrets reads tenants' AppSecrets, decrypted, and caches them like the
// Router caches owners: for a short while, used stale while PostgreSQL is
// away. They stay in memory only.
type Secrets struct {
	q       *db.Queries
	keys    *auth.KeyRing
	now     func() time.Time
	log     *slog.Logger
	timeout time.Duration
	cache   *lru.Cache[uuid.UUID, secretsEntry]
}

type secretsEntry struct {
	s       AppSecrets
	fetched time.Time
}

// errSecretsUnavailable: no answer to be had in time, and none known.
var errSecretsUnavailable = errors.New("tenant app secrets unavailable")

// NewSecrets returns a Secrets reading from q and decrypting with keys.
func NewSecrets(q *db.Queries, keys *auth.KeyRing, o RouterOptions) *Secrets {
	cache, err := lru.New[uuid.UUID, secretsEntry](routeCacheSize)
	if err != nil {
		panic(err)
	}
	s := &Secrets{q: q, keys: keys, now: o.Now, log: o.Logger, timeout: o.LookupTimeout, cache: cache}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.timeout <= 0 {
		s.timeout = DefaultLookupTimeout
	}
	return s
}

// Get returns tenant's app secrets: cached when fresh, else read within
// the lookup deadline, else the stale ones. errSecretsUnavailable when
// there are none to be had.
func (s *Secrets) Get(ctx context.Context, tenant uuid.UUID) (AppSecrets, error) {
	now := s.now()
	e, ok := s.cache.Get(tenant)
	ttl := routeTTL
	if len(e.s.AppSecrets)+len(e.s.VerifyTokens) == 0 {
		ttl = routeNegativeTTL
	}
	if ok && now.Sub(e.fetched) < ttl {
		return e.s, nil
	}
	fresh, err := s.read(ctx, tenant)
	if err != nil {
		if ok {
			return e.s, nil
		}
		s.log.Warn("tenant app secrets unreadable", "tenant_id", tenant, "err", err)
		return AppSecrets{}, errSecretsUnavailable
	}
	s.cache.Add(tenant, secretsEntry{s: fresh, fetched: now})
	return fresh, nil
}

func (s *Secrets) read(ctx context.Context, tenant uuid.UUID) (AppSecrets, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var out AppSecrets
	rows, err := s.q.TenantWebhookSecrets(ctx, tenant)
	if err != nil {
		return out, err
	}
	for _, r := range rows {
		for _, sec := range []struct {
			field string
			enc   []byte
			dst   *[]string
		}{{"app_secret", r.AppSecretEnc, &out.AppSecrets}, {"verify_token", r.VerifyTokenEnc, &out.VerifyTokens}} {
			if sec.enc == nil {
				continue
			}
			plain, err := s.keys.Decrypt(r.SecretKeyID, sec.enc, auth.CredentialAAD(tenant, r.PhoneNumberID, sec.field))
			if err != nil {
				s.log.Error("tenant webhook secret undecryptable", "tenant_id", tenant, "phone_number_id", r.PhoneNumberID, "err", err)
				continue
			}
			*sec.dst = append(*sec.dst, string(plain))
		}
	}
	return out, nil
}

// Forget drops cached secrets, for callers that just changed numbers.
func (s *Secrets) Forget() { s.cache.Purge() }
