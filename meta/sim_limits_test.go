package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// textTo is a text message to waID.
func textTo(waID string) map[string]any {
	return map[string]any{"messaging_product": "whatsapp", "to": waID, "type": "text", "text": map[string]any{"body": "hi"}}
}

func TestSimThroughputOverEachSecond(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newSimEnv(t, SimOptions{Throughput: 5, PairInterval: -1, Now: clock.Now})
	e.sim.AddNumber(testWABA, "777", "+1 555-000-0777", "Acme Fast", testToken)
	e.sim.SetThroughput("777", 8)
	ctx := context.Background()
	// Every recipient has written, so the window does not get in the way.
	send := func(number string, i int) error {
		to := fmt.Sprint(15550000000 + i)
		if _, err := e.sim.CustomerWrites(ctx, number, to, "", "hi"); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(textTo(to))
		_, err := e.client.SendMessage(ctx, number, testToken, b)
		return err
	}
	for _, step := range []struct {
		advance time.Duration
		sends   int
		refused int // of them, the last ones
	}{
		{0, 7, 2},                      // 5 in the first second, then 130429
		{999 * time.Millisecond, 1, 1}, // still within the second of the first sends
		{time.Millisecond, 6, 1},       // the first five fell out of the window
		{500 * time.Millisecond, 1, 1}, // the five of a moment ago are still in it
	} {
		clock.Advance(step.advance)
		for i := range step.sends {
			err := send(testNumber, i)
			if refuse := i >= step.sends-step.refused; refuse {
				if ge := graphErr(t, err); ge.Code != CodeThroughput || ge.Status != 400 {
					t.Fatalf("send %d after %v: %v, want 130429", i, step.advance, ge)
				}
			} else if err != nil {
				t.Fatalf("send %d after %v: %v", i, step.advance, err)
			}
		}
	}
	for i := range 10 {
		if err := send("777", i); (err != nil) != (i >= 8) {
			t.Fatalf("number 777 (8/s) send %d: %v", i, err)
		}
	}
	st := e.sim.Stats()
	if st.MaxPerSecond[testNumber] != 5 || st.MaxPerSecond["777"] != 8 || st.Rejected["130429"] != 7 {
		t.Errorf("max per second %v, rejected %v", st.MaxPerSecond, st.Rejected)
	}
}

func TestSimPairRate(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newSimEnv(t, SimOptions{PairInterval: 6 * time.Second, PairBurst: 3, Now: clock.Now})
	e.openWindow(t, testCustomer)
	e.openWindow(t, "447700900123")
	sendTo := func(to string) error { _, err := e.send(t, textTo(to)); return err }
	for i := range 3 {
		if err := sendTo(testCustomer); err != nil {
			t.Fatalf("burst message %d: %v", i, err)
		}
	}
	if ge := graphErr(t, sendTo(testCustomer)); ge.Code != CodePairRate {
		t.Fatalf("fourth message at once: %v, want 131056", ge)
	}
	if err := sendTo("447700900123"); err != nil {
		t.Fatalf("another user is not limited by the first's rate: %v", err)
	}
	clock.Advance(5 * time.Second)
	if ge := graphErr(t, sendTo(testCustomer)); ge.Code != CodePairRate {
		t.Fatalf("after 5 s: %v, want 131056", ge)
	}
	clock.Advance(time.Second)
	if err := sendTo(testCustomer); err != nil {
		t.Fatalf("after 6 s one more may go: %v", err)
	}
	if ge := graphErr(t, sendTo(testCustomer)); ge.Code != CodePairRate {
		t.Fatalf("and only one: %v", ge)
	}
}

func TestSimCustomerServiceWindow(t *testing.T) {
	t.Parallel()
	template := map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "template",
		"template": map[string]any{"name": "hello", "language": map[string]any{"code": "en_US"}}}
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprint("sync=", sync), func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			e := newSimEnv(t, SimOptions{WindowErrorsSync: sync, Now: clock.Now, PairInterval: -1})
			e.sim.AddTemplate(testWABA, Template{Name: "hello", Language: "en_US", Category: "UTILITY",
				Components: json.RawMessage(`[{"type":"BODY","text":"Hello!"}]`)})
			r, err := e.send(t, textTo(testCustomer))
			if sync {
				if ge := graphErr(t, err); ge.Code != CodeReengagement || !strings.Contains(ge.Details, "24 hours") {
					t.Fatalf("outside the window: %v, want 131047", ge)
				}
			} else {
				if err != nil {
					t.Fatalf("outside the window Meta accepts, then fails: %v", err)
				}
				waitFor(t, "the failed status", func() bool { return len(e.hooks.statuses(r.MessageID)) == 1 })
				st := e.hooks.statuses(r.MessageID)[0]
				var errs []struct {
					Code int `json:"code"`
				}
				_ = json.Unmarshal(st["errors"], &errs)
				if jsonStr(st["status"]) != "failed" || len(errs) != 1 || errs[0].Code != CodeReengagement {
					t.Errorf("status %s", st)
				}
			}
			if tr, err := e.send(t, template); err != nil || tr.MessageStatus != "accepted" {
				t.Fatalf("a template needs no window: %+v, %v", tr, err)
			}
			e.openWindow(t, testCustomer)
			clock.Advance(23 * time.Hour)
			if _, err := e.send(t, textTo(testCustomer)); err != nil {
				t.Fatalf("within 24 h of the customer's message: %v", err)
			}
			clock.Advance(time.Hour)
			r, err = e.send(t, textTo(testCustomer))
			if sync && graphErr(t, err).Code != CodeReengagement {
				t.Errorf("24 h later the window is closed again: %v", err)
			}
			if !sync {
				waitFor(t, "the failed status", func() bool { return len(e.hooks.statuses(r.MessageID)) == 1 })
				if got := e.sim.Stats().Failed["131047"]; got != 2 {
					t.Errorf("%d messages failed with 131047, want 2", got)
				}
			}
		})
	}
}

