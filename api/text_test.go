package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// TestUnstorableTextRefused: a NUL character or text that is not UTF-8, in
// a query or path parameter or anywhere in a JSON body (keys too, and the
// escapes \u0000 and \ud800 that encoding/json would decode quietly), is a
// 400 naming the field, for every operation, and nothing is stored or
// published. PostgreSQL could not have stored it: these answered 500, or
// 202 for an event the projector then parked.
func TestUnstorableTextRefused(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@text.example.com")
	tenant := uuid.MustParse(owner.User.TenantID)
	if _, err := db.New(e.pool).AddPhoneNumber(context.Background(), db.AddPhoneNumberParams{
		ID: uuid.New(), TenantID: tenant, PhoneNumberID: "111", DisplayPhoneNumber: "+15550001111", WabaID: "100",
	}); err != nil {
		t.Fatal(err)
	}
	hook := textWebhook("100", "111", "wamid.T", "16505551234", "hi")
	if rec := e.post(hook, sign(hook)); rec.Code != 200 {
		t.Fatalf("webhook: %d", rec.Code)
	}
	e.project(t)
	var page struct{ Data []struct{ ID string } }
	e.mustGet(t, "/api/conversations", owner.AccessToken, &page)
	if len(page.Data) != 1 {
		t.Fatalf("%d conversations", len(page.Data))
	}
	conv := "/api/conversations/" + page.Data[0].ID
	published := len(e.streamMsgs())

	const (
		nul       = "must not contain NUL characters"
		utf8      = "must be valid UTF-8"
		surrogate = `must not contain unpaired surrogates (such as \ud800)`
	)
	for _, tt := range []struct{ name, method, path, body, want string }{
		{"NUL in q", http.MethodGet, "/api/conversations?q=%00", "", "q: " + nul},
		{"a byte not UTF-8 in q", http.MethodGet, "/api/conversations?q=%FF", "", "q: " + utf8},
		{"a cut sequence in q", http.MethodGet, "/api/conversations?q=a%C3", "", "q: " + utf8},
		{"NUL in tag", http.MethodGet, "/api/conversations?tag=%00", "", "tag: " + nul},
		{"NUL in a path parameter", http.MethodPost, "/api/conversations/%00/notes", `{"body":"x"}`, "id: " + nul},
		{"NUL in the tenant's name", http.MethodPut, "/api/tenant", `{"name":"a\u0000b"}`, "name: " + nul},
		{"bytes not UTF-8 in the tenant's name", http.MethodPut, "/api/tenant", "{\"name\":\"\xff\xfe\"}", "name: " + utf8},
		{"NUL in a key", http.MethodPut, "/api/tenant", `{"name":"A","branding":{"th\u0000eme":"dark"}}`, "branding.th\uFFFDeme: " + nul},
		{"NUL in a key's name", http.MethodPost, "/api/api-keys", `{"name":"k\u0000"}`, "name: " + nul},
		{"NUL in a user's name", http.MethodPost, "/api/users", `{"email":"u@text.example.com","name":"\u0000","role":"agent"}`, "name: " + nul},
		{"a lone surrogate in a user's name", http.MethodPost, "/api/users", `{"email":"u@text.example.com","name":"\ud800","role":"agent"}`, "name: " + surrogate},
		{"NUL in a note", http.MethodPost, conv + "/notes", `{"body":"a\u0000b"}`, "body: " + nul},
		{"NUL in a tag", http.MethodPatch, conv, `{"tags":["ok","a\u0000"]}`, "tags.1: " + nul},
		{"a lone surrogate in a tag", http.MethodPatch, conv, `{"tags":["\udc00"]}`, "tags.0: " + surrogate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.send(tt.method, tt.path, owner.AccessToken, tt.body)
			if rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s, want 400", rec.Code, rec.Body)
			}
			if got := problemDetail(t, rec); got != tt.want {
				t.Errorf("detail %q, want %q", got, tt.want)
			}
		})
	}
	if n := len(e.streamMsgs()); n != published {
		t.Errorf("%d events published for refused requests", n-published)
	}
	var tenantRow struct{ Name string }
	e.mustGet(t, "/api/tenant", owner.AccessToken, &tenantRow)
	var users, keys struct{ Data []json.RawMessage }
	e.mustGet(t, "/api/users", owner.AccessToken, &users)
	e.mustGet(t, "/api/api-keys", owner.AccessToken, &keys)
	if !strings.HasPrefix(tenantRow.Name, "Acme ") || len(users.Data) != 1 || len(keys.Data) != 0 {
		t.Errorf("refused requests changed something: tenant %q, %d users, %d keys", tenantRow.Name, len(users.Data), len(keys.Data))
	}
	// Text that only looks odd is fine.
	for _, path := range []string{"/api/conversations?q=%C3%A9", "/api/conversations?q=%5Cu0000", "/api/conversations?tag=%EF%BF%BD"} {
		if rec := e.get(path, owner.AccessToken); rec.Code != 200 {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := e.send(http.MethodPost, conv+"/notes", owner.AccessToken, `{"body":"\ud83d\ude00 \\u0000"}`); rec.Code != http.StatusAccepted {
		t.Errorf("a note with an emoji and a backslash: %d %s", rec.Code, rec.Body)
	}
}

// TestWebhookDeepBodyRouted: a signed webhook with a field nested beyond
// what encoding/json reads is still routed to the tenant of its number, and
// stored byte for byte; it used to land in the unrouted subject.
func TestWebhookDeepBodyRouted(t *testing.T) {
	e := newEnv(t)
	tn := e.mustTenant("100", "111")
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	body := bytes.Replace(textWebhook("100", "111", "wamid.DEEP", "16505551234", "hi"),
		[]byte(`"messaging_product"`), []byte(`"x":`+deep+`,"messaging_product"`), 1)
	if rec := e.post(body, sign(body)); rec.Code != 200 {
		t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
	}
	msgs := e.streamMsgs()
	if len(msgs) != 1 {
		t.Fatalf("%d events stored, want 1", len(msgs))
	}
	if want := streams.WebhookSubject(tn.ID.String()); msgs[0].Subject != want || !bytes.Equal(msgs[0].Data, body) {
		t.Errorf("stored on %s (%d bytes), want %s with the body as posted (%d bytes)", msgs[0].Subject, len(msgs[0].Data), want, len(body))
	}
}
