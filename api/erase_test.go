package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/erasure"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/rebuild"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Two customers of one tenant: Pat, who asks to be erased, and Quinn, who
// shares webhooks with Pat.
const (
	patWaID, patName, patText = "15550009999", "Pat Secretname", "pat-secret-text"
	quinnWaID, quinnName      = "15550008888", "Quinn Othername"
	erasePNID, eraseWABA      = "7002", "7001"
)

func eraseWebhook(changes ...string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":%q,"changes":[%s]}]}`, eraseWABA, strings.Join(changes, ",")))
}

func eraseChange(contacts, messages, statuses string) string {
	v := fmt.Sprintf(`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q}`, erasePNID)
	if contacts != "" {
		v += `,"contacts":[` + contacts + `]`
	}
	if messages != "" {
		v += `,"messages":[` + messages + `]`
	}
	if statuses != "" {
		v += `,"statuses":[` + statuses + `]`
	}
	return `{"field":"messages","value":{` + v + `}}`
}

func contactJSON(waID, name string) string {
	return fmt.Sprintf(`{"profile":{"name":%q},"wa_id":%q}`, name, waID)
}

func textJSON(from, wamid, body string) string {
	return fmt.Sprintf(`{"from":%q,"id":%q,"timestamp":"1718000000","type":"text","text":{"body":%q}}`, from, wamid, body)
}

func statusJSON(to, wamid string) string {
	return fmt.Sprintf(`{"id":%q,"status":"delivered","timestamp":"1718000100","recipient_id":%q}`, wamid, to)
}

