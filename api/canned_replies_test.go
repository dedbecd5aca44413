package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type cannedReply struct {
	ID       string `json:"id"`
	Shortcut string `json:"shortcut"`
	Text     string `json:"text"`
}

func TestCannedReplies(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@acme.example")
	_, _, agent := e.member(t, owner, "agent@acme.example", "agent")
	_, _, admin := e.member(t, owner, "admin@acme.example", "admin")
	other := e.register(t, "owner@globex.example")

	rec := e.send(http.MethodPost, "/api/canned-replies", owner.AccessToken, map[string]string{"shortcut": "/Hello", "text": "Hi {{contact.name}}, {{ agent.name }} here."})
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var hello cannedReply
	_ = json.Unmarshal(rec.Body.Bytes(), &hello)
	if hello.Shortcut != "hello" || hello.Text != "Hi {{contact.name}}, {{ agent.name }} here." {
		t.Errorf("created %+v", hello)
	}
	if rec := e.send(http.MethodPost, "/api/canned-replies", admin.AccessToken, map[string]string{"shortcut": "bye", "text": "Bye!"}); rec.Code != http.StatusCreated {
		t.Fatalf("admin creates: %d %s", rec.Code, rec.Body)
	}

	for name, c := range map[string]struct {
		body  any
		code  int
		field string
	}{
		"taken":            {map[string]string{"shortcut": "HELLO", "text": "again"}, http.StatusConflict, "shortcut"},
		"spaces":           {map[string]string{"shortcut": "two words", "text": "x"}, http.StatusBadRequest, "shortcut"},
		"too long":         {map[string]string{"shortcut": strings.Repeat("a", 34), "text": "x"}, http.StatusBadRequest, "shortcut"},
		"unknown variable": {map[string]string{"shortcut": "v", "text": "Hi {{contact.surname}}"}, http.StatusBadRequest, "text"},
		"blank text":       {map[string]string{"shortcut": "blank", "text": "   "}, http.StatusBadRequest, "text"},
		"text too long":    {map[string]string{"shortcut": "long", "text": strings.Repeat("x", 4097)}, http.StatusBadRequest, "text"},
		"unknown field":    {map[string]any{"shortcut": "u", "text": "x", "title": "t"}, http.StatusBadRequest, "title"},
		"no text":          {map[string]string{"shortcut": "u"}, http.StatusBadRequest, "text"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := e.send(http.MethodPost, "/api/canned-replies", owner.AccessToken, c.body)
			if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.field) {
				t.Errorf("%d %s, want %d naming %s", rec.Code, rec.Body, c.code, c.field)
			}
		})
	}

	// Agents read them and change nothing.
	var list struct{ Data []cannedReply }
	e.mustGet(t, "/api/canned-replies", agent.AccessToken, &list)
	if len(list.Data) != 2 || list.Data[0].Shortcut != "bye" || list.Data[1].Shortcut != "hello" {
		t.Errorf("agent's list %+v", list.Data)
	}
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/api/canned-replies"},
		{http.MethodPatch, "/api/canned-replies/" + hello.ID},
		{http.MethodDelete, "/api/canned-replies/" + hello.ID},
	} {
		if rec := e.send(r.method, r.path, agent.AccessToken, map[string]string{"shortcut": "x", "text": "x"}); rec.Code != http.StatusForbidden {
			t.Errorf("agent %s %s: %d", r.method, r.path, rec.Code)
		}
	}

	// Another tenant sees none of them and cannot touch them.
	var theirs struct{ Data []cannedReply }
	e.mustGet(t, "/api/canned-replies", other.AccessToken, &theirs)
	if len(theirs.Data) != 0 {
		t.Errorf("other tenant sees %+v", theirs.Data)
	}
	if rec := e.send(http.MethodPatch, "/api/canned-replies/"+hello.ID, other.AccessToken, map[string]string{"text": "mine"}); rec.Code != http.StatusNotFound {
		t.Errorf("other tenant patches: %d", rec.Code)
	}
	if rec := e.send(http.MethodDelete, "/api/canned-replies/"+hello.ID, other.AccessToken, nil); rec.Code != http.StatusNotFound {
		t.Errorf("other tenant deletes: %d", rec.Code)
	}
	// The same shortcut is free in another tenant.
	if rec := e.send(http.MethodPost, "/api/canned-replies", other.AccessToken, map[string]string{"shortcut": "hello", "text": "Globex says hi"}); rec.Code != http.StatusCreated {
		t.Errorf("other tenant's own /hello: %d %s", rec.Code, rec.Body)
	}

	// Changes.
	rec = e.send(http.MethodPatch, "/api/canned-replies/"+hello.ID, owner.AccessToken, map[string]string{"text": "Hello {{contact.name}}!"})
	var changed cannedReply
	_ = json.Unmarshal(rec.Body.Bytes(), &changed)
	if rec.Code != http.StatusOK || changed.Text != "Hello {{contact.name}}!" || changed.Shortcut != "hello" {
		t.Errorf("patch text: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodPatch, "/api/canned-replies/"+hello.ID, owner.AccessToken, map[string]string{"shortcut": "bye"}); rec.Code != http.StatusConflict {
		t.Errorf("patch to a taken shortcut: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodPatch, "/api/canned-replies/"+hello.ID, owner.AccessToken, map[string]string{}); rec.Code != http.StatusBadRequest {
		t.Errorf("empty patch: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodDelete, "/api/canned-replies/"+hello.ID, owner.AccessToken, nil); rec.Code != http.StatusNoContent {
		t.Errorf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodDelete, "/api/canned-replies/"+hello.ID, owner.AccessToken, nil); rec.Code != http.StatusNotFound {
		t.Errorf("delete again: %d", rec.Code)
	}

	// Audited like the tenant's other settings.
	var audit struct {
		Data []struct{ Action, Target string }
	}
	e.mustGet(t, "/api/audit-log", owner.AccessToken, &audit)
	actions := map[string]int{}
	for _, a := range audit.Data {
		if strings.HasPrefix(a.Action, "canned_reply.") {
			actions[a.Action]++
		}
	}
	if actions["canned_reply.created"] != 2 || actions["canned_reply.changed"] != 1 || actions["canned_reply.deleted"] != 1 {
		t.Errorf("audit %v", actions)
	}
}
