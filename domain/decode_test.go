package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The ids every testdata payload uses.
const (
	testWABA       = "102290129340398"
	testPNID       = "123456123"
	testDisplay    = "15550783881"
	testWaID       = "16505551234"
	testPhone      = "+16505551234"
	testOutbound   = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQOUTBOUNDAA==" // a message the business sent
	testOriginal   = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQORIGINALAA==" // a message the user edits or deletes
	testBSUID      = "US.13491208655302741918"
	testTimestamp  = 1739321024
	testTemplateID = "1234567890123456789" // more digits than a float64 holds
)

func mustReadTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// mustDecodeFile decodes testdata/name and fails on an error.
func mustDecodeFile(tb testing.TB, name string) (Webhook, []byte) {
	tb.Helper()
	raw := mustReadTestdata(tb, name)
	w, err := DecodeWebhook(raw)
	if err != nil {
		tb.Fatalf("DecodeWebhook(%s): %v", name, err)
	}
	return w, raw
}

// mustOneChange is the single change of w, which must have no problems.
func mustOneChange(tb testing.TB, w Webhook) Change {
	tb.Helper()
	if len(w.Problems) > 0 {
		tb.Fatalf("unexpected problems: %q", w.Problems)
	}
	if len(w.Changes) != 1 {
		tb.Fatalf("got %d changes, want 1", len(w.Changes))
	}
	return w.Changes[0]
}

