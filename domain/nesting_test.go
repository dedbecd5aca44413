package domain

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// deep is a JSON array nested n levels deep.
func deep(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// oddWebhook is a text message webhook with extra members (JSON, each
// ending in a comma, or "") at three places: in value, in the message
// object, and in its text object, which becomes the message's content.
func oddWebhook(inValue, inMessage, inText string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"` + testWABA + `","changes":[{"field":"messages","value":{` + inValue +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"` + testDisplay + `","phone_number_id":"` + testPNID + `"},` +
		`"contacts":[{"profile":{"name":"Kerry"},"wa_id":"` + testWaID + `"}],` +
		`"messages":[{` + inMessage + `"from":"` + testWaID + `","id":"wamid.ODD","timestamp":"1739321024","type":"text","text":{` + inText + `"body":"hi"}}]}}]}]}`
}

// Values the decoder does not read do not cost the webhook, however deep
// or large: a body nested deeper than MaxNesting is read with those values
// as null, which is a problem of the decode, and the message is kept.
func TestDecodeWebhookToleratesWhatItDoesNotRead(t *testing.T) {
	t.Parallel()
	const deepProblem = "nested deeper than 100 levels: read as null"
	for _, tt := range []struct {
		name, body  string
		problem     string // the one problem, "" for none; its path is cut after 200 bytes
		wantContent string
	}{
		{"10001 levels in value", oddWebhook(`"x":`+deep(10001)+`,`, "", ""),
			"entry[0].changes[0].value.x" + strings.Repeat("[0]", 94) + ": " + deepProblem, `{"body":"hi"}`},
		{"10001 levels in the message", oddWebhook("", `"x":`+deep(10001)+`,`, ""),
			"entry[0].changes[0].value.messages[0].x" + strings.Repeat("[0]", 92) + ": " + deepProblem, `{"body":"hi"}`},
		{"10001 levels in its content", oddWebhook("", "", `"x":`+deep(10001)+`,`),
			"entry[0].changes[0].value.messages[0].text.x" + strings.Repeat("[0]", 91) + ": " + deepProblem,
			`{"x":` + deep(91)[:91] + "null" + deep(91)[91:] + `,"body":"hi"}`},
		{"two deep values", oddWebhook(`"x":`+deep(200)+`,"y":[`+deep(200)+`],`, "", ""),
			"entry[0].changes[0].value.x" + strings.Repeat("[0]", 94) + ": " + deepProblem + " (and 1 more)", `{"body":"hi"}`},
		{"100 levels in all", oddWebhook(`"x":`+deep(94)+`,`, "", ""), "", `{"body":"hi"}`},
		{"a huge number in value", oddWebhook(`"n":1e999999,`, "", ""), "", `{"body":"hi"}`},
		{"a huge number in the message", oddWebhook("", `"n":-1e999999,`, ""), "", `{"body":"hi"}`},
		{"a huge number in its content", oddWebhook("", "", `"n":1e999999,`), "", `{"n":1e999999,"body":"hi"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := DecodeWebhook([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(w.Changes) != 1 || len(w.Changes[0].Messages) != 1 {
				t.Fatalf("changes %+v", w.Changes)
			}
			m := w.Changes[0].Messages[0]
			if m.WAMID != "wamid.ODD" || m.Preview != "hi" || w.Changes[0].PhoneNumberID != testPNID || string(m.Content) != tt.wantContent {
				t.Errorf("message %s %q content %.300s", m.WAMID, m.Preview, m.Content)
			}
			switch {
			case tt.problem == "" && len(w.Problems) > 0:
				t.Errorf("problems %q, want none", w.Problems)
			case tt.problem != "" && (len(w.Problems) != 1 || w.Problems[0] != clippedPath(tt.problem)):
				t.Errorf("problems %q, want %q", w.Problems, clippedPath(tt.problem))
			}
		})
	}
}

// clippedPath is the problem p with its path cut as pathTo cuts it.
func clippedPath(p string) string {
	path, text, _ := strings.Cut(p, ": ")
	return clip(path, 200) + ": " + text
}

// A deep value routes like any other body: WebhookRoutes reads only ids.
func TestWebhookRoutesDeepBody(t *testing.T) {
	t.Parallel()
	want := []EntryRoute{{WABAID: testWABA, PhoneNumberIDs: []string{testPNID}}}
	for name, body := range map[string]string{
		"10001 levels in value":   oddWebhook(`"x":`+deep(10001)+`,`, "", ""),
		"200 levels in value":     oddWebhook(`"x":`+deep(200)+`,`, "", ""),
		"a million levels":        oddWebhook(`"x":`+deep(1<<20)+`,`, "", ""),
		"10001 levels in content": oddWebhook("", "", `"x":`+deep(10001)+`,`),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := WebhookRoutes([]byte(body))
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("routes %+v, %v; want %+v", got, err, want)
			}
		})
	}
	// Too deep is not a licence for broken JSON.
	broken := oddWebhook(`"x":`+deep(10001)[:10005]+`,`, "", "")
	if _, err := WebhookRoutes([]byte(broken)); err == nil {
		t.Error("a deep body that is not JSON was routed")
	}
	if _, err := DecodeWebhook([]byte(broken)); err == nil {
		t.Error("a deep body that is not JSON was decoded")
	}
}

// FuzzPruneDeep: a body pruned is JSON nested at most MaxNesting deep, and
// a body that nests no deeper comes out as it went in.
func FuzzPruneDeep(f *testing.F) {
	for _, raw := range mustTestdataFiles(f) {
		f.Add(raw)
	}
	for _, s := range []string{deep(MaxNesting), deep(MaxNesting + 1), `{"a":` + deep(300) + `,"b":"[[[[" }`, `[` + deep(200) + `,` + deep(200) + `]`, deep(200)[:250]} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, at, problem := pruneDeep(raw)
		_, valid := scanText(raw, nil, len(raw))
		_, shallow := scanText(raw, nil, MaxNesting)
		switch {
		case !valid || shallow:
			if string(out) != string(raw) || at != "" || problem != "" {
				t.Fatalf("pruneDeep(%q) changed it: %q (%s: %s)", raw, out, at, problem)
			}
		default:
			if _, ok := scanText(out, nil, MaxNesting); !ok || problem == "" || !utf8.ValidString(at) {
				t.Fatalf("pruneDeep(%q) = %q (%s: %s)", raw, out, at, problem)
			}
		}
	})
}
