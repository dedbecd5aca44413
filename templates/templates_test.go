package templates_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/messaging"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/numbers"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
	"github.com/wam-project/wam/templates"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	waba  = "500500500"
	pnid  = "600600600"
	token = "EAAGtemplates-test-token-0000000001"
)

// env is the templates area over a fresh database, an embedded NATS server
// with the inbox projector running, and the Meta simulator, whose
// template listings it counts by WABA.
type env struct {
	pool   *pgxpool.Pool
	js     jetstream.JetStream
	keys   *auth.KeyRing
	sim    *meta.Simulator
	graph  *meta.Client
	inbox  *projections.Runner
	svc    *templates.Service
	tenant uuid.UUID

	mu       sync.Mutex
	listings map[string]int // GET /{waba}/message_templates, by WABA
}

func newEnv(t *testing.T, o templates.Options) *env {
	t.Helper()
	e := &env{pool: pgtest.New(t), listings: map[string]int{}}
	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := streams.ConnectInProcess(ns, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if e.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	if _, err := streams.EnsureStream(context.Background(), e.js, streams.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if e.keys, err = auth.ParseKeyRing(base64.StdEncoding.EncodeToString(key)); err != nil {
		t.Fatal(err)
	}
	e.sim = meta.NewSimulator()
	t.Cleanup(e.sim.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/message_templates") {
			parts := strings.Split(r.URL.Path, "/")
			e.mu.Lock()
			e.listings[parts[len(parts)-2]]++
			e.mu.Unlock()
		}
		e.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.graph = meta.NewClient(srv.URL, "v23.0")

	ctx, cancel := context.WithCancel(context.Background())
	e.inbox = projections.NewInbox(e.pool, e.js, nil, projections.Options{})
	done := make(chan error, 1)
	go func() { done <- e.inbox.Run(ctx) }()
	e.svc = templates.New(e.pool, streams.NewPublisher(e.js), e.graph, numbers.NewCredentials(db.New(e.pool), e.keys), o)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("inbox projector: %v", err)
		}
	})
	tn, err := db.New(e.pool).CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	e.tenant = tn.ID
	e.connect(t, waba, pnid, token)
	return e
}

