package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/wam-project/wam/sql/db"
)

// Router finds the tenants that own phone numbers (or WABAs) for the
// webhook hot path. Answers are cached: a phone number's owner changes
// rarely, and a webhook must not wait on PostgreSQL when it can be helped.
//
// It never waits long and never fails: a lookup has a short deadline, and
// when PostgreSQL is slow or away a stale answer is used, or, for an id
// the cache knows nothing of, the answer is "deferred": the webhook is kept
// unrouted and adopted by its owner once routing works again (Adopter).
// After a failed lookup the next ones are not tried for a moment, so that
// while PostgreSQL is away webhooks do not each wait the whole deadline.
//
// A signed webhook may name tens of thousands of distinct numbers, so the
// ids of one webhook that the cache cannot answer are looked up with one
// query, and the cache is bounded. It is a 2Q cache rather than a plain
// LRU: the numbers of one such webhook enter its "recent" queue and leave
// the owners that steady traffic keeps asking for alone.
type Router struct {
	q       *db.Queries
	now     func() time.Time
	log     *slog.Logger
	timeout time.Duration
	cache   *lru.TwoQueueCache[string, routeEntry] // by routeKey

	mu        sync.Mutex
	failing   bool      // the last lookup failed
	pauseTill time.Time // no lookups before this, after a failure
	recovered func()    // called when a lookup works after failures
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
	// DefaultLookupTimeout bounds one routing lookup in PostgreSQL.
	DefaultLookupTimeout = 500 * time.Millisecond
	// lookupPause is how long lookups are not tried after one failed.
	lookupPause = time.Second
)

// RouterOptions tune a Router; the zero value is the production setting.
type RouterOptions struct {
	// LookupTimeout bounds one lookup; 0: DefaultLookupTimeout.
	LookupTimeout time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Logger receives lookup failures; nil discards them.
	Logger *slog.Logger
}

// NewRouter returns a Router reading from q.
func NewRouter(q *db.Queries, o RouterOptions) *Router {
	cache, err := lru.New2Q[string, routeEntry](routeCacheSize)
	if err != nil {
		panic(err) // only for a size below one
	}
	r := &Router{q: q, now: o.Now, log: o.Logger, timeout: o.LookupTimeout, cache: cache}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.timeout <= 0 {
		r.timeout = DefaultLookupTimeout
	}
	return r
}

// OnRecover sets fn to be called (in its own goroutine) whenever a lookup
// works again after lookups failed: webhooks deferred meanwhile can be
// adopted.
func (r *Router) OnRecover(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recovered = fn
}

// Owners is what a Router found: the tenant of each phone number id and
// WABA id it was asked about, "" for nobody, and which ids it could not
// look up.
type Owners struct {
	tenants  map[string]string // by cache key
	deferred map[string]bool   // by cache key: no answer to be had in time
}

// PhoneNumber is the tenant owning phone_number_id pnid, or "" with
// deferred set when nobody could tell.
func (o Owners) PhoneNumber(pnid string) (tenant string, deferred bool) {
	k := routeKey("p", pnid)
	return o.tenants[k], o.deferred[k]
}

// WABA is the tenant owning the WhatsApp Business Account wabaID, or ""
// with deferred set when nobody could tell.
func (o Owners) WABA(wabaID string) (tenant string, deferred bool) {
	k := routeKey("w", wabaID)
	return o.tenants[k], o.deferred[k]
}

// Resolve finds the owners of the phone number ids pnids and the WABA ids
// wabas (repeats and empty ids allowed): from the cache where its answer is
// fresh, and all the others with one query. When that query fails or is
// not tried (see Router), owners known before are used and the ids without
// one are deferred.
func (r *Router) Resolve(ctx context.Context, pnids, wabas []string) Owners {
	return r.resolve(ctx, pnids, wabas, false)
}

// ResolveFresh is Resolve asking PostgreSQL about every id, for adoption,
// where an answer cached before a number was connected would not do.
func (r *Router) ResolveFresh(ctx context.Context, pnids, wabas []string) Owners {
	return r.resolve(ctx, pnids, wabas, true)
}

func (r *Router) resolve(ctx context.Context, pnids, wabas []string, fresh bool) Owners {
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
			if fresh || !ok || !isFresh(e, now) {
				need[i] = append(need[i], id)
			}
		}
	}
	if len(need[0])+len(need[1]) == 0 {
		return o
	}
	rows, err := r.lookup(ctx, need)
	if err != nil {
		// A stale owner beats keeping the webhook from its tenant; an id
		// without one waits for adoption, as does one cached as nobody's,
		// since nobody could confirm it.
		o.deferred = map[string]bool{}
		for i, ids := range need {
			for _, id := range ids {
				if key := routeKey(routeKinds[i], id); o.tenants[key] == "" {
					o.deferred[key] = true
				}
			}
		}
		return o
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
	return o
}

// errPaused stands for a lookup not tried because one failed a moment ago.
type errPaused struct{}

func (errPaused) Error() string { return "routing lookups paused after a failure" }

// lookup asks PostgreSQL, within the Router's deadline, unless lookups are
// paused after a failure.
func (r *Router) lookup(ctx context.Context, need [2][]string) ([]db.RouteOwnersRow, error) {
	r.mu.Lock()
	if r.failing && r.now().Before(r.pauseTill) {
		r.mu.Unlock()
		return nil, errPaused{}
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	rows, err := r.q.RouteOwners(ctx, db.RouteOwnersParams{PhoneNumberIds: need[0], WabaIds: need[1]})
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if !r.failing {
			r.log.Warn("webhook routing lookup failed: using cached owners and deferring the rest", "err", err)
		}
		r.failing, r.pauseTill = true, r.now().Add(lookupPause)
		return nil, err
	}
	if r.failing {
		r.failing = false
		r.log.Info("webhook routing lookups work again")
		if r.recovered != nil {
			go r.recovered()
		}
	}
	return rows, nil
}

// Forget drops cached answers, for callers that just changed numbers.
func (r *Router) Forget() { r.cache.Purge() }

// routeKinds are the kinds of id a Router resolves, named as RouteOwners
// names them: phone number ids, then WABA ids.
var routeKinds = [2]string{"p", "w"}

// routeKey is the cache key of an id of kind.
func routeKey(kind, id string) string { return kind + ":" + id }

func isFresh(e routeEntry, now time.Time) bool {
	ttl := routeTTL
	if e.tenant == "" {
		ttl = routeNegativeTTL
	}
	return now.Sub(e.fetched) < ttl
}