// assertJSONEqual compares two JSON texts by value, ignoring layout and
// member order.
func assertJSONEqual(tb testing.TB, what string, got []byte, want string) {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("%s: got invalid JSON %q: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		tb.Fatalf("%s: bad want %q: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		tb.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

func TestDecodeWebhookMessageTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		typ     MessageType
		content string
		preview string
		target  string
	}{
		{"text.json", TypeText, `{"body":"Hello! Is the store open today?"}`, "Hello! Is the store open today?", ""},
		{"image.json", TypeImage, `{"caption":"Is this the right part?","mime_type":"image/jpeg","sha256":"AbCdEfGh1234567890abcdefgh1234567890ABCDEFG=","id":"1003383421387256","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256&ext=1739321024&hash=ATsH"}`,
			"📷 Is this the right part?", ""},
		{"audio.json", TypeAudio, `{"mime_type":"audio/mpeg","sha256":"aGVsbG8gYXVkaW8gZmlsZSBzaGEyNTYgaGFzaA==","id":"1013859600285441","voice":false}`, "🎵 Audio", ""},
		{"voice.json", TypeAudio, `{"mime_type":"audio/ogg; codecs=opus","sha256":"dm9pY2Ugbm90ZSBzaGEyNTYgaGFzaCBleGFtcGxl","id":"1013859600285442","voice":true}`, "🎤 Voice message", ""},
		{"video.json", TypeVideo, `{"caption":"The noise it makes","mime_type":"video/mp4","sha256":"dmlkZW8gZmlsZSBzaGEyNTYgaGFzaCBleGFtcGxlMQ==","id":"1166459391316123"}`, "🎥 The noise it makes", ""},
		{"document.json", TypeDocument, `{"caption":"Here is the invoice","filename":"invoice-2025-02.pdf","mime_type":"application/pdf","sha256":"ZG9jdW1lbnQgc2hhMjU2IGhhc2ggZXhhbXBsZTEyMw==","id":"1003383421387257"}`, "📄 invoice-2025-02.pdf", ""},
		{"sticker.json", TypeSticker, `{"mime_type":"image/webp","sha256":"c3RpY2tlciBzaGEyNTYgaGFzaCBleGFtcGxlMTIz","id":"1119191985805888","animated":true}`, "💟 Animated sticker", ""},
		{"location.json", TypeLocation, `{"address":"1 Hacker Way, Menlo Park, CA 94025","latitude":37.483307,"longitude":-122.148981,"name":"Meta Headquarters","url":"https://www.facebook.com"}`, "📍 Meta Headquarters", ""},
		{"contacts.json", TypeContacts, `{"contacts":[{"addresses":[{"city":"Menlo Park","country":"United States","country_code":"us","state":"CA","street":"1 Hacker Way","type":"WORK","zip":"94025"}],"birthday":"1999-01-23","emails":[{"email":"bjohnson@example.com","type":"WORK"}],"name":{"first_name":"Barbara","last_name":"Johnson","formatted_name":"Barbara J. Johnson"},"org":{"company":"Example Corp","department":"Sales","title":"Director"},"phones":[{"phone":"+1 (650) 555-1234","wa_id":"16505551234","type":"WORK"}],"urls":[{"url":"https://www.example.com","type":"WORK"}]}]}`,
			"👤 Contact: Barbara J. Johnson", ""},
		{"interactive_button_reply.json", TypeInteractive, `{"type":"button_reply","button_reply":{"id":"change-button","title":"Change"}}`, "Change", ""},
		{"interactive_list_reply.json", TypeInteractive, `{"type":"list_reply","list_reply":{"id":"priority_express","title":"Express Shipping","description":"Next Day to 2 Days"}}`, "Express Shipping", ""},
		{"interactive_nfm_reply.json", TypeInteractive, `{"type":"nfm_reply","nfm_reply":{"body":"Sent","name":"flow",
			"response_json":"{\"flow_token\": \"AQAAAAACS5FpgQ_cAAAAAD0QI3s.\", \"appointment_date\": \"2025-02-20\", \"party_size\": 4, \"notes\": \"Window seat <please> & thanks\"}",
			"response":{"flow_token":"AQAAAAACS5FpgQ_cAAAAAD0QI3s.","appointment_date":"2025-02-20","party_size":4,"notes":"Window seat <please> & thanks"}}}`,
			"📋 Form response", ""},
		{"button.json", TypeButton, `{"payload":"STOP_PROMOTIONS","text":"Stop promotions"}`, "Stop promotions", ""},
		{"order.json", TypeOrder, `{"catalog_id":"194836987003835","text":"Please deliver before noon","product_items":[{"product_retailer_id":"di9ozbzfi4","quantity":2,"item_price":30,"currency":"USD"},{"product_retailer_id":"nqryix03ez","quantity":1,"item_price":25,"currency":"USD"}]}`,
			"🛒 Order: 2 items · Please deliver before noon", ""},
		{"reaction.json", TypeReaction, `{"message_id":"` + testOutbound + `","emoji":"👍","removed":false}`, "Reacted 👍", testOutbound},
		{"reaction_removed.json", TypeReaction, `{"message_id":"` + testOutbound + `","removed":true}`, "Removed a reaction", testOutbound},
		{"system_user_changed_number.json", TypeSystem, `{"body":"User Sheena Nelson changed from 16505551234 to 12195555358","wa_id":"12195555358","type":"user_changed_number"}`,
			"User Sheena Nelson changed from 16505551234 to 12195555358", ""},
		{"system_customer_changed_number.json", TypeSystem, `{"body":"Sheena Nelson changed from 16505551234 to 12195555358","new_wa_id":"12195555358","type":"customer_changed_number"}`,
			"Sheena Nelson changed from 16505551234 to 12195555358", ""},
		{"system_customer_identity_changed.json", TypeSystem, `{"body":"Sheena Nelson's security code changed","customer":"16505551234","identity":"Sjvjlx8G6Z0=","type":"customer_identity_changed"}`,
			"Sheena Nelson's security code changed", ""},
		{"unsupported.json", TypeUnsupported, `{"type":"poll_update"}`, "Unsupported message", ""},
		{"edit.json", TypeEdit, `{"original_message_id":"` + testOriginal + `","message":{"context":{"id":"` + testOutbound + `"},"type":"image","image":{"caption":"Is this the right part? (the blue one)","mime_type":"image/jpeg","sha256":"AbCdEfGh1234567890abcdefgh1234567890ABCDEFG=","id":"1003383421387256","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256&ext=1739321084&hash=ATsH"}}}`,
			"Edited: 📷 Is this the right part? (the blue one)", testOriginal},
		{"revoke.json", TypeRevoke, `{"original_message_id":"` + testOriginal + `"}`, "Message deleted", testOriginal},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			w, raw := mustDecodeFile(t, tt.file)
			if w.Object != "whatsapp_business_account" {
				t.Errorf("Object = %q", w.Object)
			}
			ch := mustOneChange(t, w)
			if ch.WABAID != testWABA || ch.Field != "messages" || ch.PhoneNumberID != testPNID || ch.DisplayPhoneNumber != testDisplay {
				t.Errorf("change = %q %q %q %q", ch.WABAID, ch.Field, ch.PhoneNumberID, ch.DisplayPhoneNumber)
			}
			if len(ch.Messages) != 1 {
				t.Fatalf("got %d messages, want 1", len(ch.Messages))
			}
			m := ch.Messages[0]
			if m.WAMID == "" || m.From != testWaID || m.FromPhone != testPhone {
				t.Errorf("WAMID %q From %q FromPhone %q", m.WAMID, m.From, m.FromPhone)
			}
			if want := time.Unix(testTimestamp, 0).UTC(); !m.Timestamp.Equal(want) || m.Timestamp.Location() != time.UTC {
				t.Errorf("Timestamp = %v, want %v", m.Timestamp, want)
			}
			if m.Type != tt.typ {
				t.Errorf("Type = %q, want %q", m.Type, tt.typ)
			}
			assertJSONEqual(t, "Content", m.Content, tt.content)
			if m.Preview != tt.preview {
				t.Errorf("Preview = %q, want %q", m.Preview, tt.preview)
			}
			if m.TargetWAMID != tt.target {
				t.Errorf("TargetWAMID = %q, want %q", m.TargetWAMID, tt.target)
			}
			if !bytes.Contains(raw, m.Raw) || !bytes.HasPrefix(m.Raw, []byte("{")) {
				t.Errorf("Raw is not the message's bytes: %s", m.Raw)
			}
			if !bytes.Contains(raw, ch.Value) {
				t.Errorf("Value is not the value's bytes")
			}
		})
	}
}

