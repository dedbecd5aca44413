package projections

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/streams"
)

// TestInboxMessageTypes projects every Meta payload of domain/testdata into a
// tenant of its own and checks each message and status row against what the
// decoder made of the payload, plus what the inbox makes of the message type.
func TestInboxMessageTypes(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	r := e.start(t, Options{})

	// What a message of each type does to its conversation.
	counts := map[string]bool{
		"text": true, "image": true, "audio": true, "video": true, "document": true, "sticker": true,
		"location": true, "contacts": true, "interactive": true, "button": true, "order": true,
		"unsupported": true, "poll_creation": true, "keep_in_chat": true,
		"reaction": false, "system": false, "edit": false, "revoke": false,
	}
	files, err := filepath.Glob(filepath.Join("..", "domain", "testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		raw := mustTestdata(t, name)
		w, err := domain.DecodeWebhook(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Run(name, func(t *testing.T) {
			tenant := uuid.NewString()
			seq := e.publish(t, tenant, raw)
			mustWait(t, r, seq)

			log := e.mustWebhookLog(t, seq)
			wantResult := DecodeOK
			if w.Partial() {
				wantResult = DecodePartial
			}
			if log.Result != wantResult || log.TenantID == nil || log.TenantID.String() != tenant || log.Size != len(raw) {
				t.Errorf("webhook_log = %+v, want result %s, tenant %s, size %d", log, wantResult, tenant, len(raw))
			}
			for _, ch := range w.Changes {
				if !contains(log.Kinds, ch.Field) {
					t.Errorf("kinds %v lack %q", log.Kinds, ch.Field)
				}
			}

			wantUnread := 0
			inbound := map[string]bool{}
			for _, ch := range w.Changes {
				for _, m := range ch.Messages {
					inbound[m.WAMID] = true
					got := e.mustMessage(t, tenant, m.WAMID)
					key := contactKey(m.From, m.FromUserID)
					if got.ID != domain.MessageID(tenant, m.WAMID) ||
						got.ConversationID != domain.ConversationID(tenant, key, ch.PhoneNumberID) {
						t.Errorf("%s: ids %s/%s are not the deterministic ones", m.WAMID, got.ID, got.ConversationID)
					}
					if got.Direction != "inbound" || got.Type != string(m.Type) || got.Status != "received" {
						t.Errorf("%s: direction %s type %s status %s, want inbound %s received",
							m.WAMID, got.Direction, got.Type, got.Status, m.Type)
					}
					if !jsonEqual(t, got.Content, m.Content) {
						t.Errorf("%s: content %s, want %s", m.WAMID, got.Content, m.Content)
					}
					if got.Preview != m.Preview {
						t.Errorf("%s: preview %q, want %q", m.WAMID, got.Preview, m.Preview)
					}
					if !m.Timestamp.IsZero() && !got.Timestamp.Equal(m.Timestamp) {
						t.Errorf("%s: timestamp %s, want %s", m.WAMID, got.Timestamp, m.Timestamp)
					}
					if m.Context != nil {
						if got.ReplyTo != m.Context.ID || got.Context == nil {
							t.Errorf("%s: reply_to %q context %s, want %q", m.WAMID, got.ReplyTo, got.Context, m.Context.ID)
						}
					}
					if len(m.Referral) > 0 && !jsonEqual(t, got.Referral, m.Referral) {
						t.Errorf("%s: referral %s, want %s", m.WAMID, got.Referral, m.Referral)
					}
					c, known := counts[string(m.Type)]
					if !known {
						t.Errorf("%s: no expectation for type %s", m.WAMID, m.Type)
					}
					if c {
						wantUnread++
					}
					if m.Type == domain.TypeEdit || m.Type == domain.TypeRevoke {
						target := e.mustMessage(t, tenant, m.TargetWAMID)
						switch {
						case m.Type == domain.TypeEdit && target.Edited == nil:
							t.Errorf("edit target %s has no edited", m.TargetWAMID)
						case m.Type == domain.TypeRevoke && (target.RevokedAt == nil || !target.RevokedAt.Equal(m.Timestamp)):
							t.Errorf("revoke target %s revoked_at %v, want %s", m.TargetWAMID, target.RevokedAt, m.Timestamp)
						}
						if target.Content != nil || target.Type != "unknown" {
							t.Errorf("target %s seen only through an edit: type %s content %s, want a placeholder",
								m.TargetWAMID, target.Type, target.Content)
						}
					}
				}
				for _, s := range ch.Statuses {
					if inbound[s.WAMID] {
						continue
					}
					got := e.mustMessage(t, tenant, s.WAMID)
					if got.Direction != "outbound" || got.Type != "unknown" || got.Content != nil {
						t.Errorf("%s: direction %s type %s content %s, want an outbound placeholder",
							s.WAMID, got.Direction, got.Type, got.Content)
					}
					if _, ok := got.Statuses[string(s.Status)]; !ok {
						t.Errorf("%s: statuses %v lack %s", s.WAMID, got.Statuses, s.Status)
					}
					if s.Status == domain.StatusFailed {
						if got.ErrorCode == nil || int(*got.ErrorCode) != s.Errors[0].Code || got.ErrorTitle == nil || *got.ErrorTitle != s.Errors[0].Title {
							t.Errorf("%s: failed without its error: code %v title %v", s.WAMID, got.ErrorCode, got.ErrorTitle)
						}
					}
					if s.Pricing != nil && got.Pricing == nil {
						t.Errorf("%s: pricing lost", s.WAMID)
					}
				}
				if ts := ch.TemplateStatus; ts != nil && ts.TemplateID != "" {
					var status, tname string
					err := e.pool.QueryRow(context.Background(),
						`SELECT status, name FROM templates WHERE tenant_id = $1 AND template_id = $2`,
						tenant, ts.TemplateID).Scan(&status, &tname)
					if err != nil || status != ts.Event || tname != ts.TemplateName {
						t.Errorf("template %s: status %q name %q (%v), want %q %q", ts.TemplateID, status, tname, err, ts.Event, ts.TemplateName)
					}
				}
			}
			// Conversations: one per contact and number; unread adds up the
			// messages users wrote.
			unread := 0
			for _, c := range e.conversations(t, tenant) {
				unread += c.Unread
				if c.Unread > 0 && (c.WindowExpiresAt == nil || c.LastInboundAt == nil ||
					!c.WindowExpiresAt.Equal(c.LastInboundAt.Add(24*time.Hour)) || c.Preview == "" && c.LastMessageAt == nil) {
					t.Errorf("conversation %+v: window or last message not set", c)
				}
				if c.Unread == 0 && (c.WindowExpiresAt != nil || c.LastMessageAt != nil) {
					t.Errorf("conversation %+v: window or last message set without a user message", c)
				}
			}
			if unread != wantUnread {
				t.Errorf("unread %d, want %d", unread, wantUnread)
			}
		})
	}
}

func TestInboxContactsAndConversation(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	r := e.start(t, Options{})
	tenant := uuid.NewString()
	e.publish(t, tenant, textWebhook("wamid.A", "16505551234", "Sheena", "first", 1739321000))
	e.publish(t, tenant, textWebhook("wamid.B", "16505551234", "Sheena Nelson", "second", 1739321100))
	// Older message delivered late: counted, but the last message stays.
	seq := e.publish(t, tenant, textWebhook("wamid.C", "16505551234", "", "late", 1739320000))
	mustWait(t, r, seq)

	cs := e.contacts(t, tenant)
	want := contactTestRow{ID: domain.ContactID(tenant, "16505551234"), WaID: "16505551234", Phone: "+16505551234", Profile: "Sheena Nelson"}
	if len(cs) != 1 || cs[0] != want {
		t.Fatalf("contacts %+v, want [%+v]", cs, want)
	}
	c := e.mustConversation(t, tenant)
	last := time.Unix(1739321100, 0)
	if c.Unread != 3 || c.Preview != "second" || !c.LastMessageAt.Equal(last) || !c.LastInboundAt.Equal(last) ||
		!c.WindowExpiresAt.Equal(last.Add(24*time.Hour)) || c.Status != "open" || c.PhoneNumberID != testPhoneNumberID ||
		c.ContactID != want.ID || c.LastSeq != int64(seq) {
		t.Errorf("conversation %+v", c)
	}

	// A closed conversation opens again on a new message.
	if _, err := e.pool.Exec(context.Background(), `UPDATE conversations SET status = 'closed', unread_count = 0`); err != nil {
		t.Fatal(err)
	}
	seq = e.publish(t, tenant, textWebhook("wamid.D", "16505551234", "", "again", 1739321200))
	mustWait(t, r, seq)
	c = e.mustConversation(t, tenant)
	if c.Status != "open" || c.Unread != 1 || c.Preview != "again" {
		t.Errorf("after a new message: %+v", c)
	}
}

// TestInboxRedelivery: Meta redelivers for days, long after JetStream's
// duplicate window, so the same webhook becomes several stream events.
func TestInboxRedelivery(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	r := e.start(t, Options{})
	tenant := uuid.NewString()
	raw := mustTestdata(t, "text")
	mustWait(t, r, e.publish(t, tenant, raw)) // one batch
	e.publish(t, tenant, raw)                 // the next two probably share one
	seq := e.publish(t, tenant, raw)
	mustWait(t, r, seq)

	if n := e.count(t, `SELECT count(*) FROM messages WHERE tenant_id = $1`, tenant); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if c := e.mustConversation(t, tenant); c.Unread != 1 {
		t.Errorf("unread %d, want 1", c.Unread)
	}
	if n := e.count(t, `SELECT count(*) FROM webhook_log WHERE tenant_id = $1`, tenant); n != 3 {
		t.Errorf("%d webhook_log rows, want 3: every delivery is logged", n)
	}
}

func TestInboxStatusOrder(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	r := e.start(t, Options{})
	const to = "16505551234"
	type step struct {
		status string
		at     int64
		code   int
	}
	tests := []struct {
		name      string
		steps     []step
		want      string
		wantTimes []string
		wantCode  int32
	}{
		{"backwards", []step{{"read", 300, 0}, {"delivered", 200, 0}, {"sent", 100, 0}}, "read", []string{"sent", "delivered", "read"}, 0},
		{"read without delivered", []step{{"sent", 100, 0}, {"read", 300, 0}}, "read", []string{"sent", "read"}, 0},
		{"failed is terminal", []step{{"sent", 100, 0}, {"failed", 200, 131026}, {"read", 300, 0}}, "failed", []string{"sent", "failed", "read"}, 131026},
		{"failed then read", []step{{"failed", 200, 131047}, {"read", 300, 0}}, "failed", []string{"failed", "read"}, 131047},
		{"second failure keeps the first error", []step{{"failed", 200, 131047}, {"failed", 300, 131026}}, "failed", []string{"failed"}, 131047},
		{"played", []step{{"delivered", 100, 0}, {"played", 300, 0}, {"read", 200, 0}}, "played", []string{"delivered", "read", "played"}, 0},
		{"unknown status kept aside", []step{{"sent", 100, 0}, {"warning", 200, 0}}, "sent", []string{"sent", "warning"}, 0},
	}
	for _, tt := range tests {
		// Each order once with a batch per event and once with all events in
		// one batch, where they are merged in memory.
		for _, oneBatch := range []bool{false, true} {
			name := tt.name + "/batch per event"
			if oneBatch {
				name = tt.name + "/one batch"
			}
			t.Run(name, func(t *testing.T) {
				tenant := uuid.NewString()
				wamid := "wamid.OUT" + uuid.NewString()
				const base = 1739321000
				var seq uint64
				for _, s := range tt.steps {
					seq = e.publish(t, tenant, statusWebhook(wamid, s.status, base+s.at, to, s.code, "title of error"))
					if !oneBatch {
						mustWait(t, r, seq)
					}
				}
				mustWait(t, r, seq)
				m := e.mustMessage(t, tenant, wamid)
				if m.Status != tt.want {
					t.Errorf("status %s, want %s", m.Status, tt.want)
				}
				var keys []string
				for k := range m.Statuses {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				want := slices.Sorted(slices.Values(tt.wantTimes))
				if !slices.Equal(keys, want) {
					t.Errorf("statuses %v, want keys %v", m.Statuses, want)
				}
				for _, s := range tt.steps {
					if m.Statuses[s.status] == "" {
						continue
					}
					at, err := time.Parse(time.RFC3339, m.Statuses[s.status])
					first := slices.IndexFunc(tt.steps, func(x step) bool { return x.status == s.status })
					if err != nil || at.Unix() != base+tt.steps[first].at {
						t.Errorf("statuses[%s] = %s, want the first sighting at %d", s.status, m.Statuses[s.status], base+tt.steps[first].at)
					}
				}
				if tt.wantCode != 0 {
					if m.ErrorCode == nil || *m.ErrorCode != tt.wantCode || m.ErrorTitle == nil || *m.ErrorTitle != "title of error" ||
						m.ErrorDetails == nil || !strings.Contains(*m.ErrorDetails, "details of") {
						t.Errorf("error %v %v %v, want code %d with title and details", m.ErrorCode, m.ErrorTitle, m.ErrorDetails, tt.wantCode)
					}
				} else if m.ErrorCode != nil {
					t.Errorf("error code %d on a message that did not fail", *m.ErrorCode)
				}
				if m.Pricing == nil || m.LastSeq != int64(seq) && tt.want != "failed" {
					t.Errorf("pricing %s last_seq %d (last event %d)", m.Pricing, m.LastSeq, seq)
				}
				// A placeholder sorts at its earliest status.
				if m.Timestamp.Unix() != base+slices.MinFunc(tt.steps, func(a, b step) int { return int(a.at - b.at) }).at {
					t.Errorf("placeholder timestamp %s", m.Timestamp)
				}
				// Statuses do not count as messages of the conversation.
				if c := e.mustConversation(t, tenant); c.Unread != 0 || c.LastMessageAt != nil {
					t.Errorf("conversation %+v changed by statuses", c)
				}
			})
		}
	}
}

// TestInboxPlaceholderCompleted: Meta delivers out of order; whatever arrives
// first makes the row, and the rest completes it.
func TestInboxPlaceholderCompleted(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	r := e.start(t, Options{})
	const from = "16505551234"

	t.Run("status before content", func(t *testing.T) {
		tenant := uuid.NewString()
		mustWait(t, r, e.publish(t, tenant, statusWebhook("wamid.X", "read", 1739321050, from, 0, "")))
		m := e.mustMessage(t, tenant, "wamid.X")
		if m.Type != "unknown" || m.Content != nil || m.Status != "read" {
			t.Fatalf("placeholder %+v", m)
		}
		mustWait(t, r, e.publish(t, tenant, textWebhook("wamid.X", from, "Sheena", "hello", 1739321000)))
		m = e.mustMessage(t, tenant, "wamid.X")
		if m.Type != "text" || !jsonEqual(t, m.Content, []byte(`{"body":"hello"}`)) || m.Preview != "hello" ||
			m.Status != "read" || m.Statuses["read"] == "" || m.Timestamp.Unix() != 1739321000 {
			t.Errorf("completed %+v", m)
		}
		if c := e.mustConversation(t, tenant); c.Unread != 1 || c.Preview != "hello" {
			t.Errorf("conversation %+v", c)
		}
	})

	t.Run("edit and revoke before the original", func(t *testing.T) {
		tenant := uuid.NewString()
		edit := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
"metadata":{"phone_number_id":"123456123"},"messages":[
{"from":"16505551234","id":"wamid.EDIT","timestamp":"1739321100","type":"edit","edit":{"original_message_id":"wamid.ORIG","message":{"type":"text","text":{"body":"fixed"}}}},
{"from":"16505551234","id":"wamid.REVOKE","timestamp":"1739321200","type":"revoke","revoke":{"original_message_id":"wamid.ORIG"}}]}}]}]}`)
		mustWait(t, r, e.publish(t, tenant, edit))
		mustWait(t, r, e.publish(t, tenant, textWebhook("wamid.ORIG", from, "Sheena", "typo", 1739321000)))
		m := e.mustMessage(t, tenant, "wamid.ORIG")
		if m.Type != "text" || m.Preview != "typo" || m.Edited == nil || m.RevokedAt == nil || m.RevokedAt.Unix() != 1739321200 {
			t.Errorf("original %+v", m)
		}
		var edited struct {
			WAMID   string          `json:"wamid"`
			Content json.RawMessage `json:"content"`
		}
		if err := json.Unmarshal(m.Edited, &edited); err != nil || edited.WAMID != "wamid.EDIT" || !strings.Contains(string(edited.Content), "fixed") {
			t.Errorf("edited %s (%v)", m.Edited, err)
		}
		if c := e.mustConversation(t, tenant); c.Unread != 1 {
			t.Errorf("unread %d, want 1: the edit and the revoke are no messages of their own", c.Unread)
		}
	})
}

func TestInboxUndecodableAndUnrouted(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	r := e.start(t, Options{})
	tenant := uuid.NewString()

	tests := []struct {
		name       string
		event      streams.Event
		wantTenant bool
		wantResult string
		wantKinds  []string
		wantPhones []string
	}{
		{
			name: "not JSON",
			event: streams.Event{Tenant: tenant, Type: streams.TypeWebhookMeta, Data: []byte("<html>oops"),
				Header: nats.Header{streams.HeaderUndecodable: []string{"true"}}},
			wantTenant: true, wantResult: DecodeUndecodable,
		},
		{
			name:       "JSON but no webhook",
			event:      streams.Event{Tenant: tenant, Type: streams.TypeWebhookMeta, Data: []byte(`[1,2]`)},
			wantTenant: true, wantResult: DecodeUndecodable,
		},
		{
			name:       "unrouted",
			event:      streams.Event{Tenant: streams.Unrouted, Type: streams.TypeWebhookMeta, Data: mustTestdata(t, "text")},
			wantResult: DecodeOK, wantKinds: []string{"messages"}, wantPhones: []string{testPhoneNumberID},
		},
		{
			name:       "unrouted statuses",
			event:      streams.Event{Tenant: streams.Unrouted, Type: streams.TypeWebhookMeta, Data: mustTestdata(t, "status_read")},
			wantResult: DecodeOK, wantKinds: []string{"messages", "statuses"}, wantPhones: []string{testPhoneNumberID},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.count(t, `SELECT count(*) FROM messages`) + e.count(t, `SELECT count(*) FROM contacts`) +
				e.count(t, `SELECT count(*) FROM conversations`)
			received := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
			tt.event.OccurredAt = received
			seq := e.publishEvent(t, tt.event)
			mustWait(t, r, seq)
			log := e.mustWebhookLog(t, seq)
			if (log.TenantID != nil) != tt.wantTenant || log.Result != tt.wantResult ||
				!slices.Equal(log.Kinds, tt.wantKinds) && len(tt.wantKinds) > 0 ||
				!slices.Equal(log.PhoneNumberIDs, tt.wantPhones) && len(tt.wantPhones) > 0 ||
				log.Size != len(tt.event.Data) || !log.ReceivedAt.Equal(received) {
				t.Errorf("webhook_log %+v", log)
			}
			if tt.wantResult == DecodeUndecodable && log.Error == "" {
				t.Error("undecodable without a decode_error")
			}
			after := e.count(t, `SELECT count(*) FROM messages`) + e.count(t, `SELECT count(*) FROM contacts`) +
				e.count(t, `SELECT count(*) FROM conversations`)
			if after != before {
				t.Errorf("read models changed: %d rows before, %d after", before, after)
			}
		})
	}
}

func TestInboxPartialWebhook(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	r := e.start(t, Options{})
	tenant := uuid.NewString()
	seq := e.publish(t, tenant, mustTestdata(t, "partial"))
	// A message without any sender cannot belong to a conversation.
	noSender := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
"metadata":{"phone_number_id":"123456123"},"messages":[{"id":"wamid.NOBODY","timestamp":"1739321000","type":"text","text":{"body":"?"}}]}}]}]}`)
	seq2 := e.publish(t, tenant, noSender)
	mustWait(t, r, seq2)

	log := e.mustWebhookLog(t, seq)
	if log.Result != DecodePartial || log.Error == "" {
		t.Errorf("webhook_log %+v, want partial with the problems", log)
	}
	if _, ok := e.message(t, tenant, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQPARTIALOKAA=="); !ok {
		t.Error("the well-formed message of a partial webhook was not projected")
	}
	log = e.mustWebhookLog(t, seq2)
	if log.Result != DecodePartial || !strings.Contains(log.Error, "no sender") {
		t.Errorf("webhook_log %+v, want partial: no sender", log)
	}
	if _, ok := e.message(t, tenant, "wamid.NOBODY"); ok {
		t.Error("message without a sender projected")
	}
}

