package projections

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
)

func mediaReplay(tb testing.TB, typ string, v any) replayEvent {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return replayEvent{typ: typ, data: b}
}

func imageMessage(wamid, mediaID, sha string) string {
	return fmt.Sprintf(`{"from":"16505551234","id":%q,"timestamp":"1739321000","type":"image","image":{"caption":"blue","mime_type":"image/jpeg","sha256":%q,"id":%q}}`,
		wamid, sha, mediaID)
}

// TestInboxMediaAnyBatching: a customer's file is pending from its webhook
// on, stored or failed by the outcome events, shown on its message, and
// the same however batches are cut: a redelivered webhook changes
// nothing, and a file stored after a failure is stored.
func TestInboxMediaAnyBatching(t *testing.T) {
	t.Parallel()
	const from = "16505551234"
	// mustReplay names its tenant; the media ids derive from it, so the
	// outcomes find their rows through mediaID below.
	for name, tc := range map[string]struct {
		evs  func(tenant string) []replayEvent
		want []string
	}{
		"pending": {func(string) []replayEvent {
			return []replayEvent{webhookEvent(msgWebhook(from, "Ann", imageMessage("wamid.I", "1001", "c2hh")))}
		}, []string{`"status": "pending"`, `"meta_media_id": "1001"`, `"media": {"id": "`, `"phone_number_id": "` + testPhoneNumberID + `"`}},
		"stored, then the webhook again": {func(tenant string) []replayEvent {
			id := domain.MediaID(tenant, "wamid.I")
			return []replayEvent{
				webhookEvent(msgWebhook(from, "Ann", imageMessage("wamid.I", "1001", "c2hh"))),
				mediaReplay(t, domain.EventMediaStored, domain.MediaStored{MediaID: id, MimeType: "image/jpeg", Size: 1234, SHA256: "abcd"}),
				webhookEvent(msgWebhook(from, "Ann", imageMessage("wamid.I", "1001", "c2hh"))),
			}
		}, []string{`"media": {"id": "`, `"size": 1234, "status": "stored", "mime_type": "image/jpeg"}`, `"sha256": "abcd"`}},
		"failed, then stored": {func(tenant string) []replayEvent {
			id := domain.MediaID(tenant, "wamid.I")
			return []replayEvent{
				webhookEvent(msgWebhook(from, "Ann", imageMessage("wamid.I", "1001", "c2hh"))),
				mediaReplay(t, domain.EventMediaFailed, domain.MediaFailed{MediaID: id, Error: "sha256 mismatch", Attempts: 1}),
				mediaReplay(t, domain.EventMediaStored, domain.MediaStored{MediaID: id, MimeType: "image/jpeg", Size: 99, SHA256: "abcd"}),
				mediaReplay(t, domain.EventMediaFailed, domain.MediaFailed{MediaID: id, Error: "late", Attempts: 2}),
			}
		}, []string{`"size": 99, "status": "stored"`, `"error": ""`}},
		"failed": {func(tenant string) []replayEvent {
			id := domain.MediaID(tenant, "wamid.I")
			return []replayEvent{
				webhookEvent(msgWebhook(from, "Ann", imageMessage("wamid.I", "1001", "c2hh"))),
				mediaReplay(t, domain.EventMediaFailed, domain.MediaFailed{MediaID: id, Error: "sha256 mismatch", Attempts: 1}),
			}
		}, []string{`"error": "sha256 mismatch", "status": "failed"`, `"status": "failed"`}},
		"upload": {func(string) []replayEvent {
			id := uuid.MustParse("0195a3c4-0000-7000-8000-000000000001")
			return []replayEvent{mediaReplay(t, domain.EventMediaUploaded, domain.MediaUploaded{
				MediaID: id, Type: domain.TypeImage, MimeType: "image/png", Size: 10, SHA256: "ff", At: time.Now()})}
		}, []string{`"direction": "outbound"`, `"status": "stored"`, `"size": 10`}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tenant := uuid.NewString()
			evs := tc.evs(tenant)
			one := mustReplay(t, tenant, evs, 1, bookkeeping)
			all := mustReplay(t, tenant, evs, 2000, bookkeeping)
			if one != all {
				t.Errorf("one by one:\n%s\none batch:\n%s", one, all)
			}
			for _, w := range tc.want {
				if !strings.Contains(one, w) {
					t.Errorf("want %s in:\n%s", w, one)
				}
			}
			if strings.Contains(one, `"projector": "inbox"`) {
				t.Errorf("parked:\n%s", one)
			}
		})
	}
}