// Content keeps the type object as Meta sent it, only compacted, for every
// type that adds nothing to it.
func TestDecodeWebhookContentAsSent(t *testing.T) {
	t.Parallel()
	w, _ := mustDecodeFile(t, "image.json")
	m := mustOneChange(t, w).Messages[0]
	var o map[string]json.RawMessage
	if err := json.Unmarshal(m.Raw, &o); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, o["image"]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Content, want.Bytes()) {
		t.Errorf("Content %s is not the image object as sent", m.Content)
	}
	var raw []byte
	// Meta escapes non-ASCII as \uXXXX; the decoded preview must not.
	w, raw = mustDecodeFile(t, "reaction.json")
	m = mustOneChange(t, w).Messages[0]
	if !bytes.Contains(raw, []byte(`\ud83d\udc4d`)) || m.Preview != "Reacted 👍" {
		t.Errorf("Preview = %q", m.Preview)
	}
}

func TestDecodeWebhookSenderProfile(t *testing.T) {
	t.Parallel()
	w, _ := mustDecodeFile(t, "text.json")
	ch := mustOneChange(t, w)
	want := Contact{WaID: testWaID, Phone: testPhone, ProfileName: "Sheena Nelson"}
	if len(ch.Contacts) != 1 || ch.Contacts[0] != want {
		t.Fatalf("Contacts = %+v, want [%+v]", ch.Contacts, want)
	}
	if got, ok := ch.Sender(ch.Messages[0]); !ok || got != want {
		t.Errorf("Sender = %+v, %v", got, ok)
	}
}

func TestDecodeWebhookFromUserID(t *testing.T) {
	t.Parallel()
	w, _ := mustDecodeFile(t, "from_user_id.json")
	ch := mustOneChange(t, w)
	m := ch.Messages[0]
	if m.From != "" || m.FromPhone != "" || m.FromUserID != testBSUID {
		t.Errorf("From %q FromPhone %q FromUserID %q", m.From, m.FromPhone, m.FromUserID)
	}
	want := Contact{UserID: testBSUID, ProfileName: "Sheena Nelson", Username: "@sheena"}
	if got, ok := ch.Sender(m); !ok || got != want {
		t.Errorf("Sender = %+v, %v; want %+v", got, ok, want)
	}
	if m.Type != TypeText || m.Preview != "Hi, it's me with my new username" {
		t.Errorf("Type %q Preview %q", m.Type, m.Preview)
	}

	w, _ = mustDecodeFile(t, "system_user_changed_user_id.json")
	ch = mustOneChange(t, w)
	m = ch.Messages[0]
	if m.Type != TypeSystem || m.FromUserID != testBSUID || m.From != "" || len(ch.Contacts) != 0 {
		t.Errorf("Type %q FromUserID %q From %q Contacts %v", m.Type, m.FromUserID, m.From, ch.Contacts)
	}
	assertJSONEqual(t, "Content", m.Content, `{"body":"User Sheena Nelson changed from US.13491208655302741918 to US.88234451908231665511","user_id":"US.88234451908231665511","type":"user_changed_user_id"}`)
	if _, ok := ch.Sender(m); ok {
		t.Error("Sender found without contacts")
	}
}

func TestDecodeWebhookContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []MessageContext
	}{
		{"text_reply.json", []MessageContext{{From: testDisplay, ID: testOutbound}}},
		{"interactive_button_reply.json", []MessageContext{{From: testDisplay, ID: testOutbound}}},
		{"button.json", []MessageContext{{From: testDisplay, ID: testOutbound}}},
		{"forwarded.json", []MessageContext{{Forwarded: true}, {FrequentlyForwarded: true}}},
		{"referred_product.json", []MessageContext{{From: testDisplay, ID: testOutbound,
			ReferredProduct: json.RawMessage(`{"catalog_id":"194836987003835","product_retailer_id":"di9ozbzfi4"}`)}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			w, _ := mustDecodeFile(t, tt.file)
			ms := mustOneChange(t, w).Messages
			if len(ms) != len(tt.want) {
				t.Fatalf("got %d messages, want %d", len(ms), len(tt.want))
			}
			for i, m := range ms {
				if m.Context == nil {
					t.Fatalf("message %d has no context", i)
				}
				got, want := *m.Context, tt.want[i]
				if want.ReferredProduct != nil {
					assertJSONEqual(t, "ReferredProduct", got.ReferredProduct, string(want.ReferredProduct))
					got.ReferredProduct, want.ReferredProduct = nil, nil
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("message %d context = %+v, want %+v", i, got, want)
				}
			}
		})
	}
	w, _ := mustDecodeFile(t, "text.json")
	if c := mustOneChange(t, w).Messages[0].Context; c != nil {
		t.Errorf("text without context got %+v", c)
	}
}

func TestDecodeWebhookReferral(t *testing.T) {
	t.Parallel()
	w, raw := mustDecodeFile(t, "referral.json")
	m := mustOneChange(t, w).Messages[0]
	if !bytes.Contains(raw, m.Referral) || len(m.Referral) == 0 {
		t.Fatalf("Referral not kept byte-exact: %s", m.Referral)
	}
	var ref struct {
		SourceType string `json:"source_type"`
		SourceID   string `json:"source_id"`
		CtwaClid   string `json:"ctwa_clid"`
	}
	if err := json.Unmarshal(m.Referral, &ref); err != nil || ref.SourceType != "ad" || ref.SourceID != "120226305854810726" || ref.CtwaClid == "" {
		t.Errorf("Referral = %+v, %v", ref, err)
	}
	if m.Type != TypeText || m.Preview != "Can I get more info about this?" {
		t.Errorf("Type %q Preview %q", m.Type, m.Preview)
	}
}

