package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/meta"
)

type apiTemplate struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Status         string          `json:"status"`
	Components     json.RawMessage `json:"components"`
	RejectedReason string          `json:"rejected_reason"`
}

// syncTemplates lists the templates from Meta now, and waits until the
// list shows what Meta listed.
func (r *sendRig) syncTemplates(t testing.TB) {
	t.Helper()
	code, out := r.call(t, http.MethodPost, "/api/templates/sync", "", nil)
	var s struct {
		Done  bool
		Wabas []struct {
			Templates int
			Error     string
		}
	}
	if err := json.Unmarshal(out, &s); code != http.StatusOK || err != nil || !s.Done || len(s.Wabas) != 1 || s.Wabas[0].Error != "" {
		t.Fatalf("sync: %d %s", code, out)
	}
	await.Until(t, 20*time.Second, "the listing projected", func() bool {
		return len(r.listTemplates(t, "")) == s.Wabas[0].Templates
	})
}

// listTemplates lists the templates whose name has name in it.
func (r *sendRig) listTemplates(t testing.TB, name string) []apiTemplate {
	t.Helper()
	var page struct{ Data []apiTemplate }
	code, out := r.call(t, http.MethodGet, "/api/templates?limit=200&name="+url.QueryEscape(name), "", nil)
	if code != http.StatusOK {
		t.Fatalf("list templates: %d %s", code, out)
	}
	if err := json.Unmarshal(out, &page); err != nil {
		t.Fatal(err)
	}
	return page.Data
}

// templateStatus waits until template name shows status.
func (r *sendRig) templateStatus(t testing.TB, name, status string) apiTemplate {
	t.Helper()
	var got apiTemplate
	await.Until(t, 20*time.Second, fmt.Sprintf("template %s %s", name, status), func() bool {
		for _, tm := range r.listTemplates(t, name) {
			if tm.Name == name {
				got = tm
				return tm.Status == status
			}
		}
		return false
	})
	return got
}

// TestTemplatesEndToEnd runs a real wam serve against the simulator:
// templates synced (65 of them), a status webhook pausing one, a paused
// template refused at the send, a template created PENDING and approved by
// Meta's webhook, another rejected, a send that does not fill the template
// refused before anything is stored (the simulator sees nothing of it),
// and a deletion.
func TestTemplatesEndToEnd(t *testing.T) {
	t.Parallel()
	r := newSendRig(t, meta.SimOptions{TemplateReview: 200 * time.Millisecond, RejectTemplates: map[string]string{"spam": "INVALID_FORMAT"},
		SentAfter: 50 * time.Millisecond, DeliveredAfter: 50 * time.Millisecond, ReadAfter: 50 * time.Millisecond})
	for i := range 65 {
		r.sim.AddTemplate(simWABA, meta.Template{Name: fmt.Sprintf("promo_%02d", i), Language: "en_US", Category: "MARKETING",
			Components: json.RawMessage(`[{"type":"BODY","text":"Hi {{1}}, {{2}} off today"}]`)})
	}
	r.syncTemplates(t)
	if got := r.listTemplates(t, "promo_"); len(got) != 65 || !strings.Contains(string(got[0].Components), "off today") {
		t.Fatalf("listed %d: %+v", len(got), got)
	}

	// Meta pauses a template: its webhook moves the synced row on, and a
	// send of it is refused.
	if err := r.sim.SetTemplateStatus(simWABA, "promo_07", "en_US", "PAUSED", ""); err != nil {
		t.Fatal(err)
	}
	r.templateStatus(t, "promo_07", "PAUSED")
	send := func(name string, params ...string) (int, string) {
		ps := make([]string, len(params))
		for i, p := range params {
			ps[i] = `{"type":"text","text":"` + p + `"}`
		}
		code, out := r.call(t, http.MethodPost, "/api/messages", "", `{"to":"16505551234","type":"template","template":{"name":"`+name+
			`","language":{"code":"en_US"},"components":[{"type":"body","parameters":[`+strings.Join(ps, ",")+`]}]}}`)
		var p struct{ Detail string }
		_ = json.Unmarshal(out, &p)
		return code, p.Detail
	}
	if code, detail := send("promo_07", "Ann", "10%"); code != http.StatusConflict || !strings.Contains(detail, "template.name: template promo_07 in en_US is PAUSED") {
		t.Errorf("a paused template: %d %q", code, detail)
	}

	// Created: PENDING, then APPROVED by Meta's webhook; another REJECTED
	// with Meta's reason.
	create := func(name string) apiTemplate {
		code, out := r.call(t, http.MethodPost, "/api/templates", "", map[string]any{"name": name, "language": "en_US", "category": "UTILITY",
			"components": []map[string]any{{"type": "BODY", "text": "Order {{1}} for {{2}} is on its way"}}})
		var tm apiTemplate
		if err := json.Unmarshal(out, &tm); code != http.StatusAccepted || err != nil || tm.Status != "PENDING" {
			t.Fatalf("create %s: %d %s", name, code, out)
		}
		return tm
	}
	welcome := create("welcome")
	if got := r.templateStatus(t, "welcome", "APPROVED"); got.ID != welcome.ID || !strings.Contains(string(got.Components), "on its way") {
		t.Errorf("approved: %+v, created %+v", got, welcome)
	}
	create("spam")
	if got := r.templateStatus(t, "spam", "REJECTED"); got.RejectedReason != "INVALID_FORMAT" {
		t.Errorf("rejected: %+v", got)
	}

	// A send that does not fill the template is a 400 before anything is
	// stored: the good one after it is the only outbound message, and the
	// only one the simulator saw.
	if code, detail := send("welcome", "#1"); code != http.StatusBadRequest || detail != "template.components.0.parameters: the body takes 2 parameters, 1 given" {
		t.Errorf("one parameter short: %d %q", code, detail)
	}
	good := r.send(t, `{"to":"16505551234","type":"template","template":{"name":"welcome","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"#1"},{"type":"text","text":"Ann"}]}]}}`)
	await.Until(t, 30*time.Second, "the good send read", func() bool { return r.message(t, good.ID).Status == "read" })
	var outbound struct{ Data []sentMsg }
	if code, out := r.call(t, http.MethodGet, "/api/messages?direction=outbound", "", nil); code != 200 || json.Unmarshal(out, &outbound) != nil {
		t.Fatalf("messages: %d %s", code, out)
	}
	if st := r.sim.Stats(); len(outbound.Data) != 1 || st.Accepted != 1 || len(st.Rejected) != 0 || st.ByCallback["wam:"+good.ID] != 1 {
		t.Errorf("%d outbound messages; the simulator accepted %d, rejected %v", len(outbound.Data), st.Accepted, st.Rejected)
	}

	// Deleted: gone from Meta and from the list.
	code, out := r.call(t, http.MethodDelete, "/api/templates/welcome", "", nil)
	if code != http.StatusAccepted {
		t.Fatalf("delete: %d %s", code, out)
	}
	await.Until(t, 20*time.Second, "welcome gone from the list", func() bool { return len(r.listTemplates(t, "welcome")) == 0 })
	if code, detail := send("welcome", "#1", "Ann"); code != http.StatusBadRequest || !strings.Contains(detail, "was deleted") {
		t.Errorf("a deleted template: %d %q", code, detail)
	}
}
