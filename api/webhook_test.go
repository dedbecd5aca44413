package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/streams"
)

func TestVerifyWebhook(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, query string
		want        int
		body        string
	}{
		{"matching token", "hub.mode=subscribe&hub.verify_token=" + verifyToken + "&hub.challenge=1158201444", 200, "1158201444"},
		{"wrong token", "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444", 403, ""},
		{"missing token", "hub.mode=subscribe&hub.challenge=1158201444", 403, ""},
		{"wrong mode", "hub.mode=unsubscribe&hub.verify_token=" + verifyToken + "&hub.challenge=1", 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.get("/api/webhook?"+tt.query, "")
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == 200 && rec.Body.String() != tt.body {
				t.Fatalf("body %q, want the challenge %q", rec.Body, tt.body)
			}
		})
	}
}

func TestWebhookRejectedBeforeStorage(t *testing.T) {
	e := newEnv(t)
	e.mustTenant("100", "111")
	good := textWebhook("100", "111", "wamid.A", "16505551234", "hi")
	huge := make([]byte, api.MaxWebhookBytes+1)
	copy(huge, good)
	tests := []struct {
		name string
		body []byte
		sig  string
		want int
	}{
		{"missing signature", good, "", http.StatusUnauthorized},
		{"wrong signature", good, sign([]byte("something else")), http.StatusUnauthorized},
		{"signature not hex", good, "sha256=zz", http.StatusUnauthorized},
		{"sha1 scheme", good, strings.Replace(sign(good), "sha256=", "sha1=", 1), http.StatusUnauthorized},
		{"3 MiB + 1 byte", huge, sign(huge), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.post(tt.body, tt.sig)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q, want application/problem+json", ct)
			}
		})
	}
	// A 3 MiB + 1 body sent without Content-Length (chunked) is refused too.
	req := httptest.NewRequest(http.MethodPost, "/api/webhook", struct{ *bytes.Reader }{bytes.NewReader(huge)})
	req.ContentLength = -1
	req.Header.Set("X-Hub-Signature-256", sign(huge))
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized body: status %d, want 413", rec.Code)
	}
	if n := len(e.streamMsgs()); n != 0 {
		t.Fatalf("%d events reached the stream, want none", n)
	}
}

func TestWebhookRouting(t *testing.T) {
	e := newEnv(t)
	a := e.mustTenant("100", "111", "112")
	b := e.mustTenant("200", "222")

	t.Run("exactly 3 MiB is accepted", func(t *testing.T) {
		body := textWebhook("100", "111", "wamid.big", "16505551234", strings.Repeat("x", api.MaxWebhookBytes-1000))
		body = append(body, bytes.Repeat([]byte(" "), api.MaxWebhookBytes-len(body))...)
		if rec := e.post(body, sign(body)); rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})

	before := len(e.streamMsgs())
	one := textWebhook("100", "111", "wamid.1", "16505551234", "caf\u00e9 <b>")
	unknown := textWebhook("300", "999", "wamid.2", "16505551234", "who owns me")
	malformed := []byte(`{"object":"whatsapp_business_account","entry":[{`)
	template := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"200","time":1718000000,"changes":[{"value":{"event":"APPROVED","message_template_id":1234567890123456789,"message_template_name":"hello","message_template_language":"en_US","reason":"NONE"},"field":"message_template_status_update"}]}]}`)
	// One POST mixing both tenants' numbers: changes of entry 100 for 111
	// (tenant a) and of entry 200 for 222 (tenant b), plus an entry whose
	// changes belong to two tenants.
	mixed := []byte(`{"object":"whatsapp_business_account","entry":[` +
		`{"id":"100","changes":[{"value":{"metadata":{"phone_number_id":"111"},"messages":[{"id":"wamid.m1","type":"text","text":{"body":"a \u003c"}}]},"field":"messages"}]},` +
		`{"id":"200","changes":[{"value":{"metadata":{"phone_number_id":"222"},"messages":[{"id":"wamid.m2"}]},"field":"messages"}]},` +
		`{"id":"100","time":5,"changes":[{"value":{"metadata":{"phone_number_id":"112"}},"field":"messages"},{"value":{"metadata":{"phone_number_id":"222"}},"field":"messages"}]}]}`)

	for _, body := range [][]byte{one, unknown, malformed, template, mixed} {
		if rec := e.post(body, sign(body)); rec.Code != 200 {
			t.Fatalf("status %d for %s: %s", rec.Code, body, rec.Body)
		}
	}
	msgs := e.streamMsgs()[before:]
	if len(msgs) != 6 {
		t.Fatalf("%d events stored, want 6 (one, unknown, malformed, template, mixed split in two)", len(msgs))
	}
	check := func(i int, subject string, data []byte) {
		t.Helper()
		if msgs[i].Subject != subject {
			t.Errorf("event %d on %s, want %s", i, msgs[i].Subject, subject)
		}
		if data != nil && !bytes.Equal(msgs[i].Data, data) {
			t.Errorf("event %d body\n%s\nwant byte-exact\n%s", i, msgs[i].Data, data)
		}
		if got := msgs[i].Header.Get(streams.HeaderType); got != streams.TypeWebhookMeta {
			t.Errorf("event %d type header %q", i, got)
		}
	}
	check(0, streams.WebhookSubject(a.ID.String()), one)
	check(1, streams.WebhookSubject(streams.Unrouted), unknown)
	check(2, streams.WebhookSubject(streams.Unrouted), malformed)
	if msgs[2].Header.Get(streams.HeaderUndecodable) != "true" {
		t.Errorf("malformed body not marked undecodable")
	}
	check(3, streams.WebhookSubject(b.ID.String()), template)
	check(4, streams.WebhookSubject(a.ID.String()), nil)
	check(5, streams.WebhookSubject(b.ID.String()), nil)

	// The split parts are valid JSON holding each tenant's entries and
	// changes byte-exact (note the \u003c escapes kept as Meta sent them).
	wantA := `{"object":"whatsapp_business_account","entry":[` +
		`{"id":"100","changes":[{"value":{"metadata":{"phone_number_id":"111"},"messages":[{"id":"wamid.m1","type":"text","text":{"body":"a \u003c"}}]},"field":"messages"}]},` +
		`{"id":"100","time":5,"changes":[{"value":{"metadata":{"phone_number_id":"112"}},"field":"messages"}]}]}`
	wantB := `{"object":"whatsapp_business_account","entry":[` +
		`{"id":"200","changes":[{"value":{"metadata":{"phone_number_id":"222"},"messages":[{"id":"wamid.m2"}]},"field":"messages"}]},` +
		`{"id":"100","time":5,"changes":[{"value":{"metadata":{"phone_number_id":"222"}},"field":"messages"}]}]}`
	for i, want := range map[int]string{4: wantA, 5: wantB} {
		if string(msgs[i].Data) != want {
			t.Errorf("split part %d\n%s\nwant\n%s", i, msgs[i].Data, want)
		}
		if !json.Valid(msgs[i].Data) {
			t.Errorf("split part %d is not valid JSON", i)
		}
	}

	// Meta's retry of the same bytes within the duplicate window is stored once.
	if rec := e.post(one, sign(one)); rec.Code != 200 {
		t.Fatalf("retry: status %d", rec.Code)
	}
	if n := len(e.streamMsgs()) - before; n != 6 {
		t.Fatalf("retry stored again: %d events, want 6", n)
	}
}
