package rebuild_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/rebuild"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is an embedded NATS server with the WAM stream and a fresh database.
type env struct {
	pool *pgxpool.Pool
	js   jetstream.JetStream
	pub  *streams.Publisher
}

func mustEnv(tb testing.TB) *env {
	tb.Helper()
	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := streams.ConnectInProcess(ns, tb.Name())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := streams.EnsureStream(context.Background(), js, streams.StreamOptions{}); err != nil {
		tb.Fatal(err)
	}
	return &env{pool: pgtest.New(tb), js: js, pub: streams.NewPublisher(js)}
}

// mustTenant makes a tenant owning phone number id pnid and returns it
// with a generator of its webhooks.
func (e *env) mustTenant(tb testing.TB, pnid string, seed int64) (uuid.UUID, *meta.WebhookGen) {
	tb.Helper()
	ctx := context.Background()
	q := db.New(e.pool)
	tn, err := q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: "t"})
	if err != nil {
		tb.Fatal(err)
	}
	waba := "1" + pnid
	if _, err := q.AddPhoneNumber(ctx, db.AddPhoneNumberParams{ID: uuid.New(), TenantID: tn.ID, PhoneNumberID: pnid, DisplayPhoneNumber: "+15550001111", WabaID: waba}); err != nil {
		tb.Fatal(err)
	}
	return tn.ID, meta.NewWebhookGen(pnid, "+1 555-000-1111", waba, seed).WithSenders(20)
}

func (e *env) publish(tb testing.TB, tenant uuid.UUID, body []byte) uint64 {
	tb.Helper()
	seq, err := e.pub.Publish(context.Background(), streams.Event{Tenant: tenant.String(), Type: streams.TypeWebhookMeta, Data: body, MsgID: uuid.NewString()})
	if err != nil {
		tb.Fatal(err)
	}
	return seq
}

// runInbox runs the live inbox projector over pool until the test ends.
func (e *env) runInbox(tb testing.TB, pool *pgxpool.Pool) *projections.Runner {
	tb.Helper()
	r := projections.NewInbox(pool, e.js, nil, projections.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("inbox: %v", err)
		}
	})
	return r
}

// mustOneTenant projects n webhooks of one tenant, owning pnid, with the
// live inbox projector, and returns the read models' checksums.
func (e *env) mustOneTenant(tb testing.TB, pnid string, seed int64, n int) string {
	tb.Helper()
	a, ga := e.mustTenant(tb, pnid, seed)
	live := e.runInbox(tb, e.pool)
	var head uint64
	for range n {
		body, _, _ := ga.Next()
		head = e.publish(tb, a, body)
	}
	mustWait(tb, live, head)
	return mustChecksums(tb, e.pool)
}

func mustWait(tb testing.TB, r *projections.Runner, seq uint64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.WaitFor(ctx, seq); err != nil {
		tb.Fatal(err)
	}
}

// mustChecksums is rebuild.Checksum of pool.
func mustChecksums(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	sum, err := rebuild.Checksum(context.Background(), pool)
	if err != nil {
		tb.Fatal(err)
	}
	return sum
}

