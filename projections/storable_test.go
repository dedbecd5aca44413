package projections

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/streams"
)

// deepArray is a JSON array nested n levels deep.
func deepArray(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// TestInboxStoresWhatPostgreSQLCannot: a webhook holding what PostgreSQL
// cannot store (NUL characters, bytes that are not UTF-8, lone surrogate
// escapes, numbers beyond numeric, values nested beyond what encoding/json
// or jsonb read) is projected, with U+FFFD where the text could not be kept:
// its message is in the inbox, nothing is parked, and the stream keeps the
// webhook byte for byte. These webhooks used to be parked whole, or logged
// as undecodable.
func TestInboxStoresWhatPostgreSQLCannot(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	const from = "16505551234"
	// text is a text message whose body is the JSON string given, as sent.
	text := func(wamid, body string) []byte {
		return bytes.Replace(textWebhook(wamid, from, "Ann", "BODY", 1739321000), []byte(`"BODY"`), []byte(body), 1)
	}
	// message is a webhook of one message, with extra members of value.
	message := func(inValue, msg string) []byte {
		return bytes.Replace(msgWebhook(from, "Ann", msg), []byte(`"messaging_product"`), []byte(inValue+`"messaging_product"`), 1)
	}
	plain := func(wamid, inMessage, inText string) string {
		return `{` + inMessage + `"from":"` + from + `","id":"` + wamid + `","timestamp":"1739321000","type":"text","text":{` + inText + `"body":"hi"}}`
	}
	deep := deepArray(10001)
	const (
		content = `SELECT preview || ' ' || content::text FROM messages WHERE tenant_id = $1 AND wamid = `
		partial = "nested deeper than 100 levels"
	)
	for _, tt := range []struct {
		name    string
		body    []byte
		query   string // of one text, $1 the tenant
		want    string
		problem string // in webhook_log.decode_error, "" for none
	}{
		// Text.
		{"NUL in a text", text("wamid.NUL", `"a\u0000b"`), content + `'wamid.NUL'`, "a\uFFFDb " + `{"body": "a` + "\uFFFD" + `b"}`, ""},
		{"bytes not UTF-8 in a text", text("wamid.FFFE", "\"a\xff\xfeb\""), content + `'wamid.FFFE'`, "a\uFFFD\uFFFDb " + `{"body": "a` + "\uFFFD\uFFFD" + `b"}`, ""},
		{"a lone surrogate in a text", text("wamid.D800", `"a\ud800b"`), content + `'wamid.D800'`, "a\uFFFDb " + `{"body": "a` + "\uFFFD" + `b"}`, ""},
		{"NUL in a wamid", message("", strings.Replace(plain("wamid.\\u0000", "", ""), `"hi"`, `"id"`, 1)),
			`SELECT wamid FROM messages WHERE tenant_id = $1 AND preview = 'id'`, "wamid.\uFFFD", ""},
		{"NUL in a profile name", bytes.Replace(textWebhook("wamid.NAME", "16505550002", "NAME", "hi", 1739321000), []byte(`"NAME"`), []byte(`"K\u0000erry"`), 1),
			`SELECT profile_name FROM contacts WHERE tenant_id = $1 AND wa_id = '16505550002'`, "K\uFFFDerry", ""},
		{"NUL in a failed status", bytes.ReplaceAll(withStatusField(statusWebhook("wamid.OUT", "failed", 1739321000, from, 131026, "TITLE"), "biz_opaque_callback_data", `"b\u0000iz"`),
			[]byte(`"TITLE"`), []byte(`"t\u0000itle"`)),
			`SELECT error_title || ' ' || biz_opaque_callback_data FROM messages WHERE tenant_id = $1 AND wamid = 'wamid.OUT'`, "t\uFFFDitle b\uFFFDiz", ""},
		{"NUL in a template name", bytes.Replace(templateWebhook("123", "NAME", "APPROVED", 1739321000), []byte(`"NAME"`), []byte(`"pro\u0000mo"`), 1),
			`SELECT name FROM templates WHERE tenant_id = $1 AND template_id = '123'`, "pro\uFFFDmo", ""},
		// Deep values.
		{"10001 levels in value", message(`"x":`+deep+`,`, plain("wamid.DV", "", "")), content + `'wamid.DV'`, `hi {"body": "hi"}`, partial},
		{"10001 levels in the message", message("", plain("wamid.DM", `"x":`+deep+`,`, "")), content + `'wamid.DM'`, `hi {"body": "hi"}`, partial},
		{"10001 levels in its content", message("", plain("wamid.DC", "", `"x":`+deep+`,`)), content + `'wamid.DC'`,
			`hi {"x": ` + strings.Repeat("[", 91) + "null" + strings.Repeat("]", 91) + `, "body": "hi"}`, partial},
		// Numbers beyond numeric.
		{"1e999999 in value", message(`"n":1e999999,`, plain("wamid.NV", "", "")), content + `'wamid.NV'`, `hi {"body": "hi"}`, ""},
		{"1e999999 in the message", message("", plain("wamid.NM", `"n":1e999999,`, "")), content + `'wamid.NM'`, `hi {"body": "hi"}`, ""},
		{"1e999999 in its content", message("", plain("wamid.NC", "", `"n":1e999999,`)), content + `'wamid.NC'`, `hi {"n": "1e999999", "body": "hi"}`, ""},
		{"1e999999 in its referral", message("", plain("wamid.NR", `"referral":{"source_type":"ad","n":-1e999999},`, "")),
			`SELECT referral::text FROM messages WHERE tenant_id = $1 AND wamid = 'wamid.NR'`, `{"n": "-1e999999", "source_type": "ad"}`, ""},
	} {
		seq := e.publish(t, tenant, tt.body)
		t.Run(tt.name, func(t *testing.T) {
			// Subtests run once the projector has caught up, below.
			t.Parallel()
			var got string
			if err := e.pool.QueryRow(context.Background(), tt.query, tenant).Scan(&got); err != nil {
				t.Fatalf("%s: %v", tt.query, err)
			}
			if got != tt.want {
				t.Errorf("got %.300q, want %.300q", got, tt.want)
			}
			l := e.mustWebhookLog(t, seq)
			if wantResult := map[bool]string{false: DecodeOK, true: DecodePartial}[tt.problem != ""]; l.Result != wantResult || !strings.Contains(l.Error, tt.problem) {
				t.Errorf("webhook_log %s %.200q, want %s with %q", l.Result, l.Error, wantResult, tt.problem)
			}
			raw := e.mustStreamData(t, seq)
			if !bytes.Equal(raw, tt.body) {
				t.Errorf("the stream holds %d bytes, not the %d posted", len(raw), len(tt.body))
			}
		})
	}
	last := e.publish(t, tenant, textWebhook("wamid.LAST", from, "Ann", "last", 1739321001))
	mustWait(t, e.start(t, Options{}), last)
	if n := e.count(t, `SELECT count(*) FROM parked_events`); n != 0 {
		t.Errorf("%d events parked", n)
	}
}

// TestInboxConversationEventsStorable: conversation events stored before
// the API refused such text, with NUL in a note or a tag, apply with U+FFFD
// instead of being parked.
func TestInboxConversationEventsStorable(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	r := e.start(t, Options{})
	mustWait(t, r, e.publish(t, tenant, textWebhook("wamid.A", "16505551234", "Ann", "hi", 1739321000)))
	conv := e.mustConversation(t, tenant).ID
	note := uuid.New()
	e.conversationEvent(t, tenant, domain.EventNoteAdded, domain.ConversationEvent{ConversationID: conv, NoteID: &note, Body: "a\x00b"})
	mustWait(t, r, e.conversationEvent(t, tenant, domain.EventTagsSet, domain.ConversationEvent{ConversationID: conv, Tags: []string{"ok", "v\x00ip"}}))
	var body, tags string
	if err := e.pool.QueryRow(context.Background(), `SELECT body FROM notes WHERE id = $1`, note).Scan(&body); err != nil {
		t.Fatalf("note: %v", err)
	}
	if err := e.pool.QueryRow(context.Background(), `SELECT array_to_string(tags, ',') FROM conversations WHERE id = $1`, conv).Scan(&tags); err != nil {
		t.Fatal(err)
	}
	if body != "a\uFFFDb" || tags != "ok,v\uFFFDip" {
		t.Errorf("note %q, tags %q", body, tags)
	}
	if n := e.count(t, `SELECT count(*) FROM parked_events`); n != 0 {
		t.Errorf("%d events parked", n)
	}
}

// TestStorableJSONAcceptedByPostgreSQL holds domain.StorableJSON to what
// PostgreSQL takes as jsonb, and domain.StorableText to what it takes as
// text: each value made storable is.
func TestStorableJSONAcceptedByPostgreSQL(t *testing.T) {
	t.Parallel()
	pool := mustEnv(t).pool
	for _, raw := range []string{
		`{"a":"b"}`, `"\u0000"`, `"\\u0000"`, `"\ud800"`, `"\udc00"`, `"\ud800x"`, `"\ud800\udc00"`, `"\ud800\ud800"`,
		"\"\xff\"", "\"\xed\xa0\x80\"", `1e131071`, `1e131072`, `0.001e131074`, `-1e-16383`, `1e-16384`,
		`1e1000000000000`, `[1.5,-0.0e-00,2E+5]`, `{"\u0000":{"\ud800":[1e999999]}}`, deepArray(20000),
	} {
		out, _ := domain.StorableJSON([]byte(raw))
		var back []byte
		if err := pool.QueryRow(context.Background(), `SELECT $1::jsonb::text`, string(out)).Scan(&back); err != nil {
			t.Errorf("StorableJSON(%.40s) = %.60s: PostgreSQL: %v", raw, out, err)
		}
	}
	for _, s := range []string{"a\x00b", "\xff\xfe", "a\xc3", "\xed\xa0\x80"} {
		var back string
		if err := pool.QueryRow(context.Background(), `SELECT $1::text`, domain.StorableText(s)).Scan(&back); err != nil {
			t.Errorf("StorableText(%q): PostgreSQL: %v", s, err)
		}
	}
}

// mustStreamData is the data of the stream message seq, as stored.
func (e *env) mustStreamData(tb testing.TB, seq uint64) []byte {
	tb.Helper()
	ctx := context.Background()
	s, err := e.js.Stream(ctx, streams.StreamName)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		tb.Fatal(err)
	}
	return m.Data
}
