package ingest

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

// queryCounter is a pgx tracer counting the queries a pool runs.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// routingFixture is a database where one tenant owns phone number 111 in
// WABA 100, read by a Router on a clock the test moves.
type routingFixture struct {
	pool    *pgxpool.Pool
	q       *db.Queries
	queries *queryCounter
	now     time.Time
	router  *Router
	tenant  string
}

func newRoutingFixture(t *testing.T) *routingFixture {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	f := &routingFixture{queries: &queryCounter{}, now: time.Unix(1_700_000_000, 0)}
	cfg.ConnConfig.Tracer = f.queries
	if f.pool, err = pgxpool.NewWithConfig(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.pool.Close)
	f.q = db.New(f.pool)
	f.router = NewRouter(f.q, RouterOptions{Now: func() time.Time { return f.now }})
	f.tenant = f.addNumber(t, uuid.Nil, "111", "100")
	return f
}

// addNumber connects phone number pnid in WABA waba to tenant, made first
// when tenant is Nil, and returns the tenant.
func (f *routingFixture) addNumber(t *testing.T, tenant uuid.UUID, pnid, waba string) string {
	t.Helper()
	ctx := context.Background()
	if tenant == uuid.Nil {
		tn, err := f.q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		tenant = tn.ID
	}
	if _, err := f.q.AddPhoneNumber(ctx, db.AddPhoneNumberParams{
		ID: uuid.New(), TenantID: tenant, PhoneNumberID: pnid, DisplayPhoneNumber: "+15550001111", WabaID: waba,
	}); err != nil {
		t.Fatal(err)
	}
	return tenant.String()
}

// resolve resolves pnids and wabas and returns the answers and how many
// queries it took.
func (f *routingFixture) resolve(t *testing.T, pnids, wabas []string) (Owners, int64) {
	t.Helper()
	before := f.queries.n.Load()
	o := f.router.Resolve(context.Background(), pnids, wabas)
	return o, f.queries.n.Load() - before
}

// pn is the owner of phone number id pnid in o, "" for nobody or deferred.
func pn(o Owners, pnid string) string {
	t, _ := o.PhoneNumber(pnid)
	return t
}

func waba(o Owners, id string) string {
	t, _ := o.WABA(id)
	return t
}

func unknownNumbers(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint(900_000_000 + i)
	}
	return ids
}

// TestWebhookOfManyUnknownNumbers: a signed webhook naming more distinct
// unknown numbers than the routing cache holds is routed with one query,
// every change of it kept (the unknown ones unrouted), and the cache stays
// within its bound.
func TestWebhookOfManyUnknownNumbers(t *testing.T) {
	f := newRoutingFixture(t)
	unknown := unknownNumbers(3 * routeCacheSize)
	var b bytes.Buffer
	b.WriteString(`{"object":"whatsapp_business_account","entry":[{"id":"100","changes":[` +
		`{"value":{"metadata":{"phone_number_id":"111"}},"field":"messages"},` +
		`{"value":{"event":"APPROVED","message_template_id":1},"field":"message_template_status_update"}]}`)
	for _, pnid := range unknown {
		fmt.Fprintf(&b, `,{"id":"300","changes":[{"value":{"metadata":{"phone_number_id":"%s"}},"field":"messages"}]}`, pnid)
	}
	b.WriteString(`]}`)
	body := b.Bytes()
	if len(body) > 3<<20 {
		t.Fatalf("the test body is %d bytes, more than a webhook may be", len(body))
	}

	for _, want := range []string{"first", "again, most answers evicted"} {
		before := f.queries.n.Load()
		events, err := route(context.Background(), f.router, body, "", false)
		if err != nil {
			t.Fatal(err)
		}
		if n := f.queries.n.Load() - before; n != 1 {
			t.Errorf("%s: %d queries, want 1", want, n)
		}
		if len(events) != 2 || events[0].Tenant != f.tenant || events[1].Tenant != streams.Unrouted {
			t.Fatalf("%s: %d events, want the tenant's then the unrouted", want, len(events))
		}
		if n := bytes.Count(events[0].Data, []byte(`"field"`)); n != 2 {
			t.Errorf("%s: %d changes routed to the tenant, want its number's and its WABA's", want, n)
		}
		if n := bytes.Count(events[1].Data, []byte(`"phone_number_id"`)); n != len(unknown) {
			t.Errorf("%s: %d changes kept unrouted, want %d", want, n, len(unknown))
		}
		if n := f.router.cache.Len(); n > routeCacheSize {
			t.Errorf("%s: the routing cache holds %d answers, more than %d", want, n, routeCacheSize)
		}
	}
}

// TestRouterCache: owners that traffic keeps asking for survive a webhook
// of many unknown numbers; answers go stale as before (an unknown number
// connected later is seen within routeNegativeTTL, and at once after
// Forget); and while PostgreSQL is away a stale owner is used, but an id
// without one is an error.
func TestRouterCache(t *testing.T) {
	f := newRoutingFixture(t)
	for range 2 { // asked twice: one of the owners in steady use
		f.resolve(t, []string{"111"}, nil)
	}
	if _, n := f.resolve(t, unknownNumbers(3*routeCacheSize), []string{"100"}); n != 1 {
		t.Errorf("many unknown numbers: %d queries, want 1", n)
	}
	if o, n := f.resolve(t, []string{"111", "111"}, nil); n != 0 || pn(o, "111") != f.tenant {
		t.Errorf("a number in steady use after the flood: %d queries, owner %q", n, pn(o, "111"))
	}

	if o, _ := f.resolve(t, []string{"555"}, nil); pn(o, "555") != "" {
		t.Fatalf("555 before it is connected: %q", pn(o, "555"))
	}
	f.addNumber(t, uuid.MustParse(f.tenant), "555", "100")
	if o, n := f.resolve(t, []string{"555"}, nil); n != 0 || pn(o, "555") != "" {
		t.Errorf("555 just connected: %d queries, owner %q; want the cached answer", n, pn(o, "555"))
	}
	f.now = f.now.Add(routeNegativeTTL)
	if o, n := f.resolve(t, []string{"555"}, nil); n != 1 || pn(o, "555") != f.tenant {
		t.Errorf("555 after %s: %d queries, owner %q", routeNegativeTTL, n, pn(o, "555"))
	}
	f.router.Forget()
	if o, n := f.resolve(t, []string{"111"}, []string{"100"}); n != 1 || pn(o, "111") != f.tenant || waba(o, "100") != f.tenant {
		t.Errorf("after Forget: %d queries, owners %q %q", n, pn(o, "111"), waba(o, "100"))
	}

	f.now = f.now.Add(routeTTL)
	f.pool.Close()
	o := f.router.Resolve(context.Background(), []string{"111"}, []string{"100"})
	if pn(o, "111") != f.tenant || waba(o, "100") != f.tenant {
		t.Errorf("stale owners while PostgreSQL is away: %q %q", pn(o, "111"), waba(o, "100"))
	}
	f.now = f.now.Add(lookupPause)
	o = f.router.Resolve(context.Background(), []string{"111", "555", "999"}, nil)
	for _, id := range []string{"555", "999"} {
		if tn, later := o.PhoneNumber(id); tn != "" || !later {
			t.Errorf("%s without a stale owner while PostgreSQL is away: owner %q, deferred %v; want deferred", id, tn, later)
		}
	}
}