// connect gives the tenant number id of WABA w, with access token tok
// sealed as the API seals it; the simulator knows the number only if tok
// is the env's token.
func (e *env) connect(t *testing.T, w, id, tok string) {
	t.Helper()
	if tok == token {
		e.sim.AddNumber(w, id, "+15550001111", "Acme", tok)
	}
	keyID, sealed, err := e.keys.Encrypt([]byte(tok), auth.CredentialAAD(e.tenant, id, "access_token"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.New(e.pool).ConnectNumber(context.Background(), db.ConnectNumberParams{
		ID: uuid.New(), TenantID: e.tenant, PhoneNumberID: id, DisplayPhoneNumber: "+15550001111", WabaID: w,
		MessagesPerSecond: 80, SecretKeyID: keyID, AccessTokenEnc: sealed,
	}); err != nil {
		t.Fatal(err)
	}
}

// projected waits until the inbox projector has applied every event stored.
func (e *env) projected(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := e.js.Stream(ctx, streams.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.inbox.WaitFor(ctx, info.State.LastSeq); err != nil {
		t.Fatal(err)
	}
}

// all lists every template of the tenant, a page of limit at a time, and
// how many pages it took.
func (e *env) all(t *testing.T, f templates.Filter) ([]db.Template, int) {
	t.Helper()
	var out []db.Template
	for pages := 1; ; pages++ {
		p, err := e.svc.List(context.Background(), e.tenant, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Templates...)
		if p.Next == "" {
			return out, pages
		}
		f.Cursor = p.Next
	}
}

func body(text string) json.RawMessage {
	b, _ := json.Marshal([]map[string]string{{"type": "BODY", "text": text}})
	return b
}

// TestSyncEveryPage: a sync reads every page of Meta's listing (230
// templates, three pages of 100) into the read model, reports a WABA whose
// token Meta refuses, and syncs the other all the same.
func TestSyncEveryPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, templates.Options{})
	const n = 230
	for i := range n {
		status := "APPROVED"
		if i%10 == 0 {
			status = "REJECTED"
		}
		e.sim.AddTemplate(waba, meta.Template{Name: fmt.Sprintf("t%03d", i), Language: "en_US", Category: "UTILITY",
			Status: status, Components: body(fmt.Sprintf("Hello {{1}}, number %d", i))})
	}
	e.connect(t, "700700700", "800800800", "EAAGa-token-meta-does-not-know-000001")

	r, err := e.svc.Sync(context.Background(), e.tenant)
	if err != nil {
		t.Fatal(err)
	}
	want := templates.Report{WABAs: []templates.WABAReport{{WABAID: waba, Templates: n},
		{WABAID: "700700700", Error: "Meta refused the access token (code 190): replace it (PATCH /api/waba/credentials/{id})"}}}
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Errorf("report %+v\nwant   %+v", r, want)
	}
	e.mu.Lock()
	if e.listings[waba] != 3 {
		t.Errorf("Meta was asked for %d pages of WABA %s, want 3", e.listings[waba], waba)
	}
	e.mu.Unlock()
	e.projected(t)

	got, pages := e.all(t, templates.Filter{Limit: 100})
	if len(got) != n || pages != 3 {
		t.Fatalf("listed %d templates in %d pages, want %d in 3", len(got), pages, n)
	}
	for i, tm := range got {
		if tm.Name != fmt.Sprintf("t%03d", i) || tm.WabaID != waba || tm.Category != "UTILITY" || tm.SyncedAt == nil ||
			!strings.Contains(string(tm.Components), fmt.Sprintf("number %d", i)) {
			t.Fatalf("template %d: %+v", i, tm)
		}
	}
	rejected, _ := e.all(t, templates.Filter{Status: "rejected"})
	if len(rejected) != n/10 {
		t.Errorf("%d rejected, want %d", len(rejected), n/10)
	}
	named, _ := e.all(t, templates.Filter{Name: "t22"})
	if len(named) != 10 || named[0].Name != "t220" {
		t.Errorf("names with t22: %d, first %v", len(named), named)
	}
	var wabaSync int
	if err := e.pool.QueryRow(context.Background(), `SELECT templates FROM template_syncs WHERE tenant_id = $1 AND waba_id = $2`, e.tenant, waba).Scan(&wabaSync); err != nil || wabaSync != n {
		t.Errorf("template_syncs: %d, %v", wabaSync, err)
	}
}

// TestSyncRemoves: a template Meta no longer lists is deleted from the
// list by the next sync; created again, it is back.
func TestSyncRemoves(t *testing.T) {
	t.Parallel()
	e := newEnv(t, templates.Options{})
	for _, name := range []string{"keep", "drop"} {
		e.sim.AddTemplate(waba, meta.Template{Name: name, Language: "en_US", Category: "MARKETING", Components: body("Hi")})
	}
	sync := func() {
		t.Helper()
		if _, err := e.svc.Sync(context.Background(), e.tenant); err != nil {
			t.Fatal(err)
		}
		e.projected(t)
	}
	sync()
	if got, _ := e.all(t, templates.Filter{}); len(got) != 2 {
		t.Fatalf("listed %d, want 2", len(got))
	}
	if err := e.graph.DeleteTemplate(context.Background(), waba, token, "drop"); err != nil {
		t.Fatal(err)
	}
	sync()
	got, _ := e.all(t, templates.Filter{})
	if len(got) != 1 || got[0].Name != "keep" {
		t.Fatalf("after drop was deleted at Meta: %+v", got)
	}
	var deleted bool
	if err := e.pool.QueryRow(context.Background(), `SELECT deleted FROM templates WHERE tenant_id = $1 AND name = 'drop'`, e.tenant).Scan(&deleted); err != nil || !deleted {
		t.Errorf("drop's row: deleted %v, %v", deleted, err)
	}
	e.sim.AddTemplate(waba, meta.Template{Name: "drop", Language: "en_US", Category: "MARKETING", Components: body("Hi again")})
	sync()
	if got, _ := e.all(t, templates.Filter{}); len(got) != 2 {
		t.Errorf("after drop came back: %+v", got)
	}
}

