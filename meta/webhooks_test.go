package meta

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// webhook is the part of a body the tests look at.
type webhook struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				MessagingProduct string `json:"messaging_product"`
				Metadata         struct {
					DisplayPhoneNumber string `json:"display_phone_number"`
					PhoneNumberID      string `json:"phone_number_id"`
				} `json:"metadata"`
				Contacts []struct {
					Profile struct {
						Name string `json:"name"`
					} `json:"profile"`
					WaID string `json:"wa_id"`
				} `json:"contacts"`
				Messages []map[string]json.RawMessage `json:"messages"`
				Statuses []map[string]json.RawMessage `json:"statuses"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

func mustDecode(tb testing.TB, body []byte) webhook {
	tb.Helper()
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		tb.Fatalf("body is not valid JSON: %v\n%s", err, body)
	}
	return w
}

func newTestGen() *WebhookGen {
	at := time.Date(2025, 6, 8, 21, 39, 43, 0, time.UTC)
	return NewWebhookGen("106540352242922", "+1 555-078-3881", "102290129340398", 42).
		WithSenders(50).
		WithClock(func() time.Time { return at })
}

func TestNextProducesMetaWebhooks(t *testing.T) {
	t.Parallel()
	g := newTestGen()
	const n = 5000
	wamids := make(map[string]bool, n)
	kinds := map[string]int{}
	senders := map[string]bool{}
	total := 0
	for i := 0; i < n; i++ {
		body, kind, wamid := g.Next()
		total += len(body)
		if !json.Valid(body) {
			t.Fatalf("webhook %d (%s) is not valid JSON:\n%s", i, kind, body)
		}
		if wamids[wamid] {
			t.Fatalf("wamid %s issued twice", wamid)
		}
		wamids[wamid] = true
		kinds[kind]++
		var compact bytes.Buffer
		if err := json.Compact(&compact, body); err != nil || !bytes.Equal(compact.Bytes(), body) {
			t.Fatalf("webhook %d (%s) is not compact JSON like Meta's:\n%s", i, kind, body)
		}
		for _, c := range body {
			if c >= 0x80 {
				t.Fatalf("webhook %d (%s) has a raw non-ASCII byte; Meta escapes them as \\uXXXX:\n%s", i, kind, body)
			}
		}
		w := mustDecode(t, body)
		if w.Object != "whatsapp_business_account" || len(w.Entry) != 1 || w.Entry[0].ID != "102290129340398" ||
			len(w.Entry[0].Changes) != 1 {
			t.Fatalf("webhook %d: wrong envelope:\n%s", i, body)
		}
		ch := w.Entry[0].Changes[0]
		v := ch.Value
		if ch.Field != "messages" || v.MessagingProduct != "whatsapp" ||
			v.Metadata.PhoneNumberID != "106540352242922" || v.Metadata.DisplayPhoneNumber != "15550783881" {
			t.Fatalf("webhook %d: wrong change or metadata:\n%s", i, body)
		}
		var got map[string]json.RawMessage
		if KindIsStatus(kind) {
			if len(v.Statuses) != 1 || len(v.Messages) != 0 || len(v.Contacts) != 0 {
				t.Fatalf("webhook %d (%s): want one status:\n%s", i, kind, body)
			}
			got = v.Statuses[0]
			if str(t, got["status"]) != strings.TrimPrefix(kind, "status.") {
				t.Fatalf("webhook %d: kind %s but status %s", i, kind, got["status"])
			}
			if kind == KindStatusFailed && got["errors"] == nil {
				t.Fatalf("webhook %d: failed status without errors:\n%s", i, body)
			}
			senders[str(t, got["recipient_id"])] = true
		} else {
			if len(v.Messages) != 1 || len(v.Contacts) != 1 || len(v.Statuses) != 0 {
				t.Fatalf("webhook %d (%s): want one message and its contact:\n%s", i, kind, body)
			}
			got = v.Messages[0]
			typ := str(t, got["type"])
			if typ != strings.TrimPrefix(kind, "message.") || got[typ] == nil {
				t.Fatalf("webhook %d: kind %s but type %s or no %s object:\n%s", i, kind, typ, typ, body)
			}
			if from := str(t, got["from"]); from != v.Contacts[0].WaID || v.Contacts[0].Profile.Name == "" {
				t.Fatalf("webhook %d: from %s does not match contact %+v", i, from, v.Contacts[0])
			}
			senders[str(t, got["from"])] = true
			if kind == KindText {
				var text struct{ Body string }
				if err := json.Unmarshal(got["text"], &text); err != nil || text.Body == "" ||
					utf8.RuneCountInString(text.Body) > 4096 {
					t.Fatalf("webhook %d: text body empty or beyond Meta's 4096 characters (%v)", i, err)
				}
			}
		}
		if str(t, got["id"]) != wamid || !strings.HasPrefix(wamid, "wamid.HBg") {
			t.Fatalf("webhook %d: id %s, want %s in Meta's format", i, got["id"], wamid)
		}
		if str(t, got["timestamp"]) != "1749418783" {
			t.Fatalf("webhook %d: timestamp %s is not the clock's Unix seconds as a string", i, got["timestamp"])
		}
	}
	for _, k := range []string{KindText, KindImage, KindAudio, KindDocument, KindLocation, KindButtonReply,
		KindReaction, KindButton, KindStatusSent, KindStatusDelivered, KindStatusRead, KindStatusFailed} {
		if kinds[k] == 0 {
			t.Errorf("no webhook of kind %s in %d", k, n)
		}
	}
	statuses := kinds[KindStatusSent] + kinds[KindStatusDelivered] + kinds[KindStatusRead] + kinds[KindStatusFailed]
	if share := float64(statuses) / n; share < 0.25 || share > 0.35 {
		t.Errorf("statuses are %.0f%% of webhooks, want about 30%%", share*100)
	}
	if len(senders) != 50 {
		t.Errorf("webhooks come from %d users, want all 50", len(senders))
	}
	t.Logf("mean body %d bytes; kinds %v", total/n, kinds)
}

func str(tb testing.TB, raw json.RawMessage) string {
	tb.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		tb.Fatalf("%s is not a JSON string", raw)
	}
	return s
}

func TestWamidsUniqueAcrossKinds(t *testing.T) {
	t.Parallel()
	g := newTestGen()
	seen := map[string]string{}
	makers := map[string]func() ([]byte, string){
		"text": g.Text, "image": g.Image, "audio": g.Audio, "document": g.Document, "location": g.Location,
		"button_reply": g.ButtonReply, "reaction": g.Reaction, "button": g.Button,
		"sent":   func() ([]byte, string) { return g.Status("sent") },
		"failed": func() ([]byte, string) { return g.Status("failed") },
	}
	for i := 0; i < 300; i++ {
		for name, make := range makers {
			body, wamid := make()
			if !json.Valid(body) {
				t.Fatalf("%s body is not valid JSON:\n%s", name, body)
			}
			if prev, ok := seen[wamid]; ok {
				t.Fatalf("%s wamid %s was already issued for a %s", name, wamid, prev)
			}
			seen[wamid] = name
		}
	}
}

func TestSameSeedSameWebhooks(t *testing.T) {
	t.Parallel()
	a, b := newTestGen(), newTestGen()
	for i := 0; i < 200; i++ {
		ba, ka, wa := a.Next()
		bb, kb, wb := b.Next()
		if !bytes.Equal(ba, bb) || ka != kb || wa != wb {
			t.Fatalf("webhook %d differs between two generators with one seed", i)
		}
	}
	other := NewWebhookGen("106540352242922", "15550783881", "102290129340398", 43)
	if strings.Join(other.Senders(), ",") == strings.Join(a.Senders(), ",") {
		t.Fatal("another seed gives the same users")
	}
}

func TestSendersAreValidMobileNumbers(t *testing.T) {
	t.Parallel()
	g := NewWebhookGen("1", "1", "1", 7).WithSenders(3000)
	for _, id := range g.Senders() {
		num, err := phonenumbers.Parse("+"+id, "")
		if err != nil || !phonenumbers.IsValidNumber(num) {
			t.Errorf("wa_id %s is not a valid phone number (%v)", id, err)
		}
	}
}

func TestMetaEscaping(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"a/b", `"a\/b"`},
		{`say "hi"\`, `"say \"hi\"\\"`},
		{"line\nnext\ttab", `"line\nnext\ttab"`},
		{"\x01", `"\u0001"`},
		{"José", `"Jos\u00e9"`},
		{"👍", `"\ud83d\udc4d"`},
		{"❤️", `"\u2764\ufe0f"`},
		{"田中", `"\u7530\u4e2d"`},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		writeMetaString(&b, tt.in)
		if b.String() != tt.want {
			t.Errorf("escape %q = %s, want %s", tt.in, b.String(), tt.want)
		}
		var back string
		if err := json.Unmarshal(b.Bytes(), &back); err != nil || back != tt.in {
			t.Errorf("escape %q does not decode back: %q, %v", tt.in, back, err)
		}
	}
}

func TestSignVerifies(t *testing.T) {
	t.Parallel()
	g := newTestGen()
	for i := 0; i < 50; i++ {
		body, _, _ := g.Next()
		sig := Sign(body, "app-secret")
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		if !ok {
			t.Fatalf("signature %q lacks the sha256= prefix", sig)
		}
		got, err := hex.DecodeString(hexSig)
		if err != nil {
			t.Fatal(err)
		}
		mac := hmac.New(sha256.New, []byte("app-secret"))
		mac.Write(body)
		if !hmac.Equal(got, mac.Sum(nil)) {
			t.Fatal("signature does not verify against the body")
		}
		if Sign(body, "other-secret") == sig {
			t.Fatal("signature does not depend on the secret")
		}
		tampered := append(bytes.Clone(body[:len(body)-1]), ' ', '}')
		if Sign(tampered, "app-secret") == sig {
			t.Fatal("signature does not depend on the exact bytes")
		}
	}
}

func BenchmarkNext(b *testing.B) {
	g := NewWebhookGen("106540352242922", "15550783881", "102290129340398", 1)
	size := 0
	for b.Loop() {
		body, _, _ := g.Next()
		size += len(body)
	}
	b.ReportMetric(float64(size)/float64(b.N), "bytes/webhook")
}
