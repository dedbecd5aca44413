package ops

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is what the operators' tools run on in `wam serve`: a database, an
// embedded NATS with the WAM stream, the inbox projector (the projection
// given) and the jobs' projector, running until the test ends.
type env struct {
	pool  *pgxpool.Pool
	js    jetstream.JetStream
	pub   *streams.Publisher
	inbox *projections.Runner
	jobs  *projections.Runner
}

func mustEnv(t *testing.T, live projections.Projection) *env {
	return mustEnvWith(t, live, projections.Options{})
}

// mustEnvWith is mustEnv with the inbox projector's options.
func mustEnvWith(t *testing.T, live projections.Projection, opts projections.Options) *env {
	t.Helper()
	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := streams.ConnectInProcess(ns, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := streams.EnsureStream(context.Background(), js, streams.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	e := &env{pool: pgtest.New(t), js: js, pub: streams.NewPublisher(js)}
	e.inbox = projections.NewRunner(e.pool, js, live, nil, opts)
	e.jobs = projections.NewRunner(e.pool, js, JobsProjection{}, nil, projections.Options{})
	e.run(t, e.inbox)
	e.run(t, e.jobs)
	return e
}

// projectedWith runs a second projector on e's stream into a fresh
// database, as a rebuild from scratch would, and returns its pool once it
// has reached seq.
func (e *env) projectedWith(t *testing.T, p projections.Projection, opts projections.Options, seq uint64) *pgxpool.Pool {
	t.Helper()
	pool := pgtest.New(t)
	r := projections.NewRunner(pool, e.js, p, nil, opts)
	e.run(t, r)
	wait(t, r, seq)
	return pool
}

func (e *env) run(t *testing.T, r *projections.Runner) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", r.Name(), err)
		}
	})
}

func wait(t *testing.T, r *projections.Runner, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WaitFor(ctx, seq); err != nil {
		t.Fatal(err)
	}
}

func (e *env) service(opts Options) *Service {
	if opts.Projectors == nil {
		// A Runner that is not run: only its projection and its pool serve
		// re-projection, as in `wam serve`, where it is the live one.
		opts.Projectors = []Reprojector{e.inbox}
	}
	return New(e.pool, e.js, e.pub, opts)
}

// tenant makes a tenant (a row for the audit log's sake) and returns its id.
func (e *env) tenant(t *testing.T) uuid.UUID {
	t.Helper()
	tn, err := db.New(e.pool).CreateTenant(context.Background(), db.CreateTenantParams{ID: uuid.New(), Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

func (e *env) publish(t *testing.T, tenant string, body []byte) uint64 {
	t.Helper()
	return e.publishEvent(t, tenant, streams.TypeWebhookMeta, body)
}

// publishEvent stores an event of type typ of tenant (a subject token).
func (e *env) publishEvent(t *testing.T, tenant, typ string, body []byte) uint64 {
	t.Helper()
	seq, err := e.pub.Publish(context.Background(), streams.Event{Tenant: tenant, Type: typ, MsgID: uuid.NewString(), Data: body})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// eventually fails the test unless cond holds within 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	await.Until(t, 30*time.Second, what, cond)
}

// notReadModels are the tables no projection of webhooks writes:
// configuration of record, bookkeeping and the jobs' own read model.
var notReadModels = map[string]bool{
	"goose_db_version": true, "projector_checkpoints": true, "replay_jobs": true, "ops_audit_log": true, "audit_log": true,
	"tenants": true, "users": true, "refresh_tokens": true, "api_keys": true, "phone_numbers": true, "operators": true,
	"tenant_settings": true, "send_idempotency": true, "media_meta_uploads": true,
}

// checksums are an md5 of every row of every read-model table, by table.
func checksums(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !notReadModels[name] {
			tables = append(tables, name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, name := range tables {
		var sum string
		q := fmt.Sprintf(`SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '') FROM %q t`, name)
		if err := pool.QueryRow(ctx, q).Scan(&sum); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sums[name] = sum
	}
	return sums
}

func diffSums(a, b map[string]string) []string {
	var diff []string
	for k, v := range a {
		if b[k] != v {
			diff = append(diff, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diff = append(diff, k)
		}
	}
	return diff
}

const testPNID = "106540352242922"

func webhook(value string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},%s}}]}]}`, testPNID, value)
}

func textHook(wamid, from, name, body string, at int64) []byte {
	return webhook(fmt.Sprintf(`"contacts":[{"profile":{"name":%q},"wa_id":%q}],
"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":%q}}]`, name, from, from, wamid, at, body))
}

func locationHook(wamid, from, name string, at int64) []byte {
	return webhook(fmt.Sprintf(`"contacts":[{"profile":{"name":%q},"wa_id":%q}],
"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"location","location":{"latitude":52.52,"longitude":13.405,"name":"Mitte"}}]`,
		name, from, from, wamid, at))
}

func statusHook(wamid, status, recipient string, at int64) []byte {
	return webhook(fmt.Sprintf(`"statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":%q,
"pricing":{"billable":true,"pricing_model":"PMP","category":"service","type":"regular"}}]`, wamid, status, at, recipient))
}

// brokenDecoder is the inbox with a decoder bug: it does not see location
// messages (it decodes the webhook as if the message had no id, which the
// decoder drops).
type brokenDecoder struct{ projections.Inbox }

func (b brokenDecoder) Prepare(ev *projections.Event) error {
	if bytes.Contains(ev.Data, []byte(`"type":"location"`)) {
		cp := *ev
		cp.Data = bytes.Replace(ev.Data, []byte(`"id":"wamid.`), []byte(`"xid":"wamid.`), 1)
		err := b.Inbox.Prepare(&cp)
		ev.Prepared = cp.Prepared
		return err
	}
	return b.Inbox.Prepare(ev)
}
