package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/messaging"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/templates"
)

type apiTemplate struct {
	ID             string          `json:"id"`
	WABAID         string          `json:"waba_id"`
	Name           string          `json:"name"`
	Language       string          `json:"language"`
	Status         string          `json:"status"`
	Category       string          `json:"category"`
	Components     json.RawMessage `json:"components"`
	RejectedReason string          `json:"rejected_reason"`
}

// templatesEnv is an API whose sends pass the template check, with an
// owner who connected number 123456123 of WABA 100.
func templatesEnv(t *testing.T) (*env, session) {
	t.Helper()
	e := newEnvWith(t, 1, func(c *api.Config) { c.SendChecks = messaging.Checks{Template: templates.CheckSend} })
	e.meta.AddNumber("100", "123456123", "+1 555-078-3881", "Acme", metaToken)
	owner := e.register(t, "owner@templates.example.com")
	if rec := e.send(http.MethodPost, "/api/waba/credentials", owner.AccessToken, map[string]any{
		"phone_number_id": "123456123", "display_phone_number": "+15550783881", "waba_id": "100", "access_token": metaToken,
	}); rec.Code != http.StatusCreated {
		t.Fatalf("connect: %d %s", rec.Code, rec.Body)
	}
	return e, owner
}

// TestTemplatesAPI: templates synced from Meta are listed page by page and
// filtered, to agents too; created, they are PENDING; deleted, gone. Only
// owners and admins sync, create and delete (the contract tests check the
// 403s).
func TestTemplatesAPI(t *testing.T) {
	e, owner := templatesEnv(t)
	for i := range 65 {
		e.meta.AddTemplate("100", meta.Template{Name: fmt.Sprintf("promo_%02d", i), Language: "en_US", Category: "MARKETING",
			Components: json.RawMessage(`[{"type":"BODY","text":"Sale {{1}}"}]`)})
	}
	e.meta.AddTemplate("100", meta.Template{Name: "sync", Language: "en_US", Category: "UTILITY", Status: "PAUSED",
		Components: json.RawMessage(`[{"type":"BODY","text":"A template named like the sync route"}]`)})

	rec := e.send(http.MethodPost, "/api/templates/sync", owner.AccessToken, "")
	if rec.Code != http.StatusOK || rec.Body.String() != `{"done":true,"wabas":[{"templates":66,"waba_id":"100"}]}`+"\n" {
		t.Fatalf("sync: %d %s", rec.Code, rec.Body)
	}
	e.project(t)

	_, _, agent := e.member(t, owner, "agent@templates.example.com", "agent")
	var all []apiTemplate
	pages := 0
	for cursor := "first"; cursor != ""; pages++ {
		var p page[apiTemplate]
		e.mustGet(t, "/api/templates?limit=25&cursor="+strings.TrimPrefix(cursor, "first"), agent.AccessToken, &p)
		all, cursor = append(all, p.Data...), p.NextCursor
	}
	if len(all) != 66 || pages != 3 || all[0].Name != "promo_00" || all[65].Name != "sync" || all[0].WABAID != "100" ||
		all[0].Category != "MARKETING" || !strings.Contains(string(all[0].Components), "Sale {{1}}") || all[0].ID == "" {
		t.Fatalf("%d templates in %d pages: first %+v", len(all), pages, all[0])
	}
	var paused page[apiTemplate]
	e.mustGet(t, "/api/templates?status=paused&category=utility&language=en_US", agent.AccessToken, &paused)
	if len(paused.Data) != 1 || paused.Data[0].Name != "sync" {
		t.Errorf("paused: %+v", paused.Data)
	}
	var named page[apiTemplate]
	e.mustGet(t, "/api/templates?name=promo_1", agent.AccessToken, &named)
	if len(named.Data) != 10 {
		t.Errorf("names with promo_1: %d", len(named.Data))
	}
	if rec := e.send(http.MethodGet, "/api/templates?cursor=nonsense", agent.AccessToken, ""); rec.Code != http.StatusBadRequest {
		t.Errorf("a made-up cursor: %d", rec.Code)
	}

	rec = e.send(http.MethodPost, "/api/templates", owner.AccessToken, map[string]any{
		"name": "order_update", "language": "en_US", "category": "UTILITY",
		"components": []map[string]any{{"type": "BODY", "text": "Order {{1}} ships today"}},
	})
	var created apiTemplate
	if err := json.Unmarshal(rec.Body.Bytes(), &created); rec.Code != http.StatusAccepted || err != nil || created.Status != "PENDING" || created.ID == "" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	rec = e.send(http.MethodPost, "/api/templates", owner.AccessToken, map[string]any{
		"name": "order_update", "language": "en_US", "category": "UTILITY", "components": []map[string]any{{"type": "BODY", "text": "again"}},
	})
	if rec.Code != http.StatusConflict {
		t.Errorf("created twice: %d %s", rec.Code, rec.Body)
	}
	e.project(t)
	var one page[apiTemplate]
	e.mustGet(t, "/api/templates?name=order_update", agent.AccessToken, &one)
	if len(one.Data) != 1 || one.Data[0].Status != "PENDING" || one.Data[0].ID != created.ID {
		t.Errorf("listed after the creation: %+v", one.Data)
	}

	// A template named "sync" is deleted like any other.
	rec = e.send(http.MethodDelete, "/api/templates/sync", owner.AccessToken, "")
	if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), `"waba_ids":["100"]`) {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodDelete, "/api/templates/sync", owner.AccessToken, ""); rec.Code != http.StatusAccepted {
		// Not projected yet: the read model still has it, Meta has not: it is gone all the same.
		t.Errorf("deleted again before projection: %d %s", rec.Code, rec.Body)
	}
	e.project(t)
	if rec := e.send(http.MethodDelete, "/api/templates/sync", owner.AccessToken, ""); rec.Code != http.StatusNotFound {
		t.Errorf("deleted again: %d %s", rec.Code, rec.Body)
	}
	e.mustGet(t, "/api/templates?status=PAUSED", agent.AccessToken, &paused)
	if len(paused.Data) != 0 {
		t.Errorf("listed after the deletion: %+v", paused.Data)
	}
}

