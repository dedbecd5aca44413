package projections

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
)

const testWABA = "102290129340398" // of templateWebhook

// tmplT0 is the time of the template tests' first fact, in Unix seconds.
const tmplT0 = 1739321000

func tmplAt(sec int64) time.Time { return time.Unix(tmplT0+sec, 0).UTC() }

func tmplInfo(id, name, status, body string) domain.TemplateInfo {
	comps, _ := json.Marshal([]map[string]string{{"type": "BODY", "text": body}})
	return domain.TemplateInfo{ID: id, Name: name, Language: "en_US", Status: status, Category: "UTILITY", Components: comps}
}

// syncEvent is a complete listing at tmplT0+sec of the templates given.
func syncEvent(sec int64, ts ...domain.TemplateInfo) replayEvent { return syncAt(tmplAt(sec), ts...) }

// syncAt is a complete listing asked for at at.
func syncAt(at time.Time, ts ...domain.TemplateInfo) replayEvent {
	s := domain.TemplateSynced{WABAID: testWABA, SyncID: uuid.New(), Part: 1, Templates: ts, Complete: true, Listed: []string{}, At: at}
	for _, t := range ts {
		s.Listed = append(s.Listed, t.ID)
	}
	b, _ := json.Marshal(s)
	return replayEvent{typ: domain.EventTemplateSynced, data: b}
}

// syncParts is a listing at tmplT0+sec published in one event a template.
func syncParts(sec int64, ts ...domain.TemplateInfo) []replayEvent {
	id := uuid.New()
	var out []replayEvent
	var listed []string
	for i, t := range ts {
		listed = append(listed, t.ID)
		s := domain.TemplateSynced{WABAID: testWABA, SyncID: id, Part: i + 1, Templates: []domain.TemplateInfo{t}, At: tmplAt(sec)}
		if i == len(ts)-1 {
			s.Complete, s.Listed = true, listed
		}
		b, _ := json.Marshal(s)
		out = append(out, replayEvent{typ: domain.EventTemplateSynced, data: b})
	}
	return out
}

func createdEvent(sec int64, t domain.TemplateInfo) replayEvent {
	b, _ := json.Marshal(domain.TemplateCreated{WABAID: testWABA, Template: t, At: tmplAt(sec)})
	return replayEvent{typ: domain.EventTemplateCreated, data: b}
}

func deletedEvent(sec int64, name string) replayEvent {
	b, _ := json.Marshal(domain.TemplateDeleted{WABAID: testWABA, Name: name, At: tmplAt(sec)})
	return replayEvent{typ: domain.EventTemplateDeleted, data: b}
}

func statusEvent(sec int64, id, name, status string) replayEvent {
	return webhookEvent(templateWebhook(id, name, status, tmplT0+sec))
}

// templateLine is the dump line of template id.
func templateLine(tb testing.TB, dump, id string) map[string]any {
	tb.Helper()
	for _, line := range strings.Split(dump, "\n") {
		var row map[string]any
		if json.Unmarshal([]byte(line), &row) == nil && row["template_id"] == id {
			return row
		}
	}
	tb.Fatalf("no template %s in\n%s", id, dump)
	return nil
}

// mustReplayTemplates replays evs one by one, two and three at a time and
// in one batch, so that listings and deletions meet rows both of earlier
// batches (marked in SQL) and of their own (marked in memory), and fails
// the test where any two differ in any column.
func mustReplayTemplates(tb testing.TB, evs []replayEvent) string {
	tb.Helper()
	tenant := uuid.NewString()
	one := mustReplay(tb, tenant, evs, 1, nil)
	for _, n := range []int{2, 3, len(evs)} {
		if got := mustReplay(tb, tenant, evs, n, nil); got != one {
			tb.Errorf("batches of %d differ from one by one:\n%s\nwant\n%s", n, got, one)
		}
	}
	return one
}