// mustShapes is what every read-model table has beside its columns: its
// indexes, constraints, policies, grants, row-level security and whether
// it is logged.
func mustShapes(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	ctx := context.Background()
	q := db.New(pool)
	var lines []string
	for _, t := range rebuild.Tables {
		rows, err := q.TableShape(ctx, "public."+t)
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range rows {
			lines = append(lines, fmt.Sprintf("%s %s %s %q %v", t, r.Kind, r.Name, r.Def, r.Unique))
		}
		p, err := q.TablePersistence(ctx, "public."+t)
		if err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, t+" persistence "+p)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// mustFromScratch projects the whole stream into a fresh database with the
// live projector and returns its checksums.
func (e *env) mustFromScratch(tb testing.TB, head uint64) string {
	tb.Helper()
	pool := pgtest.New(tb)
	r := e.runInbox(tb, pool)
	mustWait(tb, r, head)
	return mustChecksums(tb, pool)
}

func TestRebuildEqualsFromScratch(t *testing.T) {
	e := mustEnv(t)
	a, ga := e.mustTenant(t, "1001", 1)
	b, gb := e.mustTenant(t, "1002", 2)
	live := e.runInbox(t, e.pool)
	var head uint64
	for range 300 {
		body, _, _ := ga.Next()
		e.publish(t, a, body)
		body, _, _ = gb.Next()
		head = e.publish(t, b, body)
	}
	mustWait(t, live, head)
	before, shapes := mustChecksums(t, e.pool), mustShapes(t, e.pool)

	// The checksum sees one column of one row changed, and not the
	// Bookkeeping columns.
	if _, err := e.pool.Exec(context.Background(), `UPDATE messages SET updated_at = now() - interval '1 day', preview = preview || '!'
		WHERE id = (SELECT id FROM messages WHERE preview <> '' ORDER BY id LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	one := mustChecksums(t, e.pool)
	if _, err := e.pool.Exec(context.Background(), `UPDATE messages SET updated_at = now(), preview = left(preview, -1)
		WHERE id = (SELECT id FROM messages WHERE preview <> '' ORDER BY id LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	if one == before || mustChecksums(t, e.pool) != before {
		t.Fatalf("checksum with one preview changed equal to before (%v), or not back after the change was undone", one == before)
	}

	// A read model gone wrong, as after a decoder bug: the rebuild mends it.
	if _, err := e.pool.Exec(context.Background(), `UPDATE messages SET preview = 'wrong'`); err != nil {
		t.Fatal(err)
	}
	svc := rebuild.New(e.pool, e.js, rebuild.Options{MaxBatch: 250})
	defer svc.Close()
	var seen []rebuild.Job
	job, err := svc.Run(context.Background(), rebuild.Request{Actor: "test"}, func(j rebuild.Job) { seen = append(seen, j) })
	if err != nil {
		t.Fatal(err)
	}
	if job.State != rebuild.StateDone || job.Checkpoint != head || job.EventsDone != 600 {
		t.Fatalf("job = %+v, want done at %d after 600 events", job, head)
	}
	if len(seen) < 2 {
		t.Errorf("progress reported %d times", len(seen))
	}
	if got := mustChecksums(t, e.pool); got != before {
		t.Errorf("after the rebuild:\n%s\nbefore:\n%s", got, before)
	}
	if got := mustShapes(t, e.pool); got != shapes {
		t.Errorf("tables after the rebuild:\n%s\nbefore:\n%s", got, shapes)
	}
	// The live projector goes on, on the new tables.
	body, _, _ := ga.Next()
	head = e.publish(t, a, body)
	mustWait(t, live, head)
	if got, want := mustChecksums(t, e.pool), e.mustFromScratch(t, head); got != want {
		t.Errorf("after more events:\n%s\nfrom scratch:\n%s", got, want)
	}
	var schemas int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'wam\_%'`).Scan(&schemas); err != nil || schemas != 0 {
		t.Errorf("%d schemas left over (%v)", schemas, err)
	}
	got, err := svc.Get(context.Background(), job.ID)
	if err != nil || got.State != rebuild.StateDone {
		t.Errorf("Get = %+v, %v", got, err)
	}
}

func TestRebuildOneTenant(t *testing.T) {
	e := mustEnv(t)
	a, ga := e.mustTenant(t, "2001", 3)
	b, gb := e.mustTenant(t, "2002", 4)
	live := e.runInbox(t, e.pool)
	var head uint64
	for range 200 {
		body, _, _ := ga.Next()
		e.publish(t, a, body)
		body, _, _ = gb.Next()
		head = e.publish(t, b, body)
	}
	mustWait(t, live, head)
	before := mustChecksums(t, e.pool)
	if _, err := e.pool.Exec(context.Background(), `UPDATE messages SET preview = 'wrong'`); err != nil {
		t.Fatal(err)
	}
	svc := rebuild.New(e.pool, e.js, rebuild.Options{})
	defer svc.Close()
	job, err := svc.Run(context.Background(), rebuild.Request{Tenant: &a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if job.State != rebuild.StateDone || job.EventsDone != 200 {
		t.Fatalf("job = %+v, want done after tenant a's 200 events", job)
	}
	var wrongA, wrongB int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE tenant_id = $1), count(*) FILTER (WHERE tenant_id = $2)
		FROM messages WHERE preview = 'wrong'`, a, b).Scan(&wrongA, &wrongB); err != nil {
		t.Fatal(err)
	}
	if wrongA != 0 || wrongB == 0 {
		t.Errorf("wrong previews: tenant a %d (want 0), tenant b %d (want them left alone)", wrongA, wrongB)
	}
	// Rebuilding b too gives the read models of the stream back.
	if _, err := svc.Run(context.Background(), rebuild.Request{Tenant: &b}, nil); err != nil {
		t.Fatal(err)
	}
	if got := mustChecksums(t, e.pool); got != before {
		t.Errorf("after rebuilding both tenants:\n%s\nbefore:\n%s", got, before)
	}
}

func TestRebuildRefusals(t *testing.T) {
	e := mustEnv(t)
	svc := rebuild.New(e.pool, e.js, rebuild.Options{})
	defer svc.Close()
	ctx := context.Background()
	if _, err := svc.Run(ctx, rebuild.Request{Projector: "outbox"}, nil); err == nil || !strings.Contains(err.Error(), "projector: no projector") {
		t.Errorf("unknown projector: %v", err)
	}
	nobody := uuid.New()
	if _, err := svc.Run(ctx, rebuild.Request{Tenant: &nobody}, nil); err == nil || !strings.Contains(err.Error(), "tenant_id: no tenant") {
		t.Errorf("unknown tenant: %v", err)
	}
	if _, err := svc.Get(ctx, uuid.New()); err == nil {
		t.Error("Get of no job: no error")
	}
}

// otherProjectors are read models of projectors other than the inbox,
// which a rebuild of the inbox leaves alone: replay jobs (ops.JobsProjection).
var otherProjectors = []string{"replay_jobs"}

// TestTablesAreTheReadModels: every table whose rows record the stream
// sequence that last changed them (last_seq) is a read model, and a
// rebuild must know it; webhook_log is keyed by the sequence instead.
// A new read model fails this test until it is added to rebuild.Tables.
func TestTablesAreTheReadModels(t *testing.T) {
	pool := pgtest.New(t)
	rows, err := pool.Query(context.Background(), `
		SELECT table_name::text FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name = 'last_seq' AND table_name <> 'projector_checkpoints'
		  AND table_name <> ALL ($1)
		UNION SELECT 'webhook_log' ORDER BY 1`, otherProjectors)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	want := append([]string(nil), rebuild.Tables...)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tables with last_seq: %v; rebuild.Tables: %v", got, want)
	}
}
