package projections

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/streams"
)

// bulkStream is a stream of tenant whose rows the bulk path must merge as
// the statements do: hundreds of generated webhooks (every message type,
// files, reactions, statuses of outbound messages, failures) with, spread
// over it, a message delivered three times (twice the same body, once
// another), statuses out of order (read, then sent, then delivered; a
// failure between), a status and an edit before their message, a send
// whose status comes before its request and acceptance, a customer's file
// and its download, an agent reading the conversation in between, and an
// adopted webhook copied twice (the second is not logged).
func bulkStream(tb testing.TB, tenant string) []replayEvent {
	tb.Helper()
	const c1 = "16505551234"
	conv := domain.ConversationID(tenant, c1, testPhoneNumberID)
	sent := uuid.New()
	jsonOf := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	at := time.Unix(1739321000, 0).UTC()
	image := msgWebhook(c1, "Ann", `{"from":"16505551234","id":"wamid.IMG","timestamp":"1739321003","type":"image",`+
		`"image":{"id":"88001","mime_type":"image/jpeg","sha256":"abc="}}`)
	adopted := webhookEvent(textWebhook("wamid.ADOPTED", c1, "Ann", "came unrouted", 1739321004))
	adopted.header = nats.Header{streams.HeaderAdoptedFrom: {"3"}}
	crafted := [][]replayEvent{
		{
			webhookEvent(textWebhook("wamid.DUP", c1, "Ann", "first copy", 1739321001)),
			webhookEvent(statusWebhook("wamid.OUT1", "read", 1739321030, c1, 0, "")),
			webhookEvent(msgWebhook(c1, "Ann", editMessage("wamid.EDIT", "wamid.LATE", "edited before it came", 1739321040))),
			webhookEvent(withStatusField(statusWebhook("wamid.SENT", "delivered", 1739321050, c1, 0, ""),
				"biz_opaque_callback_data", fmt.Sprintf("%q", domain.CallbackData(sent)))),
			webhookEvent(image),
		},
		{
			webhookEvent(textWebhook("wamid.DUP", c1, "Ann", "first copy", 1739321001)),
			webhookEvent(statusWebhook("wamid.OUT1", "sent", 1739321010, c1, 0, "")),
			{typ: domain.EventRead, data: jsonOf(domain.ConversationEvent{ConversationID: conv, At: at.Add(time.Minute)})},
			{typ: domain.EventSendRequested, data: jsonOf(domain.SendRequested{MessageID: sent, ConversationID: conv, PhoneNumberID: testPhoneNumberID,
				To: c1, Message: domain.Outbound{Type: domain.TypeText, Text: &domain.OutText{Body: "our answer"}}, At: at.Add(45 * time.Second)})},
			adopted,
			webhookEvent(statusWebhook("wamid.OUT2", "failed", 1739321060, c1, 131026, "Message undeliverable")),
		},
		{
			webhookEvent(textWebhook("wamid.DUP", c1, "Ann", "another body, same wamid", 1739321002)),
			webhookEvent(statusWebhook("wamid.OUT1", "delivered", 1739321020, c1, 0, "")),
			webhookEvent(textWebhook("wamid.LATE", c1, "Ann", "came after its edit", 1739321035)),
			{typ: domain.EventAccepted, data: jsonOf(domain.SendOutcome{MessageID: sent, ConversationID: conv, WAMID: "wamid.SENT",
				MessageStatus: "accepted", At: at.Add(46 * time.Second)})},
			{typ: domain.EventMediaStored, data: jsonOf(domain.MediaStored{MediaID: domain.MediaID(tenant, "wamid.IMG"), MimeType: "image/jpeg",
				Size: 1234, SHA256: "00ff", At: at.Add(2 * time.Minute)})},
			adopted,
			webhookEvent(statusWebhook("wamid.OUT2", "sent", 1739321055, c1, 0, "")),
		},
	}
	gen := meta.NewWebhookGen(testPhoneNumberID, "+1 555-078-3881", "102290129340398", 11).WithSenders(12)
	var evs []replayEvent
	for _, part := range crafted {
		for range 300 {
			body, _, _ := gen.Next()
			evs = append(evs, webhookEvent(body))
		}
		evs = append(evs, part...)
	}
	return evs
}

// TestBulkEqualsNormal: the bulk path (Options.Bulk) makes, row for row and
// column for column, the read models the normal path makes of the same
// stream cut into the same batches: in one batch (every row new, copied
// in, the agent's read splitting it in two runs), and in batches of 250
// (rows of earlier batches merged by the statements, the rest copied).
// And it copies in what it should.
func TestBulkEqualsNormal(t *testing.T) {
	t.Parallel()
	tenant := uuid.NewString()
	evs := bulkStream(t, tenant)
	for _, batch := range []int{2000, 250} {
		t.Run(fmt.Sprint("batches of ", batch), func(t *testing.T) {
			t.Parallel()
			want, normal := mustReplayWith(t, tenant, evs, Options{MaxBatch: batch}, nil)
			got, bulk := mustReplayWith(t, tenant, evs, Options{MaxBatch: batch, Bulk: true}, nil)
			if normal.Copied() != 0 || bulk.Copied() < 600 {
				t.Errorf("rows copied: normal %d, bulk %d; want none and more than the webhooks", normal.Copied(), bulk.Copied())
			}
			for _, s := range []string{`"body": "first copy"`, `"status": "read"`, `"error_code": 131026`, `"wamid": "wamid.SENT"`,
				`"message_status": "accepted"`, `"status": "stored"`, `"edited": {`, `"unread_count": `, `"adopted_from": 3`} {
				if !strings.Contains(want, s) {
					t.Errorf("the stream's read models lack %s: the test does not test what it says", s)
				}
			}
			diffDumps(t, "normal", want, "bulk", got)
		})
	}
}