// TestTemplatesAnyBatching: listings, creations, deletions and status
// updates give the same rows however they are cut into batches, whatever
// order they arrive in.
func TestTemplatesAnyBatching(t *testing.T) {
	t.Parallel()
	type want struct {
		id, status string
		deleted    bool
		components string // a part of them; "" checks nothing
	}
	for name, tc := range map[string]struct {
		evs  []replayEvent
		want []want
	}{
		"a listing, then updates newer and older": {
			evs: []replayEvent{
				syncEvent(0, tmplInfo("123", "promo", "APPROVED", "Hi {{1}}"), tmplInfo("124", "order", "PENDING", "Order {{1}}")),
				statusEvent(10, "124", "order", "APPROVED"),
				statusEvent(-100, "123", "promo", "PAUSED"), // older than the listing: ignored
			},
			want: []want{{"123", "APPROVED", false, "Hi {{1}}"}, {"124", "APPROVED", false, "Order {{1}}"}},
		},
		"an update in the second a listing was asked for": {
			evs: []replayEvent{
				syncAt(tmplAt(0).Add(700*time.Millisecond), tmplInfo("125", "promo", "APPROVED", "Hi")),
				statusEvent(0, "125", "promo", "PAUSED"), // Meta's entry time has no fraction of a second
			},
			want: []want{{"125", "PAUSED", false, "Hi"}},
		},
		"two listings in one second": {
			evs: []replayEvent{
				syncAt(tmplAt(0).Add(100*time.Millisecond), tmplInfo("126", "drop", "APPROVED", "Hi"), tmplInfo("127", "keep", "APPROVED", "Hi")),
				syncAt(tmplAt(0).Add(500*time.Millisecond), tmplInfo("127", "keep", "APPROVED", "Hi")),
			},
			want: []want{{"126", "APPROVED", true, ""}, {"127", "APPROVED", false, "Hi"}},
		},
		"an approval before the creation it approves": {
			evs: []replayEvent{
				statusEvent(0, "130", "welcome", "APPROVED"),
				createdEvent(1, tmplInfo("130", "welcome", "PENDING", "Welcome {{1}}")), // provisional: the approval stands
			},
			want: []want{{"130", "APPROVED", false, "Welcome {{1}}"}},
		},
		"a creation approved in the same second": {
			evs: []replayEvent{
				createdEvent(1, tmplInfo("131", "welcome", "PENDING", "Welcome {{1}}")),
				statusEvent(0, "131", "welcome", "REJECTED"), // Meta's clock a little behind ours
			},
			want: []want{{"131", "REJECTED", false, "Welcome"}},
		},
		"a template listed no more, late news of it, listed again": {
			evs: []replayEvent{
				statusEvent(-5, "99", "old", "APPROVED"), // known before any listing
				syncEvent(0, tmplInfo("123", "promo", "APPROVED", "Hi"), tmplInfo("124", "order", "APPROVED", "Order")),
				syncEvent(100, tmplInfo("124", "order", "APPROVED", "Order, v2")),
				statusEvent(50, "123", "promo", "PAUSED"), // before the second listing: still gone
				syncEvent(200, tmplInfo("124", "order", "APPROVED", "Order, v2")),
				syncEvent(300, tmplInfo("123", "promo", "APPROVED", "Hi again"), tmplInfo("124", "order", "APPROVED", "Order, v3")),
			},
			want: []want{{"123", "APPROVED", false, "Hi again"}, {"124", "APPROVED", false, "v3"}, {"99", "APPROVED", true, ""}},
		},
		"a listing asked for before a creation, stored after it": {
			evs: []replayEvent{
				createdEvent(5, tmplInfo("160", "fresh", "PENDING", "Fresh")),
				syncEvent(0, tmplInfo("123", "promo", "APPROVED", "Hi")),
			},
			want: []want{{"160", "PENDING", false, "Fresh"}, {"123", "APPROVED", false, "Hi"}},
		},
		"a deletion, then late news": {
			evs: []replayEvent{
				createdEvent(0, tmplInfo("140", "promo", "PENDING", "Promo")),
				statusEvent(10, "140", "promo", "APPROVED"),
				statusEvent(0, "141", "promo", "APPROVED"), // the same name in another language
				deletedEvent(20, "promo"),
				statusEvent(15, "140", "promo", "PAUSED"),
			},
			want: []want{{"140", "PAUSED", true, "Promo"}, {"141", "APPROVED", true, ""}},
		},
		"a DELETED update": {
			evs: []replayEvent{
				syncEvent(0, tmplInfo("150", "bye", "APPROVED", "Bye")),
				statusEvent(10, "150", "bye", "DELETED"),
			},
			want: []want{{"150", "DELETED", true, "Bye"}},
		},
		"a listing in parts": {
			evs: append([]replayEvent{syncEvent(0, tmplInfo("170", "gone", "APPROVED", "Gone"))},
				syncParts(100, tmplInfo("171", "a", "APPROVED", "A"), tmplInfo("172", "b", "REJECTED", "B"), tmplInfo("173", "c", "APPROVED", "C"))...),
			want: []want{{"170", "APPROVED", true, ""}, {"171", "APPROVED", false, "A"}, {"172", "REJECTED", false, "B"}, {"173", "APPROVED", false, "C"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dump := mustReplayTemplates(t, tc.evs)
			if strings.Contains(dump, `"projector": "inbox"`) {
				t.Errorf("parked:\n%s", dump)
			}
			for _, w := range tc.want {
				row := templateLine(t, dump, w.id)
				comps, _ := json.Marshal(row["components"])
				if row["status"] != w.status || row["deleted"] != w.deleted || !strings.Contains(string(comps), w.components) {
					t.Errorf("template %s: status %v, deleted %v, components %s; want %s, %v, %q",
						w.id, row["status"], row["deleted"], comps, w.status, w.deleted, w.components)
				}
			}
		})
	}
}

// TestTemplateSyncsAnyBatching: the latest complete listing of each WABA
// is recorded, with its count, however batches are cut.
func TestTemplateSyncsAnyBatching(t *testing.T) {
	t.Parallel()
	dump := mustReplayTemplates(t, []replayEvent{
		syncEvent(100, tmplInfo("1", "a", "APPROVED", "A"), tmplInfo("2", "b", "APPROVED", "B")),
		syncEvent(50, tmplInfo("1", "a", "APPROVED", "A")), // older, stored later
	})
	want := tmplAt(100).Format("2006-01-02T15:04:05+00:00")
	for _, line := range strings.Split(dump, "\n") {
		var row struct {
			WABAID    string  `json:"waba_id"`
			SyncedAt  string  `json:"synced_at"`
			Templates float64 `json:"templates"`
		}
		if json.Unmarshal([]byte(line), &row) == nil && row.WABAID != "" && row.Templates > 0 {
			if row.SyncedAt != want || row.Templates != 2 {
				t.Errorf("synced at %s with %v templates, want %s with 2", row.SyncedAt, row.Templates, want)
			}
			return
		}
	}
	t.Errorf("no template_syncs row in\n%s", dump)
}

// TestTemplateEventsStorable: text PostgreSQL cannot store in Meta's
// listing is made storable, not parked.
func TestTemplateEventsStorable(t *testing.T) {
	t.Parallel()
	bad := tmplInfo("180", "bad\x00name", "APPROVED", "x")
	bad.Components = json.RawMessage(`[{"type":"BODY","text":"a\u0000b \ud800"}]`)
	dump := mustReplayTemplates(t, []replayEvent{syncEvent(0, bad)})
	row := templateLine(t, dump, "180")
	comps, _ := json.Marshal(row["components"])
	if row["name"] != "bad\uFFFDname" || !strings.Contains(string(comps), "a\uFFFDb \uFFFD") || strings.Contains(dump, `"projector": "inbox"`) {
		t.Errorf("stored %v with components %s:\n%s", row["name"], comps, dump)
	}
}
