package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

type actionConv struct {
	ID           string   `json:"id"`
	UnreadCount  int      `json:"unread_count"`
	Status       string   `json:"status"`
	SnoozedUntil *string  `json:"snoozed_until"`
	AssigneeID   *string  `json:"assignee_id"`
	Tags         []string `json:"tags"`
	Contact      struct {
		WaID string `json:"wa_id"`
		Name string `json:"name"`
	} `json:"contact"`
}

// TestConversationActions: assign, snooze, tag, note and read are events,
// projected in order with the webhooks around them; the list filters by them.
func TestConversationActions(t *testing.T) {
	e := newEnv(t)
	e.meta.AddNumber("100", "123456123", "+1 555-078-3881", "Acme", metaToken)
	owner := e.register(t, "owner@actions.example.com")
	if rec := e.send(http.MethodPost, "/api/phone-numbers", owner.AccessToken, map[string]any{
		"phone_number_id": "123456123", "display_phone_number": "+15550783881", "waba_id": "100", "access_token": metaToken,
	}); rec.Code != 201 {
		t.Fatalf("connect: %d %s", rec.Code, rec.Body)
	}
	rec := e.send(http.MethodPost, "/api/users", owner.AccessToken, map[string]string{"email": "ag@actions.example.com", "name": "Ag", "role": "agent"})
	var agentUser struct {
		ID                string `json:"id"`
		TemporaryPassword string `json:"temporary_password"`
	}
	json.Unmarshal(rec.Body.Bytes(), &agentUser)
	agent := e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "ag@actions.example.com", "password": agentUser.TemporaryPassword}), 200)

	post := func(body []byte) {
		t.Helper()
		if rec := e.post(body, sign(body)); rec.Code != 200 {
			t.Fatalf("webhook: %d", rec.Code)
		}
	}
	for i := range 2 {
		post(textWebhook("100", "123456123", fmt.Sprintf("wamid.a%d", i), "16505550001", "hi"))
	}
	post(textWebhook("100", "123456123", "wamid.b0", "16505550002", "other"))
	e.project(t)
	list := func(token, query string) []actionConv {
		t.Helper()
		var p struct{ Data []actionConv }
		e.mustGet(t, "/api/conversations"+query, token, &p)
		return p.Data
	}
	var conv, other actionConv
	for _, c := range list(owner.AccessToken, "") {
		if c.Contact.WaID == "16505550001" {
			conv = c
		} else {
			other = c
		}
	}
	if conv.UnreadCount != 2 {
		t.Fatalf("unread %d before read", conv.UnreadCount)
	}

	// The agent assigns it to themselves, tags and snoozes it, reads it, and
	// a message comes in after the read.
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, body := range []string{
		`{"assignee_id":"` + agentUser.ID + `"}`,
		`{"tags":["VIP"," billing ","vip"]}`,
		`{"status":"snoozed","snoozed_until":"` + until + `"}`,
	} {
		if rec := e.send(http.MethodPatch, "/api/conversations/"+conv.ID, agent.AccessToken, body); rec.Code != http.StatusAccepted {
			t.Fatalf("PATCH %s: %d %s", body, rec.Code, rec.Body)
		}
	}
	if rec := e.send(http.MethodPost, "/api/conversations/"+conv.ID+"/read", agent.AccessToken, ""); rec.Code != http.StatusAccepted {
		t.Fatalf("read: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodPost, "/api/conversations/"+conv.ID+"/notes", agent.AccessToken, `{"body":"called back, waiting for invoice"}`); rec.Code != http.StatusAccepted {
		t.Fatalf("note: %d %s", rec.Code, rec.Body)
	}
	post(textWebhook("100", "123456123", "wamid.a2", "16505550001", "still there?"))
	e.project(t)

	got := list(agent.AccessToken, "?assignee=me")
	if len(got) != 1 || got[0].ID != conv.ID {
		t.Fatalf("assignee=me: %+v", got)
	}
	c := got[0]
	// The message after the read is unread; it also reopened the snoozed conversation.
	if c.UnreadCount != 1 || c.Status != "open" || strings.Join(c.Tags, ",") != "vip,billing" || c.AssigneeID == nil || *c.AssigneeID != agentUser.ID {
		t.Errorf("after actions: %+v", c)
	}
	for query, want := range map[string]string{
		"?assignee=unassigned":     other.ID,
		"?tag=vip":                 conv.ID,
		"?tag=VIP":                 conv.ID,
		"?unread=true&tag=billing": conv.ID,
		"?q=550002":                other.ID,
		"?phone_number_id=123456123&assignee=" + agentUser.ID: conv.ID,
	} {
		got := list(owner.AccessToken, query)
		if len(got) != 1 || got[0].ID != want {
			t.Errorf("%s: %d conversations, want just %s", query, len(got), want)
		}
	}
	if got := list(owner.AccessToken, "?q=%25"); len(got) != 0 {
		t.Errorf("q=%% matched %d conversations: LIKE wildcards must be literal", len(got))
	}
	var notes struct {
		Data []struct {
			Body     string  `json:"body"`
			AuthorID *string `json:"author_id"`
		}
	}
	e.mustGet(t, "/api/conversations/"+conv.ID+"/notes", owner.AccessToken, &notes)
	if len(notes.Data) != 1 || notes.Data[0].Body != "called back, waiting for invoice" || notes.Data[0].AuthorID == nil || *notes.Data[0].AuthorID != agentUser.ID {
		t.Errorf("notes: %+v", notes.Data)
	}

	// Unassign; close.
	e.send(http.MethodPatch, "/api/conversations/"+conv.ID, owner.AccessToken, `{"assignee_id":null,"status":"closed"}`)
	e.project(t)
	if got := list(owner.AccessToken, "?status=closed&assignee=unassigned"); len(got) != 1 || got[0].ID != conv.ID {
		t.Errorf("after unassign and close: %+v", got)
	}

	// Bad input.
	for body, field := range map[string]string{
		`{"status":"snoozed"}`:                                "snoozed_until",
		`{"status":"closed","snoozed_until":"` + until + `"}`: "snoozed_until",
		`{"status":"archived"}`:                               "status",
		`{"assignee_id":"` + owner.User.TenantID + `"}`:       "assignee_id",
		`{"tags":["` + strings.Repeat("t", 51) + `"]}`:        "tags",
		`{}`: "body",
	} {
		rec := e.send(http.MethodPatch, "/api/conversations/"+conv.ID, owner.AccessToken, body)
		if rec.Code != 400 || !strings.HasPrefix(problemDetail(t, rec), field) {
			t.Errorf("PATCH %s: %d %s, want 400 naming %s", body, rec.Code, rec.Body, field)
		}
	}
	if rec := e.get("/api/conversations?assignee=me", ""); rec.Code != 401 {
		t.Errorf("no credentials: %d", rec.Code)
	}
}
