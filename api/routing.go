package api

import (
	"context"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/wam-project/wam/sql/db"
)

// Router finds the tenants that own phone numbers (or WABAs) for the
// webhook hot path. Answers are cached: a phone number's owner changes
// rarely, and a webhook must not wait on PostgreSQL when it can be helped.
//
// A signed webhook may name tens of thousands of distinct numbers, so the
// ids of one webhook that the cache cannot answer are looked up with one
// query, and the cache is bounded. It is a 2Q cache rather than a plain
// LRU: the numbers of one such webhook enter its "recent" queue and leave
// the owners that steady traffic keeps asking for alone.
type Router struct {
	q     *db.Queries
	now   func() time.Time
	cache *lru.TwoQueueCache[string, routeEntry] // by routeKey
}

type routeEntry struct {
	tenant  string // "" when nobody owns it
	fetched time.Time
}

const (
	routeTTL         = 30 * time.Second // owned numbers: re-read now and then
	routeNegativeTTL = 3 * time.Second  // unknown numbers: a number added by the CLI is seen quickly
	// routeCacheSize bounds the cache: far more numbers than a deployment
	// routes, at about 200 bytes each.
	routeCacheSize = 10_000
)

// NewRouter returns a Router reading from q.
func NewRouter(q *db.Queries, now func() time.Time) *Router {
	cache, err := lru.New2Q[string, routeEntry](routeCacheSize)
	if err != nil {
		panic(err) // only for a size below one
	}
	return &Router{q: q, now: now, cache: cache}
}

// Owners is what a Router found: the tenant of each phone number id and
// WABA id it was asked about, "" for nobody.
type Owners struct {
	tenants map[string]string // by cache key
}

// PhoneNumber is the tenant owning phone_number_id pnid, or "".
func (o Owners) PhoneNumber(pnid string) string { return o.tenants[routeKey("p", pnid)] }

// WABA is the tenant owning the WhatsApp Business Account wabaID, or "".
func (o Owners) WABA(wabaID string) string { return o.tenants[routeKey("w", wabaID)] }

// Resolve finds the owners of the phone number ids pnids and the WABA ids
// wabas (repeats and empty ids allowed): from the cache where its answer is
// fresh, and all the others with one query. When that query fails, stale
// owners are used (a stale owner beats refusing the webhook while
// PostgreSQL is away); the error is returned only if an id has none.
func (r *Router) Resolve(ctx context.Context, pnids, wabas []string) (Owners, error) {
	now := r.now()
	o := Owners{tenants: make(map[string]string, len(pnids)+len(wabas))}
	var need [2][]string // ids to look up, of each of routeKinds
	for i, ids := range [2][]string{pnids, wabas} {
		for _, id := range ids {
			key := routeKey(routeKinds[i], id)
			if _, seen := o.tenants[key]; seen || id == "" {
				continue
			}
			e, ok := r.cache.Get(key)
			o.tenants[key] = e.tenant // the answer if fresh, else the fallback
			if !ok || !fresh(e, now) {
				need[i] = append(need[i], id)
			}
		}
	}
	if len(need[0])+len(need[1]) == 0 {
		return o, nil
	}
	rows, err := r.q.RouteOwners(ctx, db.RouteOwnersParams{PhoneNumberIds: need[0], WabaIds: need[1]})
	if err != nil {
		for i, ids := range need {
			for _, id := range ids {
				if o.tenants[routeKey(routeKinds[i], id)] == "" {
					return Owners{}, err
				}
			}
		}
		return o, nil
	}
	found := make(map[string]string, len(rows))
	for _, row := range rows {
		found[routeKey(row.Kind, row.ID)] = row.TenantID.String()
	}
	for i, ids := range need {
		for _, id := range ids {
			key := routeKey(routeKinds[i], id)
			o.tenants[key] = found[key]
			r.cache.Add(key, routeEntry{tenant: found[key], fetched: now})
		}
	}
	return o, nil
}

// Forget drops cached answers, for callers that just changed numbers.
func (r *Router) Forget() { r.cache.Purge() }

// routeKinds are the kinds of id a Router resolves, named as RouteOwners
// names them: phone number ids, then WABA ids.
var routeKinds = [2]string{"p", "w"}

// routeKey is the cache key of an id of kind.
func routeKey(kind, id string) string { return kind + ":" + id }

func fresh(e routeEntry, now time.Time) bool {
	ttl := routeTTL
	if e.tenant == "" {
		ttl = routeNegativeTTL
	}
	return now.Sub(e.fetched) < ttl
}
