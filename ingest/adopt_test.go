package ingest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

// adoptionFixture is webhook ingest as `wam serve` runs it: a Receiver, the
// inbox projector and an Adopter over one database and an embedded NATS,
// the Receiver's database behind a proxy the test can stall.
type adoptionFixture struct {
	t        *testing.T
	pool     *pgxpool.Pool // direct
	q        *db.Queries
	js       jetstream.JetStream
	stream   jetstream.Stream
	proxy    *pgtest.Proxy
	keys     *auth.KeyRing
	receiver *Receiver
	router   *Router
	adopter  *Adopter
	inbox    *projections.Runner
}

const testAppSecret = "platform-app-secret"

func newAdoptionFixture(t *testing.T) *adoptionFixture {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	f := &adoptionFixture{t: t, proxy: pgtest.NewProxy(t, dbURL)}
	t.Cleanup(func() { f.proxy.Resume() })
	var err error
	if f.pool, err = pgxpool.New(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.pool.Close)
	proxied, err := pgxpool.New(ctx, f.proxy.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxied.Close)
	f.q = db.New(f.pool)

	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := streams.ConnectInProcess(ns, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if f.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	if f.stream, err = streams.EnsureStream(ctx, f.js, streams.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	pub := streams.NewPublisher(f.js)
	key := make([]byte, 32)
	if f.keys, err = auth.ParseKeyRing(base64.StdEncoding.EncodeToString(key)); err != nil {
		t.Fatal(err)
	}
	// The receiver reads through the proxy; the projector and the adopter
	// do not, so that they run on when the test stalls the receiver's.
	f.router = NewRouter(db.New(proxied), RouterOptions{LookupTimeout: 200 * time.Millisecond})
	f.receiver = NewReceiver(f.router, NewSecrets(db.New(proxied), f.keys, RouterOptions{LookupTimeout: 200 * time.Millisecond}), pub, testAppSecret, nil)

	log := slog.New(slog.DiscardHandler)
	f.inbox = projections.NewInbox(f.pool, f.js, log, projections.Options{})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.inbox.Run(runCtx); err != nil {
			t.Errorf("inbox projector: %v", err)
		}
	}()
	t.Cleanup(func() { stop(); <-done })
	f.adopter = NewAdopter(f.q, f.js, pub, NewRouter(f.q, RouterOptions{}), NewSecrets(f.q, f.keys, RouterOptions{}), log,
		AdopterOptions{Checkpoint: f.inbox.Checkpoint})
	return f
}

// tenant makes a tenant owning the phone number ids given, each in a WABA of its own;
// appSecret, when set, is its own Meta app's secret.
func (f *adoptionFixture) tenant(appSecret string, pnids ...string) uuid.UUID {
	f.t.Helper()
	ctx := context.Background()
	tn, err := f.q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: "t"})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, pnid := range pnids {
		f.connect(tn.ID, pnid, appSecret)
	}
	return tn.ID
}

func (f *adoptionFixture) connect(tenant uuid.UUID, pnid, appSecret string) {
	f.t.Helper()
	p := db.ConnectNumberParams{ID: uuid.New(), TenantID: tenant, PhoneNumberID: pnid, DisplayPhoneNumber: "+15550001111", WabaID: "9" + pnid, MessagesPerSecond: 80}
	if appSecret != "" {
		var err error
		if p.SecretKeyID, p.AppSecretEnc, err = f.keys.Encrypt([]byte(appSecret), auth.CredentialAAD(tenant, pnid, "app_secret")); err != nil {
			f.t.Fatal(err)
		}
	}
	if _, err := f.q.ConnectNumber(context.Background(), p); err != nil {
		f.t.Fatal(err)
	}
}

func signWith(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// receive delivers body as Meta would (to tenant's own endpoint unless Nil)
// and returns the outcome.
func (f *adoptionFixture) receive(tenant uuid.UUID, secret string, body []byte) string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	outcome, err := f.receiver.Receive(ctx, Delivery{Body: body, Signature: signWith(secret, body), Tenant: tenant, RequestID: "r"})
	if err != nil {
		f.t.Fatalf("receive: %v", err)
	}
	return outcome
}