// TestSyncInParts: a listing too large for one event is published in
// parts, and only its last part removes what Meta no longer lists, by
// every id of every part.
func TestSyncInParts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, templates.Options{})
	e.sim.AddTemplate(waba, meta.Template{Name: "old", Language: "en_US", Category: "UTILITY", Components: body("x")})
	ctx := context.Background()
	if _, err := e.svc.Sync(ctx, e.tenant); err != nil {
		t.Fatal(err)
	}
	if err := e.graph.DeleteTemplate(ctx, waba, token, "old"); err != nil {
		t.Fatal(err)
	}
	const n = 300 // of 3 KB each: more than one event holds
	long := strings.Repeat("a long body ", 250)
	for i := range n {
		e.sim.AddTemplate(waba, meta.Template{Name: fmt.Sprintf("big_%03d", i), Language: "en_US", Category: "UTILITY", Components: body(long + "{{1}}")})
	}
	if _, err := e.svc.Sync(ctx, e.tenant); err != nil {
		t.Fatal(err)
	}
	e.projected(t)
	st, err := e.js.Stream(ctx, streams.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	subject := streams.Subject(e.tenant.String(), domain.EventTemplateSynced)
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	if events := info.State.Subjects[subject]; events < 3 { // the first sync's one, and two parts at least
		t.Errorf("%d template.synced events, want the second sync in parts", events)
	}
	got, _ := e.all(t, templates.Filter{Limit: 200})
	if len(got) != n || got[0].Name != "big_000" || got[n-1].Name != fmt.Sprintf("big_%03d", n-1) {
		t.Errorf("listed %d, want the %d big ones and not old", len(got), n)
	}
}

// TestCreateAndDelete: a template created goes to Meta and into the read
// model as PENDING; deleted, it leaves Meta and the list.
func TestCreateAndDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, templates.Options{})
	c := messaging.Caller{Tenant: e.tenant, Actor: "test"}
	ctx := context.Background()
	tm, err := e.svc.Create(ctx, c, templates.NewTemplate{Name: "order_update", Language: "en_US", Category: "utility",
		Components: body("Order {{1}} is on its way")})
	if err != nil {
		t.Fatal(err)
	}
	if tm.Status != "PENDING" || tm.TemplateID == "" || tm.WabaID != waba || tm.Category != "UTILITY" {
		t.Errorf("created: %+v", tm)
	}
	e.projected(t)
	got, _ := e.all(t, templates.Filter{})
	if len(got) != 1 || got[0].TemplateID != tm.TemplateID || got[0].Status != "PENDING" || !strings.Contains(string(got[0].Components), "on its way") {
		t.Fatalf("listed: %+v", got)
	}
	if _, err := e.svc.Create(ctx, c, templates.NewTemplate{Name: "order_update", Language: "en_US", Category: "UTILITY",
		Components: body("again")}); domain.ErrorCode(err) != domain.ErrConflict {
		t.Errorf("the same name and language again: %v, want a conflict", err)
	}
	for name, nt := range map[string]templates.NewTemplate{
		"name":       {Name: "Order Update", Language: "en_US", Category: "UTILITY", Components: body("x")},
		"category":   {Name: "a", Language: "en_US", Category: "PROMO", Components: body("x")},
		"components": {Name: "a", Language: "en_US", Category: "UTILITY", Components: json.RawMessage(`[{"type":"FOOTER","text":"x"}]`)},
		"language":   {Name: "a", Language: "english", Category: "UTILITY", Components: body("x")},
	} {
		if _, err := e.svc.Create(ctx, c, nt); domain.ErrorCode(err) != domain.ErrInvalid || !strings.HasPrefix(domain.ErrorMessage(err), name) {
			t.Errorf("%s: %v", name, err)
		}
	}

	if _, err := e.svc.Delete(ctx, c, "order_update", "pt_BR", ""); domain.ErrorCode(err) != domain.ErrNotFound {
		t.Errorf("delete in a language it is not in: %v", err)
	}
	d, err := e.svc.Delete(ctx, c, "order_update", "", "")
	if err != nil || len(d.WABAIDs) != 1 || len(d.Events) != 1 {
		t.Fatalf("delete: %+v, %v", d, err)
	}
	e.projected(t)
	if got, _ := e.all(t, templates.Filter{}); len(got) != 0 {
		t.Errorf("listed after the deletion: %+v", got)
	}
	if list, err := e.graph.Templates(ctx, waba, token); err != nil || len(list) != 0 {
		t.Errorf("Meta still lists %+v (%v)", list, err)
	}
	if _, err := e.svc.Delete(ctx, c, "order_update", "", ""); domain.ErrorCode(err) != domain.ErrNotFound {
		t.Errorf("deleted twice: %v", err)
	}
}