func TestDecodeWebhookUnsupportedErrors(t *testing.T) {
	t.Parallel()
	w, _ := mustDecodeFile(t, "unsupported.json")
	m := mustOneChange(t, w).Messages[0]
	want := []MetaError{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown", Details: "Message type is currently not supported."}}
	if !reflect.DeepEqual(m.Errors, want) {
		t.Errorf("Errors = %+v, want %+v", m.Errors, want)
	}
}

func TestDecodeWebhookStatuses(t *testing.T) {
	t.Parallel()
	ts := time.Unix(testTimestamp, 0).UTC()
	exp := time.Unix(1739407424, 0).UTC()
	billable, free := true, false
	tests := []struct {
		file string
		want Status
	}{
		{"status_sent.json", Status{Status: StatusSent, BizOpaqueCallbackData: "campaign=spring;batch=7",
			Conversation: &StatusConversation{ID: "6ceb9d929c7bd1d4ee8b3f0b8ed8f4d3", ExpirationTimestamp: &exp, OriginType: "utility"},
			Pricing:      &Pricing{PricingModel: "PMP", Category: "utility", Type: "regular", Billable: &billable}}},
		{"status_delivered.json", Status{Status: StatusDelivered, RecipientUserID: testBSUID,
			Conversation: &StatusConversation{ID: "6ceb9d929c7bd1d4ee8b3f0b8ed8f4d3", ExpirationTimestamp: &exp, OriginType: "service"},
			Pricing:      &Pricing{PricingModel: "PMP", Category: "service", Type: "free_customer_service", Billable: &free}}},
		{"status_read.json", Status{Status: StatusRead}},
		{"status_played.json", Status{Status: StatusPlayed}},
		{"status_failed.json", Status{Status: StatusFailed, Errors: []MetaError{{
			Code: 131047, Title: "Re-engagement message", Message: "Re-engagement message",
			Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
			Href:    "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}}},
		{"status_unknown.json", Status{Status: StatusKind("warning")}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			w, raw := mustDecodeFile(t, tt.file)
			ch := mustOneChange(t, w)
			if ch.PhoneNumberID != testPNID || len(ch.Messages) != 0 || len(ch.Statuses) != 1 {
				t.Fatalf("change = %+v", ch)
			}
			got := ch.Statuses[0]
			if !bytes.Contains(raw, got.Raw) || len(got.Raw) == 0 {
				t.Errorf("Raw not kept byte-exact")
			}
			want := tt.want
			want.WAMID, want.Timestamp, want.RecipientID, want.RecipientPhone, want.Raw = testOutbound, ts, testWaID, testPhone, got.Raw
			if !reflect.DeepEqual(got, want) {
				t.Errorf("status =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
	// Statuses webhooks now carry the recipient in contacts too.
	w, _ := mustDecodeFile(t, "status_delivered.json")
	if got := mustOneChange(t, w).Contacts; len(got) != 1 || got[0].UserID != testBSUID || got[0].WaID != testWaID {
		t.Errorf("Contacts = %+v", got)
	}
}

func TestDecodeWebhookTemplateStatusUpdate(t *testing.T) {
	t.Parallel()
	w, raw := mustDecodeFile(t, "template_status_update.json")
	ch := mustOneChange(t, w)
	want := TemplateStatusUpdate{TemplateID: testTemplateID, TemplateName: "order_confirmation",
		TemplateLanguage: "en_US", Event: "APPROVED", Reason: "NONE", Category: "UTILITY"}
	if ch.TemplateStatus == nil || *ch.TemplateStatus != want {
		t.Fatalf("TemplateStatus = %+v, want %+v", ch.TemplateStatus, want)
	}
	if ch.Field != "message_template_status_update" || ch.WABAID != testWABA || ch.PhoneNumberID != "" {
		t.Errorf("change = %q %q %q", ch.Field, ch.WABAID, ch.PhoneNumberID)
	}
	if !ch.EntryTime.Equal(time.Unix(testTimestamp, 0)) {
		t.Errorf("EntryTime = %v", ch.EntryTime)
	}
	if !bytes.Contains(raw, ch.Value) || !bytes.Contains(ch.Value, []byte(testTemplateID)) {
		t.Errorf("Value lost the id: %s", ch.Value)
	}

	for _, tt := range []struct{ name, value, id, reason string }{
		{"string id", `{"event":"PAUSED","message_template_id":"1234567890123456789","reason":null}`, testTemplateID, ""},
		{"small id", `{"event":"APPROVED","message_template_id":42,"reason":"NONE"}`, "42", "NONE"},
	} {
		body := `{"object":"whatsapp_business_account","entry":[{"id":"` + testWABA + `","changes":[{"field":"message_template_status_update","value":` + tt.value + `}]}]}`
		w, err := DecodeWebhook([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		ch := mustOneChange(t, w)
		if ch.TemplateStatus == nil || ch.TemplateStatus.TemplateID != tt.id || ch.TemplateStatus.Reason != tt.reason {
			t.Errorf("%s: TemplateStatus = %+v", tt.name, ch.TemplateStatus)
		}
	}
}

func TestDecodeWebhookOtherFields(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"account_update.json", "unknown_field.json"} {
		w, raw := mustDecodeFile(t, file)
		ch := mustOneChange(t, w)
		if ch.Field == "" || ch.Field == "messages" || ch.WABAID != testWABA || !bytes.Contains(raw, ch.Value) || len(ch.Value) == 0 {
			t.Errorf("%s: change = %+v", file, ch)
		}
		if ch.PhoneNumberID != "" || ch.Messages != nil || ch.Statuses != nil || ch.Contacts != nil || ch.TemplateStatus != nil {
			t.Errorf("%s: decoded more than Field and Value: %+v", file, ch)
		}
	}
}

func TestDecodeWebhookUnknownType(t *testing.T) {
	t.Parallel()
	w, _ := mustDecodeFile(t, "unknown_type.json")
	ms := mustOneChange(t, w).Messages
	if len(ms) != 2 {
		t.Fatalf("got %d messages", len(ms))
	}
	if ms[0].Type != "poll_creation" || ms[0].Preview != "Unsupported message" {
		t.Errorf("Type %q Preview %q", ms[0].Type, ms[0].Preview)
	}
	assertJSONEqual(t, "Content", ms[0].Content, `{"name":"Pick a day","options":["Mon","Tue"]}`)
	if ms[1].Type != "keep_in_chat" || string(ms[1].Content) != "{}" {
		t.Errorf("Type %q Content %s", ms[1].Type, ms[1].Content)
	}
}

func TestDecodeWebhookUnknownMembers(t *testing.T) {
	t.Parallel()
	w, raw := mustDecodeFile(t, "unknown_members.json")
	ch := mustOneChange(t, w)
	m := ch.Messages[0]
	if m.Type != TypeText || m.Preview != "Extra fields everywhere" || ch.Contacts[0].ProfileName != "Sheena Nelson" {
		t.Errorf("message = %+v", m)
	}
	for _, part := range [][]byte{m.Raw, ch.Value} {
		if !bytes.Contains(raw, part) {
			t.Errorf("not byte-exact: %s", part)
		}
	}
	if !bytes.Contains(m.Raw, []byte(`"future_member"`)) || !bytes.Contains(m.Content, []byte(`"future"`)) || !bytes.Contains(ch.Value, []byte(`"sentiment"`)) {
		t.Error("unknown members dropped")
	}
}

func TestDecodeWebhookValueErrors(t *testing.T) {
	t.Parallel()
	w, _ := mustDecodeFile(t, "value_errors.json")
	ch := mustOneChange(t, w)
	if len(ch.Errors) != 1 || ch.Errors[0].Code != 131000 || ch.Errors[0].Details == "" || ch.Errors[0].Href == "" {
		t.Errorf("Errors = %+v", ch.Errors)
	}
}

func TestDecodeWebhookMultiple(t *testing.T) {
	t.Parallel()
	w, _ := mustDecodeFile(t, "multiple.json")
	if len(w.Problems) > 0 {
		t.Fatalf("problems: %q", w.Problems)
	}
	if len(w.Changes) != 3 {
		t.Fatalf("got %d changes, want 3", len(w.Changes))
	}
	c0, c1, c2 := w.Changes[0], w.Changes[1], w.Changes[2]
	if len(c0.Messages) != 2 || len(c0.Contacts) != 2 || len(c1.Statuses) != 2 || c2.TemplateStatus == nil {
		t.Fatalf("changes = %+v", w.Changes)
	}
	second := c0.Messages[1]
	if second.FromPhone != "+5511988887777" || second.Preview != "Olá, tudo bem?" {
		t.Errorf("second message = %+v", second)
	}
	if s, ok := c0.Sender(second); !ok || s.ProfileName != "Rafael Souza" {
		t.Errorf("Sender = %+v, %v", s, ok)
	}
	if c1.Statuses[0].Status != StatusDelivered || c1.Statuses[1].Status != StatusRead || !c1.Statuses[1].Timestamp.Equal(time.Unix(1739321090, 0)) {
		t.Errorf("statuses = %+v", c1.Statuses)
	}
	if c2.TemplateStatus.TemplateID != "987654321098765" || c2.TemplateStatus.Event != "REJECTED" || c2.WABAID != testWABA {
		t.Errorf("template = %+v", c2.TemplateStatus)
	}
}

func TestDecodeWebhookPartial(t *testing.T) {
	t.Parallel()
	w, _ := mustDecodeFile(t, "partial.json")
	if !w.Partial() {
		t.Fatal("Partial() = false")
	}
	if len(w.Changes) != 2 {
		t.Fatalf("got %d changes, want 2", len(w.Changes))
	}
	ms := w.Changes[0].Messages
	if len(ms) != 3 {
		t.Fatalf("got %d messages, want 3 (the two without an id dropped)", len(ms))
	}
	if ms[0].Type != TypeText || ms[0].Preview != "This one is fine" || ms[0].Timestamp.IsZero() {
		t.Errorf("good message = %+v", ms[0])
	}
	if ms[1].Type != TypeUnsupported || string(ms[1].Content) != "{}" || ms[1].Preview != "Unsupported message" {
		t.Errorf("message with a numeric type = %+v", ms[1])
	}
	if ms[2].Type != TypeText || !ms[2].Timestamp.IsZero() || ms[2].Preview != "bad clock" {
		t.Errorf("message with a bad timestamp = %+v", ms[2])
	}
	if ss := w.Changes[0].Statuses; len(ss) != 1 || ss[0].Status != StatusRead {
		t.Errorf("statuses = %+v", ss)
	}
	if ch := w.Changes[1]; ch.Field != "messages" || string(ch.Value) != `"value is a string"` {
		t.Errorf("change with a bad value = %+v", ch)
	}
	for _, want := range []string{
		"entry[0].changes[0].value.messages[1].type: is a number",
		"entry[0].changes[0].value.messages[2].timestamp: \"yesterday\" is not Unix seconds",
		"entry[0].changes[0].value.messages[3]: message without an id dropped",
		"entry[0].changes[0].value.messages[4]: is a string, not an object",
		"entry[0].changes[0].value.statuses[1].status: is a number, not a string",
		"entry[0].changes[1].value: is a string, not an object",
	} {
		found := false
		for _, p := range w.Problems {
			found = found || strings.HasPrefix(p, want)
		}
		if !found {
			t.Errorf("no problem starting %q in %q", want, w.Problems)
		}
	}
}

func TestDecodeWebhookTimestampForms(t *testing.T) {
	t.Parallel()
	for _, ts := range []string{`"1739321024"`, `1739321024`, `" 1739321024 "`} {
		body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[
			{"from":"16505551234","id":"wamid.X","timestamp":` + ts + `,"type":"text","text":{"body":"hi"}}]}}]}]}`
		w, err := DecodeWebhook([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		m := mustOneChange(t, w).Messages[0]
		if !m.Timestamp.Equal(time.Unix(testTimestamp, 0)) {
			t.Errorf("timestamp %s: got %v", ts, m.Timestamp)
		}
	}
	for _, ts := range []string{`"-1"`, `1.5`, `"1e9"`, `true`, `"99999999999999999999"`, `253402300800`} {
		body := `{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"wamid.X","timestamp":` + ts + `,"type":"text"}]}}]}]}`
		w, err := DecodeWebhook([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if !w.Partial() || len(w.Changes[0].Messages) != 1 || !w.Changes[0].Messages[0].Timestamp.IsZero() {
			t.Errorf("timestamp %s: problems %q", ts, w.Problems)
		}
	}
}

func TestDecodeWebhookNfmReplyWithBadJSON(t *testing.T) {
	t.Parallel()
	body := `{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"wamid.X","timestamp":"1","type":"interactive",
		"interactive":{"type":"nfm_reply","nfm_reply":{"response_json":"{not json","body":"Sent","name":"flow"}}}]}}]}]}`
	w, err := DecodeWebhook([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	m := w.Changes[0].Messages[0]
	assertJSONEqual(t, "Content", m.Content, `{"type":"nfm_reply","nfm_reply":{"response_json":"{not json","body":"Sent","name":"flow"}}`)
	if !w.Partial() {
		t.Error("bad response_json not reported")
	}
}

func TestDecodeWebhookUndecodable(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		"", "   ", "null", "[]", `"whatsapp_business_account"`, "42", "{", `{"entry":[}`, "not json",
		`{"object":"whatsapp_business_account","entry":{}}`, `{"object":5,"entry":[]}`,
		`{"object":"x"} trailing`, "\xff\xfe{}",
	} {
		w, err := DecodeWebhook([]byte(body))
		if !errors.Is(err, ErrUndecodable) {
			t.Errorf("DecodeWebhook(%q) error = %v, want ErrUndecodable", body, err)
		}
		if w.Changes != nil || w.Problems != nil {
			t.Errorf("DecodeWebhook(%q) = %+v alongside an error", body, w)
		}
	}
	// An envelope without entries is not undecodable, only empty.
	w, err := DecodeWebhook([]byte(`{"object":"whatsapp_business_account","entry":[]}`))
	if err != nil || len(w.Changes) != 0 || !w.Partial() {
		t.Errorf("empty entry: %+v, %v", w, err)
	}
}

func TestPreviewText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ação ", 40)
	got := previewText(long)
	if n := utf8.RuneCountInString(got); n != PreviewLength || !strings.HasSuffix(got, "…") {
		t.Errorf("previewText(long) has %d runes: %q", n, got)
	}
	if got := previewText("  line one\n\nline\ttwo  "); got != "line one line two" {
		t.Errorf("previewText folds to %q", got)
	}
}

// FuzzDecodeWebhook checks that no body makes the decoder panic, and that
// what it returns keeps its promises.
func FuzzDecodeWebhook(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed corpus: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "{}", "[]", "null", "{", `{"entry":[{"changes":[{"field":"messages","value":{"messages":[{}]}}]}]}`,
		oddWebhook(`"x":`+deep(10001)+`,`, "", ""), oddWebhook("", `"x":[{"y":`+deep(120)+`}],`, `"n":1e999999,`),
		oddWebhook(`"x":`+deep(10001)[:10003]+`,`, "", "")} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		w, err := DecodeWebhook(raw)
		if err != nil {
			if !errors.Is(err, ErrUndecodable) {
				t.Fatalf("error %v does not wrap ErrUndecodable", err)
			}
			return
		}
		// JSON, but maybe nested deeper than json.Valid allows.
		if _, ok := scanText(raw, nil, len(raw)); !ok {
			t.Fatalf("invalid JSON decoded without an error")
		}
		for _, p := range w.Problems {
			if !utf8.ValidString(p) {
				t.Errorf("problem is not UTF-8: %q", p)
			}
		}
		for _, ch := range w.Changes {
			if ch.Value != nil && !json.Valid(ch.Value) {
				t.Errorf("Value is not JSON: %q", ch.Value)
			}
			for _, m := range ch.Messages {
				if m.WAMID == "" || m.Type == "" {
					t.Errorf("message without id or type: %+v", m)
				}
				if kind(m.Content) != '{' || !json.Valid(m.Content) {
					t.Errorf("Content is not a JSON object: %q", m.Content)
				}
				if !json.Valid(m.Raw) {
					t.Errorf("Raw is not JSON: %q", m.Raw)
				}
				if !utf8.ValidString(m.Preview) || utf8.RuneCountInString(m.Preview) > PreviewLength {
					t.Errorf("bad Preview %q", m.Preview)
				}
			}
			for _, s := range ch.Statuses {
				if s.WAMID == "" || s.Status == "" || !json.Valid(s.Raw) {
					t.Errorf("bad status %+v", s)
				}
			}
		}
	})
}

func BenchmarkDecodeWebhook(b *testing.B) {
	for _, name := range []string{"text.json", "multiple.json", "status_sent.json"} {
		raw := mustReadTestdata(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeWebhook(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// An error code beyond what PostgreSQL's integer holds is a problem, not a
// code: stored, it would have come back as another number.
func TestDecodeWebhookErrorCodeOutOfRange(t *testing.T) {
	t.Parallel()
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[
{"id":"wamid.X","status":"failed","timestamp":"1739321000","recipient_id":"16505551234","errors":[{"code":4294967297,"title":"t"}]}]}}]}]}`
	w, err := DecodeWebhook([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	ss := w.Changes[0].Statuses
	if len(ss) != 1 || len(ss[0].Errors) != 1 || ss[0].Errors[0].Code != 0 || ss[0].Errors[0].Title != "t" {
		t.Errorf("statuses = %+v", ss)
	}
	want := "entry[0].changes[0].value.statuses[0].errors[0].code: 4294967297 is out of range"
	if len(w.Problems) != 1 || w.Problems[0] != want {
		t.Errorf("problems %q, want %q", w.Problems, want)
	}
}