// projected waits until the projector has applied everything in the stream.
func (f *adoptionFixture) projected() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	info, err := f.stream.Info(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.inbox.WaitFor(ctx, info.State.LastSeq); err != nil {
		f.t.Fatal(err)
	}
}

// pass runs one adoption pass once the projector caught up, and waits for
// what it published to be projected.
func (f *adoptionFixture) pass() int {
	f.t.Helper()
	f.projected()
	n, err := f.adopter.Pass(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	f.projected()
	return n
}

type messageRow struct {
	Wamid     string
	CreatedAt time.Time
}

func (f *adoptionFixture) messages(tenant uuid.UUID) []messageRow {
	f.t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT wamid, created_at FROM messages WHERE tenant_id = $1 ORDER BY wamid`, tenant)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []messageRow
	for rows.Next() {
		var m messageRow
		if err := rows.Scan(&m.Wamid, &m.CreatedAt); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// unrouted lists the seqs of the unrouted webhooks not adopted (nor refused).
func (f *adoptionFixture) unrouted() []int64 {
	f.t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT seq FROM webhook_log WHERE tenant_id IS NULL AND adopted_by IS NULL AND refused = '' ORDER BY seq`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func textWebhook(pnid, wamid, from, text string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"100","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},"contacts":[{"profile":{"name":"Kerry"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"timestamp":"1718000000","text":{"body":%q},"type":"text"}]},"field":"messages"}]}]}`,
		pnid, from, from, wamid, text))
}

// twoNumbers is one webhook with a change for each of two numbers.
func twoNumbers(pnidA, wamidA, pnidB, wamidB string) []byte {
	change := func(pnid, wamid string) string {
		return fmt.Sprintf(`{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},"contacts":[{"profile":{"name":"Kerry"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":%q,"timestamp":"1718000000","text":{"body":"hi"},"type":"text"}]},"field":"messages"}`, pnid, wamid)
	}
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"100","changes":[` + change(pnidA, wamidA) + `,` + change(pnidB, wamidB) + `]}]}`)
}

// TestAdoptNumberConnectedLater: webhooks for a number nobody had are kept
// unrouted; once the number is connected, adoption moves them into the
// owner's history: the messages appear exactly once, with the time they
// were received, and leave the unrouted list. A webhook that also names a
// number still nobody's leaves that part unrouted, as a webhook of its own.
// Adopting again changes nothing.
func TestAdoptNumberConnectedLater(t *testing.T) {
	t.Parallel()
	f := newAdoptionFixture(t)
	if got := f.receive(uuid.Nil, testAppSecret, textWebhook("333", "wamid.early.1", "16505551234", "anyone there?")); got != OutcomeUnrouted {
		t.Fatalf("outcome %q, want %q", got, OutcomeUnrouted)
	}
	f.receive(uuid.Nil, testAppSecret, twoNumbers("333", "wamid.early.2", "444", "wamid.nobodys"))
	f.projected()
	before := f.unrouted()
	if len(before) != 2 {
		t.Fatalf("unrouted before the number is connected: %v, want 2", before)
	}
	var received []time.Time
	for _, seq := range before {
		var at time.Time
		if err := f.pool.QueryRow(context.Background(), `SELECT received_at FROM webhook_log WHERE seq = $1`, seq).Scan(&at); err != nil {
			t.Fatal(err)
		}
		received = append(received, at)
	}
	if n := f.pass(); n != 0 {
		t.Fatalf("adopted %d before anyone owns the number", n)
	}

	tn := f.tenant("", "333")
	if n := f.pass(); n != 2 {
		t.Fatalf("adopted %d, want 2", n)
	}
	msgs := f.messages(tn)
	if len(msgs) != 2 || msgs[0].Wamid != "wamid.early.1" || msgs[1].Wamid != "wamid.early.2" {
		t.Fatalf("the owner's messages: %+v", msgs)
	}
	for i, m := range msgs {
		if !m.CreatedAt.Equal(received[i]) {
			t.Errorf("%s projected as received at %s, want the original %s", m.Wamid, m.CreatedAt, received[i])
		}
	}
	after := f.unrouted()
	if len(after) != 1 || after[0] <= before[1] {
		t.Fatalf("unrouted after adoption: %v, want only the new remainder for 444", after)
	}
	m, err := f.stream.GetMsg(context.Background(), uint64(after[0]))
	if err != nil {
		t.Fatal(err)
	}
	if d := string(m.Data); !strings.Contains(d, `"444"`) || !strings.Contains(d, "wamid.nobodys") || strings.Contains(d, "wamid.early.2") {
		t.Errorf("the remainder holds %s, want only the change for 444", d)
	}
	var adoptedBy int64
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_log WHERE adopted_by IS NOT NULL AND seq = ANY($1)`, before).Scan(&adoptedBy); err != nil || adoptedBy != 2 {
		t.Errorf("originals marked adopted: %d (%v), want 2", adoptedBy, err)
	}

	last, _ := f.stream.Info(context.Background())
	if n := f.pass(); n != 0 {
		t.Errorf("a second pass adopted %d", n)
	}
	again, _ := f.stream.Info(context.Background())
	if again.State.LastSeq != last.State.LastSeq {
		t.Errorf("a second pass published %d events", again.State.LastSeq-last.State.LastSeq)
	}
	if msgs := f.messages(tn); len(msgs) != 2 {
		t.Errorf("after a second pass: %d messages, want 2", len(msgs))
	}
}