// TestDeleteOneLanguage: Meta deletes a name in every language, so
// deleting one of several is refused, and all at once allowed.
func TestDeleteOneLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, templates.Options{})
	for _, lang := range []string{"en_US", "pt_BR"} {
		e.sim.AddTemplate(waba, meta.Template{Name: "hello", Language: lang, Category: "UTILITY", Components: body("Hi")})
	}
	ctx := context.Background()
	if _, err := e.svc.Sync(ctx, e.tenant); err != nil {
		t.Fatal(err)
	}
	e.projected(t)
	c := messaging.Caller{Tenant: e.tenant, Actor: "test"}
	if _, err := e.svc.Delete(ctx, c, "hello", "pt_BR", ""); domain.ErrorCode(err) != domain.ErrConflict || !strings.Contains(domain.ErrorMessage(err), "en_US, pt_BR") {
		t.Errorf("one language of two: %v", err)
	}
	if _, err := e.svc.Delete(ctx, c, "hello", "", ""); err != nil {
		t.Fatal(err)
	}
	e.projected(t)
	if got, _ := e.all(t, templates.Filter{}); len(got) != 0 {
		t.Errorf("listed: %+v", got)
	}
}

// TestCheckSend: a send names a template of its number's WABA, approved,
// filled as its components ask.
func TestCheckSend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, templates.Options{})
	e.sim.AddTemplate(waba, meta.Template{Name: "order", Language: "en_US", Category: "UTILITY", Components: body("Order {{1}} for {{2}}")})
	e.sim.AddTemplate(waba, meta.Template{Name: "promo", Language: "en_US", Category: "MARKETING", Status: "PAUSED", Components: body("Sale")})
	e.sim.AddTemplate("999", meta.Template{Name: "elsewhere", Language: "en_US", Category: "UTILITY", Components: body("x")})
	ctx := context.Background()
	if _, err := e.svc.Sync(ctx, e.tenant); err != nil {
		t.Fatal(err)
	}
	e.projected(t)
	// Through a send, which reads the template with the rest of its
	// context: the messages to a new customer are templates.
	sends := messaging.New(e.pool, streams.NewPublisher(e.js), messaging.Checks{Template: templates.CheckSend}, nil)
	sendFrom := func(number string, tm *domain.OutTemplate) error {
		_, err := sends.Send(ctx, messaging.Caller{Tenant: e.tenant, Actor: "test"}, messaging.SendRequest{
			To: "+16505551234", PhoneNumberID: number, Message: domain.Outbound{Type: domain.TypeTemplate, Template: tm}})
		return err
	}
	check := func(tm *domain.OutTemplate) error { return sendFrom(pnid, tm) }
	text := domain.OutParameter{Type: "text", Text: "x"}
	send := func(name, lang string, params ...domain.OutParameter) *domain.OutTemplate {
		return &domain.OutTemplate{Name: name, Language: domain.OutTemplateLanguage{Code: lang},
			Components: []domain.OutComponent{{Type: "body", Parameters: params}}}
	}
	for name, tc := range map[string]struct {
		send      *domain.OutTemplate
		code, msg string
	}{
		"filled":           {send("order", "en_US", text, text), "", ""},
		"one short":        {send("order", "en_US", text), domain.ErrInvalid, "template.components.0.parameters: the body takes 2 parameters, 1 given"},
		"paused":           {send("promo", "en_US"), domain.ErrConflict, "template.name: template promo in en_US is PAUSED, not APPROVED"},
		"another language": {send("order", "pt_BR", text, text), domain.ErrInvalid, "template.name: WhatsApp Business Account 500500500 has no template order in pt_BR"},
		"another WABA's":   {send("elsewhere", "en_US"), domain.ErrInvalid, "template.name: WhatsApp Business Account 500500500 has no template elsewhere"},
		"never heard of":   {send("nope", "en_US"), domain.ErrInvalid, "template.name:"},
	} {
		err := check(tc.send)
		if domain.ErrorCode(err) != tc.code || !strings.HasPrefix(domain.ErrorMessage(err), tc.msg) {
			t.Errorf("%s: %s %q, want %s %q", name, domain.ErrorCode(err), domain.ErrorMessage(err), tc.code, tc.msg)
		}
	}

	// A number connected without its WABA id cannot be checked: Meta
	// decides.
	e.connect(t, "", "900900900", "EAAGa-number-without-a-waba-0000001")
	if err := sendFrom("900900900", send("nope", "en_US")); err != nil {
		t.Errorf("a number without a WABA: %v", err)
	}

	// Deleted, it is refused as such.
	c := messaging.Caller{Tenant: e.tenant, Actor: "test"}
	if _, err := e.svc.Delete(ctx, c, "order", "", ""); err != nil {
		t.Fatal(err)
	}
	e.projected(t)
	if err := check(send("order", "en_US", text, text)); domain.ErrorCode(err) != domain.ErrInvalid || !strings.Contains(domain.ErrorMessage(err), "was deleted") {
		t.Errorf("deleted: %v", err)
	}
}