func TestSimTemplateMessages(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{PairInterval: -1})
	comps := `[{"type":"HEADER","format":"TEXT","text":"Order {{1}}"},{"type":"BODY","text":"Hi {{1}}, order {{2}} ships {{3}}."},` +
		`{"type":"FOOTER","text":"Acme"},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Stop"},{"type":"URL","text":"Track","url":"https://acme.example/t/{{1}}"}]}]`
	e.sim.AddTemplate(testWABA, Template{Name: "order_update", Language: "en_US", Category: "UTILITY", Components: json.RawMessage(comps)})
	e.sim.AddTemplate(testWABA, Template{Name: "order_update", Language: "pt_BR", Category: "UTILITY", Status: "PENDING", Components: json.RawMessage(comps)})
	e.sim.AddTemplate(testWABA, Template{Name: "promo", Language: "en_US", Category: "MARKETING", Status: "PAUSED", Components: json.RawMessage(`[{"type":"BODY","text":"Sale!"}]`)})
	e.sim.AddTemplate(testWABA, Template{Name: "old_promo", Language: "en_US", Category: "MARKETING", Status: "DISABLED", Components: json.RawMessage(`[{"type":"BODY","text":"Sale!"}]`)})
	e.sim.AddTemplate("other-waba", Template{Name: "theirs", Language: "en_US", Category: "UTILITY", Components: json.RawMessage(`[{"type":"BODY","text":"x"}]`)})
	text := func(n int) []any {
		var ps []any
		for i := range n {
			ps = append(ps, map[string]any{"type": "text", "text": fmt.Sprint("p", i)})
		}
		return ps
	}
	tmpl := func(name, lang string, header, body, button int) map[string]any {
		comps := []any{map[string]any{"type": "header", "parameters": text(header)}, map[string]any{"type": "body", "parameters": text(body)}}
		if button >= 0 {
			comps = append(comps, map[string]any{"type": "button", "sub_type": "url", "index": "1", "parameters": text(button)})
		}
		return map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "template",
			"template": map[string]any{"name": name, "language": map[string]any{"code": lang}, "components": comps}}
	}
	for _, tc := range []struct {
		name    string
		msg     map[string]any
		code    int
		details string
	}{
		{"right parameters", tmpl("order_update", "en_US", 1, 3, 1), 0, ""},
		{"too few body parameters", tmpl("order_update", "en_US", 1, 2, 1), CodeTemplateParamCount, "body: number of localizable_params (2) does not match the expected number of params (3)"},
		{"too many header parameters", tmpl("order_update", "en_US", 2, 3, 1), CodeTemplateParamCount, "header"},
		{"url button parameter missing", tmpl("order_update", "en_US", 1, 3, -1), CodeTemplateParamCount, "button[1]"},
		{"unknown template", tmpl("no_such", "en_US", 0, 0, -1), CodeTemplateMissing, "template name (no_such) does not exist in en_US"},
		{"language not translated", tmpl("order_update", "fr", 1, 3, 1), CodeTemplateMissing, "does not exist in fr"},
		{"not approved yet", tmpl("order_update", "pt_BR", 1, 3, 1), CodeTemplateMissing, "PENDING"},
		{"paused", tmpl("promo", "en_US", 0, 0, -1), CodeTemplatePaused, "paused"},
		{"disabled", tmpl("old_promo", "en_US", 0, 0, -1), CodeTemplateDisabled, "disabled"},
		{"another WABA's template", tmpl("theirs", "en_US", 0, 0, -1), CodeTemplateMissing, "theirs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := e.send(t, tc.msg)
			if tc.code == 0 {
				if err != nil || r.MessageStatus != "accepted" {
					t.Fatalf("%+v, %v", r, err)
				}
				return
			}
			if ge := graphErr(t, err); ge.Code != tc.code || !strings.Contains(ge.Details, tc.details) {
				t.Errorf("got %v, want %d with %q", ge, tc.code, tc.details)
			}
		})
	}
}
