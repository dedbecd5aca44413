package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// templateUpdates are the message_template_status_update values taken.
func templateUpdates(k *webhookSink) []map[string]any {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []map[string]any
	for _, b := range k.bodies {
		var w struct {
			Entry []struct {
				Changes []struct {
					Field string         `json:"field"`
					Value map[string]any `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber() // the template id is a number too long for a float64
		_ = dec.Decode(&w)
		for _, e := range w.Entry {
			for _, c := range e.Changes {
				if c.Field == "message_template_status_update" {
					out = append(out, c.Value)
				}
			}
		}
	}
	return out
}

func TestSimTemplateLifecycle(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newSimEnv(t, SimOptions{Now: clock.Now, TemplateReview: time.Minute, RejectTemplates: map[string]string{"too_pushy": "PROMOTIONAL"}})
	ctx := context.Background()
	comps := json.RawMessage(`[{"type":"BODY","text":"Your code is {{1}}","example":{"body_text":[["1234"]]}}]`)
	id, status, category, err := e.client.CreateTemplate(ctx, testWABA, testToken, TemplateCreate{Name: "order_code", Language: "en_US", Category: "utility", Components: comps})
	if err != nil || id == "" || status != "PENDING" || category != "UTILITY" {
		t.Fatalf("create: %q %q %q %v", id, status, category, err)
	}
	rid, _, _, err := e.client.CreateTemplate(ctx, testWABA, testToken, TemplateCreate{Name: "too_pushy", Language: "en_US", Category: "MARKETING", Components: comps})
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = e.client.CreateTemplate(ctx, testWABA, testToken, TemplateCreate{Name: "order_code", Language: "en_US", Category: "UTILITY", Components: comps})
	if ge := graphErr(t, err); ge.Code != CodeInvalidParameter || ge.Subcode != 2388024 {
		t.Errorf("the same name and language again: %v", ge)
	}
	list, err := e.client.Templates(ctx, testWABA, testToken)
	if err != nil || len(list) != 2 || list[0].Status != "PENDING" || string(list[0].Components) != string(comps) {
		t.Fatalf("while pending: %+v, %v", list, err)
	}
	clock.Advance(time.Minute)
	waitFor(t, "the two verdicts", func() bool { return len(templateUpdates(e.hooks)) == 2 })
	verdicts := map[string]map[string]any{}
	for _, u := range templateUpdates(e.hooks) {
		verdicts[fmt.Sprint(u["message_template_name"])] = u
	}
	if v := verdicts["order_code"]; v["event"] != "APPROVED" || fmt.Sprint(v["message_template_id"]) != id || v["message_template_language"] != "en_US" || v["reason"] != "NONE" {
		t.Errorf("approval webhook %v", v)
	}
	if v := verdicts["too_pushy"]; v["event"] != "REJECTED" || v["reason"] != "PROMOTIONAL" || fmt.Sprint(v["message_template_id"]) != rid {
		t.Errorf("rejection webhook %v", v)
	}
	list, _ = e.client.Templates(ctx, testWABA, testToken)
	for _, tmpl := range list {
		if want := map[string]string{"order_code": "APPROVED", "too_pushy": "REJECTED"}[tmpl.Name]; tmpl.Status != want ||
			(tmpl.Name == "too_pushy") != (tmpl.RejectedReason == "PROMOTIONAL") {
			t.Errorf("after review: %+v", tmpl)
		}
	}
	if err := e.sim.SetTemplateStatus(testWABA, "order_code", "en_US", "PAUSED", "LOW_QUALITY"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pause webhook", func() bool { return len(templateUpdates(e.hooks)) == 3 })
	if err := e.client.DeleteTemplate(ctx, testWABA, testToken, "order_code"); err != nil {
		t.Fatal(err)
	}
	if ge := graphErr(t, e.client.DeleteTemplate(ctx, testWABA, testToken, "order_code")); ge.Code != CodeInvalidParameter {
		t.Errorf("deleting twice: %v", ge)
	}
	if list, _ = e.client.Templates(ctx, testWABA, testToken); len(list) != 1 || list[0].Name != "too_pushy" {
		t.Errorf("after delete: %+v", list)
	}
}

func TestSimTemplateCreateRefused(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{})
	body := json.RawMessage(`[{"type":"BODY","text":"Hi"}]`)
	for _, tc := range []struct {
		name string
		t    TemplateCreate
	}{
		{"upper-case name", TemplateCreate{Name: "Hello", Language: "en_US", Category: "UTILITY", Components: body}},
		{"no language", TemplateCreate{Name: "hello", Category: "UTILITY", Components: body}},
		{"unknown category", TemplateCreate{Name: "hello", Language: "en_US", Category: "SPAM", Components: body}},
		{"no body", TemplateCreate{Name: "hello", Language: "en_US", Category: "UTILITY", Components: json.RawMessage(`[{"type":"FOOTER","text":"x"}]`)}},
		{"header too long", TemplateCreate{Name: "hello", Language: "en_US", Category: "UTILITY",
			Components: json.RawMessage(`[{"type":"HEADER","format":"TEXT","text":"` + repeat(61) + `"},{"type":"BODY","text":"Hi"}]`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := e.client.CreateTemplate(context.Background(), testWABA, testToken, tc.t)
			if ge := graphErr(t, err); ge.Code != CodeInvalidParameter || ge.Details == "" {
				t.Errorf("got %v, want 100 with details", ge)
			}
		})
	}
}

func TestSimTemplatesPaged(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{})
	for i := range 2*simPageSize + 7 {
		e.sim.AddTemplate(testWABA, Template{Name: fmt.Sprintf("t%03d", i), Language: "en_US", Category: "UTILITY"})
	}
	// A page of Meta's default size, with a next page.
	req := e.srv.URL + "/v23.0/" + testWABA + "/message_templates"
	var page struct {
		Data   []map[string]any `json:"data"`
		Paging struct {
			Cursors struct{ Before, After string } `json:"cursors"`
			Next    string                         `json:"next"`
		} `json:"paging"`
	}
	if err := e.client.get(context.Background(), testWABA+"/message_templates", nil, testToken, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != simPageSize || page.Paging.Next == "" || page.Paging.Cursors.After == "" {
		t.Errorf("first page of %s: %d templates, paging %+v", req, len(page.Data), page.Paging)
	}
	list, err := e.client.Templates(context.Background(), testWABA, testToken)
	if err != nil || len(list) != 2*simPageSize+7 || list[len(list)-1].Name != fmt.Sprintf("t%03d", 2*simPageSize+6) {
		t.Errorf("every page: %d templates, %v", len(list), err)
	}
}