// TestWorkerAndNudge: the worker syncs a WABA never listed, and a nudge
// syncs at once a WABA the worker would not look at for a while.
func TestWorkerAndNudge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, templates.Options{Check: time.Hour})
	e.sim.AddTemplate(waba, meta.Template{Name: "first", Language: "en_US", Category: "UTILITY", Components: body("x")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the worker's first sync", func() bool {
		e.projected(t)
		got, _ := e.all(t, templates.Filter{})
		return len(got) == 1
	})
	e.sim.AddTemplate(waba, meta.Template{Name: "second", Language: "en_US", Category: "UTILITY", Components: body("x")})
	e.svc.Nudge(e.tenant)
	eventually(t, "the nudged sync", func() bool {
		e.projected(t)
		got, _ := e.all(t, templates.Filter{})
		return len(got) == 2
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.listings[waba] != 2 {
		t.Errorf("%d listings, want 2: the worker's and the nudge's", e.listings[waba])
	}
}

// TestSyncWithin: a sync that ends within the caller's deadline answers
// its report; one that does not answers "going on" in time.
func TestSyncWithin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, templates.Options{})
	e.sim.AddTemplate(waba, meta.Template{Name: "t", Language: "en_US", Category: "UTILITY", Components: body("x")})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, done, err := e.svc.SyncWithin(ctx, e.tenant)
	if err != nil || !done || len(r.WABAs) != 1 || r.WABAs[0].Templates != 1 {
		t.Errorf("within 5 s: %+v, done %v, %v", r, done, err)
	}
	e.sim.SetFaults(meta.Faults{Latency: 3 * time.Second})
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	if _, done, err := e.svc.SyncWithin(ctx, e.tenant); done || err != nil {
		t.Errorf("a slow Meta within 1 s: done %v, %v", done, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("answered after %s, past the caller's deadline", d)
	}
	// The slow sync goes on; the next one starts after it.
	e.sim.SetFaults(meta.Faults{})
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, done, err := e.svc.SyncWithin(ctx, e.tenant); !done || err != nil {
		t.Errorf("the sync after the slow one: done %v, %v", done, err)
	}
}

// eventually fails the test unless cond holds within 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	await.Until(t, 20*time.Second, what, cond)
}