// TestEraseContact erases Pat through the API and then looks everywhere:
// every message of the stream, the object store and every table of
// PostgreSQL hold neither Pat's number, name nor texts; Quinn's data in
// the same webhooks is intact; Meta delivering an old webhook again and a
// rebuild do not bring Pat back.
func TestEraseContact(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.register(t, "owner@erase.example.com")
	tenant := uuid.MustParse(owner.User.TenantID)
	if _, err := db.New(e.pool).AddPhoneNumber(ctx, db.AddPhoneNumberParams{ID: uuid.New(), TenantID: tenant,
		PhoneNumberID: erasePNID, DisplayPhoneNumber: "+15550001111", WabaID: eraseWABA}); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	pub := streams.NewPublisher(e.js)
	svc := erasure.New(e.pool, e.js, e.store, pub, key, erasure.Options{})
	e.h = api.New(api.Config{AppSecret: appSecret, Erasure: svc, Tokens: auth.NewTokens(e.key, time.Now),
		Argon2: auth.Argon2Params{Memory: 1 << 10, Time: 1, Threads: 1}}, e.pool, pub, slog.New(slog.DiscardHandler))
	proj := projections.Inbox{Erased: svc.Erased}
	live := projections.NewRunner(e.pool, e.js, proj, nil, projections.Options{})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- live.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	patImage := fmt.Sprintf(`{"from":%q,"id":"wamid.pat-img","timestamp":"1718000200","type":"image","image":{"id":"9001","mime_type":"image/jpeg","sha256":"x"}}`, patWaID)
	hooks := [][]byte{
		// Pat and Quinn in one change.
		eraseWebhook(eraseChange(contactJSON(patWaID, patName)+","+contactJSON(quinnWaID, quinnName),
			textJSON(patWaID, "wamid.pat-1", patText+"-1")+","+textJSON(quinnWaID, "wamid.quinn-1", "quinn-text-1"), "")),
		// Pat alone.
		eraseWebhook(eraseChange(contactJSON(patWaID, patName), textJSON(patWaID, "wamid.pat-2", patText+"-2"), "")),
		// Statuses of messages to each, in one change.
		eraseWebhook(eraseChange("", "", statusJSON(patWaID, "wamid.to-pat")+","+statusJSON(quinnWaID, "wamid.to-quinn"))),
		// Pat's picture, and Quinn in another change of the same webhook.
		eraseWebhook(eraseChange(contactJSON(patWaID, patName), patImage, ""),
			eraseChange(contactJSON(quinnWaID, quinnName), textJSON(quinnWaID, "wamid.quinn-2", "quinn-text-2"), "")),
	}
	for _, h := range hooks {
		if rec := e.post(h, sign(h)); rec.Code != http.StatusOK {
			t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
		}
	}
	waitFor := func(seq uint64) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := live.WaitFor(wctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	waitHead := func() {
		t.Helper()
		info, err := e.stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(info.State.LastSeq)
	}
	waitHead()
	mediaID := domain.MediaID(tenant.String(), "wamid.pat-img")
	if _, err := e.store.PutBytes(ctx, streams.MediaObject(tenant.String(), mediaID.String()), []byte("pat's face, "+patName)); err != nil {
		t.Fatal(err)
	}
	pat := domain.ContactID(tenant.String(), patWaID)

	// Only owners erase: an admin is refused.
	_, _, admin := e.member(t, owner, "admin@erase.example.com", "admin")
	if rec := e.send(http.MethodPost, "/api/contacts/"+pat.String()+"/erase", admin.AccessToken, ""); rec.Code != http.StatusForbidden {
		t.Errorf("an admin erasing: %d", rec.Code)
	}
	if rec := e.send(http.MethodPost, "/api/contacts/"+uuid.NewString()+"/erase", owner.AccessToken, ""); rec.Code != http.StatusNotFound {
		t.Errorf("erasing nobody: %d %s", rec.Code, rec.Body)
	}
	// Not while a rebuild runs: its shadow could bring Pat back.
	if _, err := e.pool.Exec(ctx, `INSERT INTO rebuilds (id, projector, state, shadow, started_at, updated_at)
		VALUES ($1, 'inbox', 'running', 'wam_rebuild_x', now(), now())`, uuid.New()); err != nil {
		t.Fatal(err)
	}
	if rec := e.send(http.MethodPost, "/api/contacts/"+pat.String()+"/erase", owner.AccessToken, ""); rec.Code != http.StatusConflict {
		t.Errorf("erasing during a rebuild: %d %s", rec.Code, rec.Body)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE rebuilds SET state = 'done'`); err != nil {
		t.Fatal(err)
	}
	rec := e.send(http.MethodPost, "/api/contacts/"+pat.String()+"/erase", owner.AccessToken, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("erase: %d %s", rec.Code, rec.Body)
	}
	var res struct {
		EventsDeleted, EventsRewritten, MediaDeleted, RowsDeleted int
		TombstoneSeq                                              uint64
	}
	dec := json.NewDecoder(bytes.NewReader(bytes.ReplaceAll(rec.Body.Bytes(), []byte("_"), nil)))
	if err := dec.Decode(&res); err != nil {
		t.Fatal(err)
	}
	if res.EventsDeleted != 1 || res.EventsRewritten != 3 || res.MediaDeleted != 1 || res.RowsDeleted == 0 || res.TombstoneSeq == 0 {
		t.Errorf("erasure = %+v; want 1 event deleted, 3 rewritten, 1 file", res)
	}
	waitFor(res.TombstoneSeq - 1) // the last rewritten webhook; the tombstone is no projector's

	// Meta delivers Pat's own webhook again, after the erasure (and after
	// JetStream's duplicate window: a new message id).
	again, err := pub.Publish(ctx, streams.Event{Tenant: tenant.String(), Type: streams.TypeWebhookMeta, Data: hooks[1], MsgID: uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(again)
	needles := []string{patWaID, patName, patText}
	e.mustFindNowhere(t, needles, 1) // the redelivery is in the stream, and nowhere else
	e.mustHaveQuinn(t, tenant)

	// A rebuild brings nothing back.
	rb := rebuild.New(e.pool, e.js, rebuild.Options{Projection: proj})
	defer rb.Close()
	if _, err := rb.Run(ctx, rebuild.Request{}, nil); err != nil {
		t.Fatal(err)
	}
	e.mustFindNowhere(t, needles, 1)
	e.mustHaveQuinn(t, tenant)
	var audited int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'contact.erased' AND target = $2`, tenant, pat.String()).Scan(&audited); err != nil || audited != 1 {
		t.Errorf("audit entries: %d (%v)", audited, err)
	}
}

// mustFindNowhere scans every message of the stream (data and headers),
// every object of the media store and every row of every table for the
// needles; the stream may hold them in redelivered webhooks only
// (Meta's redelivery after the erasure is stored as it came).
func (e *env) mustFindNowhere(t *testing.T, needles []string, redelivered int) {
	t.Helper()
	ctx := context.Background()
	info, err := e.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := e.stream.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		all := string(m.Data) + fmt.Sprint(m.Header)
		for _, n := range needles {
			if strings.Contains(all, n) {
				found++
				break
			}
		}
	}
	if found != redelivered {
		t.Errorf("%d events of the stream name the erased person, want %d (the redelivery)", found, redelivered)
	}
	lister, err := e.store.List(ctx)
	if err != nil && err != jetstream.ErrNoObjectsFound {
		t.Fatal(err)
	}
	for _, o := range lister {
		r, err := e.store.Get(ctx, o.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		_ = r.Close()
		for _, n := range needles {
			if strings.Contains(string(b)+o.Name+fmt.Sprint(o.Metadata), n) {
				t.Errorf("object %s holds %q", o.Name, n)
			}
		}
	}
	rows, err := e.pool.Query(ctx, `SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if len(tables) < 10 {
		t.Fatalf("only tables %v", tables)
	}
	for _, table := range tables {
		for _, n := range needles {
			var c int
			if err := e.pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %q x WHERE to_jsonb(x)::text LIKE '%%' || $1 || '%%'`, table), n).Scan(&c); err != nil {
				t.Fatal(err)
			}
			if c > 0 {
				t.Errorf("%d rows of %s hold %q", c, table, n)
			}
		}
	}
}

// mustHaveQuinn checks that Quinn's contact, messages and status are all
// there.
func (e *env) mustHaveQuinn(t *testing.T, tenant uuid.UUID) {
	t.Helper()
	var name string
	var texts, statuses int
	err := e.pool.QueryRow(context.Background(), `
		SELECT (SELECT profile_name FROM contacts WHERE tenant_id = $1 AND wa_id = $2),
		       (SELECT count(*) FROM messages WHERE tenant_id = $1 AND content->>'body' LIKE 'quinn-text-%'),
		       (SELECT count(*) FROM messages WHERE tenant_id = $1 AND wamid = 'wamid.to-quinn' AND status = 'delivered')`,
		tenant, quinnWaID).Scan(&name, &texts, &statuses)
	if err != nil {
		t.Fatalf("Quinn: %v", err)
	}
	if name != quinnName || texts != 2 || statuses != 1 {
		t.Errorf("Quinn: name %q, %d texts, %d statuses; want %q, 2, 1", name, texts, statuses, quinnName)
	}
}
