package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wam-project/wam/sql/db"
)

// Router finds the tenant that owns a phone number (or a WABA) for the
// webhook hot path. Answers are cached: a phone number's owner changes
// rarely, and a webhook must not wait on PostgreSQL when it can be helped.
type Router struct {
	q   *db.Queries
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]routeEntry // "p:"+phone_number_id or "w:"+waba_id
}

type routeEntry struct {
	tenant  string // "" when nobody owns it
	fetched time.Time
}

const (
	routeTTL         = 30 * time.Second // owned numbers: re-read now and then
	routeNegativeTTL = 3 * time.Second  // unknown numbers: a number added by the CLI is seen quickly
)

// NewRouter returns a Router reading from q.
func NewRouter(q *db.Queries, now func() time.Time) *Router {
	return &Router{q: q, now: now, entries: make(map[string]routeEntry)}
}

// TenantForPhoneNumber returns the tenant owning phone_number_id pnid, or "".
func (r *Router) TenantForPhoneNumber(ctx context.Context, pnid string) (string, error) {
	return r.lookup(ctx, "p:"+pnid, func() (string, error) {
		t, err := r.q.TenantByPhoneNumberID(ctx, pnid)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", nil
		}
		return t.String(), err
	})
}

// TenantForWABA returns the tenant owning the WhatsApp Business Account
// wabaID, or "" when no tenant, or more than one, has numbers in it.
func (r *Router) TenantForWABA(ctx context.Context, wabaID string) (string, error) {
	return r.lookup(ctx, "w:"+wabaID, func() (string, error) {
		ts, err := r.q.TenantsByWABAID(ctx, wabaID)
		if err != nil || len(ts) != 1 {
			return "", err
		}
		return ts[0].String(), nil
	})
}

// Forget drops cached answers, for callers that just changed numbers.
func (r *Router) Forget() {
	r.mu.Lock()
	clear(r.entries)
	r.mu.Unlock()
}

func (r *Router) lookup(ctx context.Context, key string, load func() (string, error)) (string, error) {
	now := r.now()
	r.mu.RLock()
	e, ok := r.entries[key]
	r.mu.RUnlock()
	if ok && fresh(e, now) {
		return e.tenant, nil
	}
	t, err := load()
	if err != nil {
		if ok && e.tenant != "" {
			return e.tenant, nil // PostgreSQL is away: a stale owner beats refusing the webhook
		}
		return "", err
	}
	r.mu.Lock()
	r.entries[key] = routeEntry{tenant: t, fetched: now}
	r.mu.Unlock()
	return t, nil
}

func fresh(e routeEntry, now time.Time) bool {
	ttl := routeTTL
	if e.tenant == "" {
		ttl = routeNegativeTTL
	}
	return now.Sub(e.fetched) < ttl
}