// TestAdoptDeferred: webhooks received while PostgreSQL stalls, for a
// number the routing cache never saw and at a tenant's own endpoint whose
// app secret was never read, are stored unrouted and deferred; when the
// database answers again they are adopted by their owner, the one whose
// signature the tenant's secret does not make refused for good.
func TestAdoptDeferred(t *testing.T) {
	t.Parallel()
	f := newAdoptionFixture(t)
	platform := f.tenant("", "666")
	own := f.tenant("tenant-own-secret", "777")

	f.proxy.Stall()
	for _, c := range []struct {
		tenant uuid.UUID
		secret string
		body   []byte
	}{
		{uuid.Nil, testAppSecret, textWebhook("666", "wamid.deferred", "16505551234", "hello?")},
		{own, "tenant-own-secret", textWebhook("777", "wamid.own", "16505551234", "via the tenant's app")},
		{own, "not-the-secret", textWebhook("777", "wamid.forged", "16505551234", "forged")},
	} {
		if got := f.receive(c.tenant, c.secret, c.body); got != OutcomeDeferred {
			t.Fatalf("outcome %q, want %q", got, OutcomeDeferred)
		}
	}
	f.proxy.Resume()
	f.projected()
	var deferred int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_log WHERE tenant_id IS NULL AND routing = 'deferred'`).Scan(&deferred); err != nil || deferred != 3 {
		t.Fatalf("deferred webhooks logged: %d (%v), want 3", deferred, err)
	}

	if n := f.pass(); n != 2 {
		t.Fatalf("adopted %d, want 2", n)
	}
	if msgs := f.messages(platform); len(msgs) != 1 || msgs[0].Wamid != "wamid.deferred" {
		t.Errorf("platform tenant's messages: %+v", msgs)
	}
	if msgs := f.messages(own); len(msgs) != 1 || msgs[0].Wamid != "wamid.own" {
		t.Errorf("own-app tenant's messages: %+v, want wamid.own and not the forged one", msgs)
	}
	var refused string
	if err := f.pool.QueryRow(context.Background(), `SELECT refused FROM webhook_log WHERE tenant_id IS NULL AND refused <> ''`).Scan(&refused); err != nil {
		t.Fatalf("the forged webhook is not refused: %v", err)
	}
	if left := f.unrouted(); len(left) != 0 {
		t.Errorf("still unrouted: %v", left)
	}
}