func TestInboxTenantIsolation(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	r := e.start(t, Options{})
	a, b := uuid.NewString(), uuid.NewString()
	raw := mustTestdata(t, "text")
	e.publish(t, a, raw)
	mustWait(t, r, e.publish(t, b, raw))

	const wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQTEXTAA=="
	ma, mb := e.mustMessage(t, a, wamid), e.mustMessage(t, b, wamid)
	ca, cb := e.mustConversation(t, a), e.mustConversation(t, b)
	ka, kb := e.contacts(t, a), e.contacts(t, b)
	if ma.ID == mb.ID || ca.ID == cb.ID || len(ka) != 1 || len(kb) != 1 || ka[0].ID == kb[0].ID {
		t.Errorf("tenants share rows: messages %s %s, conversations %s %s, contacts %+v %+v", ma.ID, mb.ID, ca.ID, cb.ID, ka, kb)
	}
	if ca.Unread != 1 || cb.Unread != 1 {
		t.Errorf("unread %d and %d, want 1 each", ca.Unread, cb.Unread)
	}
}

func TestInboxLiveNotifications(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	tenant := uuid.NewString()
	sub, err := e.nc.SubscribeSync(streams.LiveSubject(tenant, ">"))
	if err != nil {
		t.Fatal(err)
	}
	r := e.start(t, Options{})
	seq := e.publish(t, tenant, mustTestdata(t, "text"))
	mustWait(t, r, seq)

	got := map[string]map[string]any{}
	for len(got) < 2 {
		msg, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("notifications %v: %v", got, err)
		}
		var body map[string]any
		if err := json.Unmarshal(msg.Data, &body); err != nil {
			t.Fatal(err)
		}
		got[msg.Subject] = body
	}
	m := got[streams.LiveSubject(tenant, "message")]
	c := got[streams.LiveSubject(tenant, "conversation")]
	wantConv := domain.ConversationID(tenant, "16505551234", testPhoneNumberID).String()
	if m["id"] != domain.MessageID(tenant, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQTEXTAA==").String() ||
		m["conversation_id"] != wantConv || m["seq"] != float64(seq) {
		t.Errorf("message notification %v", m)
	}
	if c["id"] != wantConv || c["seq"] != float64(seq) {
		t.Errorf("conversation notification %v", c)
	}
}