// TestTemplateSendChecked: a template send that does not fill the
// template, or names one that is not approved, is refused before anything
// is stored.
func TestTemplateSendChecked(t *testing.T) {
	e, owner := templatesEnv(t)
	e.meta.AddTemplate("100", meta.Template{Name: "order", Language: "en_US", Category: "UTILITY",
		Components: json.RawMessage(`[{"type":"BODY","text":"Order {{1}} for {{2}}"}]`)})
	e.meta.AddTemplate("100", meta.Template{Name: "promo", Language: "en_US", Category: "MARKETING", Status: "REJECTED",
		Components: json.RawMessage(`[{"type":"BODY","text":"Sale"}]`)})
	if rec := e.send(http.MethodPost, "/api/templates/sync", owner.AccessToken, ""); rec.Code != http.StatusOK {
		t.Fatalf("sync: %d %s", rec.Code, rec.Body)
	}
	e.project(t)
	before := len(e.streamMsgs())
	for name, tc := range map[string]struct {
		template string
		code     int
		detail   string
	}{
		"one parameter short": {`{"name":"order","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"#1"}]}]}`,
			http.StatusBadRequest, "template.components.0.parameters: the body takes 2 parameters, 1 given"},
		"rejected": {`{"name":"promo","language":{"code":"en_US"}}`, http.StatusConflict, "template.name: template promo in en_US is REJECTED, not APPROVED"},
		"unknown":  {`{"name":"nope","language":{"code":"en_US"}}`, http.StatusBadRequest, "template.name: WhatsApp Business Account 100 has no template nope in en_US"},
	} {
		rec := e.send(http.MethodPost, "/api/messages", owner.AccessToken, `{"to":"16505551234","type":"template","template":`+tc.template+`}`)
		if rec.Code != tc.code || !strings.HasPrefix(problemDetail(t, rec), tc.detail) {
			t.Errorf("%s: %d %s, want %d %q", name, rec.Code, rec.Body, tc.code, tc.detail)
		}
	}
	if after := len(e.streamMsgs()); after != before {
		t.Errorf("%d events stored by refused sends", after-before)
	}
	rec := e.send(http.MethodPost, "/api/messages", owner.AccessToken,
		`{"to":"16505551234","type":"template","template":{"name":"order","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"#1"},{"type":"text","text":"Ann"}]}]}}`)
	if rec.Code != http.StatusAccepted {
		t.Errorf("a send that fills the template: %d %s", rec.Code, rec.Body)
	}
}
