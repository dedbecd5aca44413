package api_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/meta"
)

// TestCrossTenantMatrix calls every tenant-scoped route that names an id
// with tenant A's ids and tenant B's credentials (a signed-in owner and an
// API key): each answers 404, and A's data is unchanged afterwards. A new
// route with an id fails this test until it is added to ids below.
func TestCrossTenantMatrix(t *testing.T) {
	e := newEnv(t)
	e.meta.AddNumber("100", "123456123", "+1 555-078-3881", "Acme", metaToken)
	a := e.register(t, "owner@matrix-a.example.com")
	body := textWebhook("100", "123456123", "wamid.matrix", "16505551234", "for a")

	// Tenant A: a number, a conversation with a message, a user, a key, a
	// media file.
	rec := e.send(http.MethodPost, "/api/phone-numbers", a.AccessToken, map[string]any{
		"phone_number_id": "123456123", "display_phone_number": "+15550783881", "waba_id": "100", "access_token": metaToken,
	})
	var number struct{ ID string }
	json.Unmarshal(rec.Body.Bytes(), &number)
	if rec := e.post(body, sign(body)); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	e.project(t)
	var convs page[conversation]
	e.mustGet(t, "/api/conversations", a.AccessToken, &convs)
	var msgs page[message]
	e.mustGet(t, "/api/conversations/"+convs.Data[0].ID+"/messages", a.AccessToken, &msgs)
	rec = e.send(http.MethodPost, "/api/users", a.AccessToken, map[string]string{"email": "agent@matrix-a.example.com", "name": "Ag", "role": "agent"})
	var user struct{ ID string }
	json.Unmarshal(rec.Body.Bytes(), &user)
	rec = e.send(http.MethodPost, "/api/api-keys", a.AccessToken, map[string]string{"name": "a's key"})
	var key struct{ ID, Key string }
	json.Unmarshal(rec.Body.Bytes(), &key)
	e.meta.AddTemplate("100", meta.Template{Name: "a_template", Language: "en_US", Category: "UTILITY", Components: json.RawMessage(`[{"type":"BODY","text":"Hi"}]`)})
	if rec := e.send(http.MethodPost, "/api/templates/sync", a.AccessToken, ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"templates":1`) {
		t.Fatalf("tenant a's templates: %d %s", rec.Code, rec.Body)
	}
	e.project(t)
	file := mustUploaded(t, e.upload(a.AccessToken, fileOf("image/png", "a.png", pngOf(100))))
	rec = e.send(http.MethodPost, "/api/canned-replies", a.AccessToken, map[string]string{"shortcut": "hi", "text": "Hi {{contact.name}}"})
	var reply struct{ ID string }
	json.Unmarshal(rec.Body.Bytes(), &reply)
	if number.ID == "" || user.ID == "" || key.ID == "" || reply.ID == "" {
		t.Fatal("tenant a's fixtures were not made")
	}
	snapshot := func() string {
		var b strings.Builder
		for _, p := range []string{"/api/conversations", "/api/conversations/" + convs.Data[0].ID + "/messages",
			"/api/conversations/" + convs.Data[0].ID + "/notes",
			"/api/users", "/api/api-keys", "/api/phone-numbers", "/api/tenant", "/api/templates", "/api/canned-replies"} {
			b.WriteString(e.send(http.MethodGet, p, a.AccessToken, "").Body.String())
		}
		return b.String()
	}
	var hooks struct{ Data []struct{ Seq int64 } }
	e.mustGet(t, "/api/webhooks", a.AccessToken, &hooks)
	rec = e.send(http.MethodPost, "/api/replays", a.AccessToken, map[string]any{"mode": "reproject"})
	var job struct{ ID string }
	json.Unmarshal(rec.Body.Bytes(), &job)
	if len(hooks.Data) == 0 || job.ID == "" {
		t.Fatalf("tenant a's webhook history and replay job: %+v %s", hooks, rec.Body)
	}
	seq := strconv.FormatInt(hooks.Data[0].Seq, 10)
	before := snapshot()

	ids := map[string]string{
		"/api/conversations/:id/messages": convs.Data[0].ID,
		"/api/conversations/:id":          convs.Data[0].ID,
		"/api/conversations/:id/notes":    convs.Data[0].ID,
		"/api/conversations/:id/read":     convs.Data[0].ID,
		"/api/messages/:id":               msgs.Data[0].ID,
		"/api/messages/:id/read":          msgs.Data[0].ID,
		"/api/users/:id":                  user.ID,
		"/api/users/:id/reset-password":   user.ID,
		"/api/api-keys/:id":               key.ID,
		"/api/waba/credentials/:id":       number.ID,
		"/api/phone-numbers/:id":          number.ID,
		"/api/templates/:name":            "a_template",
		"/api/media/:id":                  file.ID,
		"/api/canned-replies/:id":         reply.ID,
		"/api/webhooks/:seq":              seq,
		"/api/webhooks/:seq/raw":          seq,
		"/api/replays/:id":                job.ID,
		"/api/replays/:id/cancel":         job.ID,
		"/api/contacts/:id/erase":         domain.ContactID(a.User.TenantID, "16505551234").String(),
	}
	bodies := map[string]string{http.MethodPatch: `{"name":"taken over","disabled":true}`}
	bodyFor := func(method, path string) string {
		switch {
		case method == http.MethodPatch && path == "/api/conversations/:id":
			return `{"status":"closed"}`
		case method == http.MethodPatch && path == "/api/canned-replies/:id":
			return `{"text":"taken over"}`
		case method == http.MethodPatch && path == "/api/waba/credentials/:id":
			return `{"messages_per_second":1}`
		case method == http.MethodPost && strings.HasSuffix(path, "/notes"):
			return `{"body":"from tenant b"}`
		case strings.HasSuffix(path, "/reset-password"):
			return `{"invite":"link"}`
		}
		return bodies[method]
	}

	b := e.register(t, "owner@matrix-b.example.com")
	bKey := struct{ Key string }{}
	rec = e.send(http.MethodPost, "/api/api-keys", b.AccessToken, map[string]string{"name": "b's key"})
	json.Unmarshal(rec.Body.Bytes(), &bKey)

	tested := 0
	for _, r := range e.h.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || !strings.Contains(r.Path, ":") || strings.HasPrefix(r.Path, "/api/webhook/") ||
			strings.HasPrefix(r.Path, "/api/ops/") {
			continue // no id, or not tenant-scoped by credentials (operators' routes are 403 to tenants: TestGuardsFollowTheContract)
		}
		if strings.HasSuffix(r.Path, "/*") || r.Method == "echo_route_any" || r.Method == http.MethodOptions {
			continue
		}
		id, ok := ids[r.Path]
		if !ok {
			t.Errorf("route %s %s is not in the cross-tenant matrix", r.Method, r.Path)
			continue
		}
		path := strings.NewReplacer(":id", id, ":name", id, ":seq", id).Replace(r.Path)
		for name, cred := range map[string]string{"owner": b.AccessToken, "api key": bKey.Key} {
			want := http.StatusNotFound
			if name == "api key" && r.Path == "/api/contacts/:id/erase" {
				want = http.StatusForbidden // owners only; keys act as admins
			}
			if rec := e.send(r.Method, path, cred, bodyFor(r.Method, r.Path)); rec.Code != want {
				t.Errorf("tenant b (%s) %s %s: %d, want %d: %s", name, r.Method, path, rec.Code, want, rec.Body)
			}
		}
		tested++
	}
	if tested < len(ids) {
		t.Errorf("only %d routes tested", tested)
	}
	// Ids in bodies too: a send into tenant a's conversation, a reply to
	// or a reaction on its message.
	for name, body := range map[string]string{
		"conversation": `{"conversation_id":"` + convs.Data[0].ID + `","type":"template","template":{"name":"t","language":{"code":"en"}}}`,
		"reply":        `{"to":"16505551234","type":"template","template":{"name":"t","language":{"code":"en"}},"context":{"message_id":"` + msgs.Data[0].ID + `"}}`,
	} {
		for cname, cred := range map[string]string{"owner": b.AccessToken, "api key": bKey.Key} {
			rec := e.send(http.MethodPost, "/api/messages", cred, body)
			if rec.Code != http.StatusNotFound && rec.Code != http.StatusBadRequest {
				t.Errorf("tenant b (%s) sends into tenant a's %s: %d %s", cname, name, rec.Code, rec.Body)
			}
		}
	}
	e.project(t) // anything tenant b managed to store would show now
	if after := snapshot(); after != before {
		t.Errorf("tenant a's data changed:\nbefore %s\nafter  %s", before, after)
	}
}
