package projections

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

// The inbox projector merges a batch in memory per row and writes it with
// set-based SQL; replaying the stream must give the same read models
// whatever the batch boundaries. The tests here apply the same events in
// batches of one and in one batch, through the Runner's commit path (so
// that parking takes part), and compare every read model row by row.

// replayEvent is one event of a replayed stream.
type replayEvent struct {
	typ    string
	data   []byte
	header nats.Header
}

func webhookEvent(body []byte) replayEvent {
	return replayEvent{typ: streams.TypeWebhookMeta, data: body}
}

// mustReplay applies evs, all of tenant, to a fresh database in batches of
// at most maxBatch events, and returns a dump of the read models without the
// columns named in ignore.
func mustReplay(tb testing.TB, tenant string, evs []replayEvent, maxBatch int, ignore []string) string {
	tb.Helper()
	dump, _ := mustReplayWith(tb, tenant, evs, Options{MaxBatch: maxBatch}, ignore)
	return dump
}

// mustReplayWith is mustReplay with a runner of opts, which it returns.
func mustReplayWith(tb testing.TB, tenant string, evs []replayEvent, opts Options, ignore []string) (string, *Runner) {
	tb.Helper()
	pool := pgtest.New(tb)
	ctx := context.Background()
	// No NATS: the commit path is all this needs.
	r := &Runner{pool: pool, proj: Inbox{}, log: slog.New(slog.DiscardHandler),
		opts: opts.withDefaults(), moved: make(chan struct{})}
	maxBatch := r.opts.MaxBatch
	conn, err := r.lock(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := db.New(pool).EnsureCheckpoint(ctx, r.proj.Name()); err != nil {
		tb.Fatal(err)
	}
	base := time.Date(2025, 2, 12, 10, 0, 0, 0, time.UTC)
	for start := 0; start < len(evs); start += maxBatch {
		var b batch
		for i := start; i < min(start+maxBatch, len(evs)); i++ {
			e := evs[i]
			b.events = append(b.events, &Event{
				Seq: uint64(i + 1), Subject: streams.Subject(tenant, e.typ), Tenant: tenant, Type: e.typ,
				ReceivedAt: base.Add(time.Duration(i) * time.Second), Data: e.data, Header: e.header,
			})
		}
		b.lastSeq = b.events[len(b.events)-1].Seq
		r.prepare(b.events)
		if _, _, err := r.commit(ctx, &b, conn.PgConn().PID()); err != nil {
			tb.Fatal(err)
		}
		r.advance(b.lastSeq)
	}
	return mustDumpReadModels(tb, pool, ignore), r
}

// mustDumpReadModels returns every row of the read models (and the parked
// events), one JSON object a line, in a fixed order, without the columns
// named in ignore.
func mustDumpReadModels(tb testing.TB, pool *pgxpool.Pool, ignore []string) string {
	tb.Helper()
	var sb strings.Builder
	for _, q := range []string{
		`SELECT to_jsonb(x) FROM contacts x ORDER BY id`,
		`SELECT to_jsonb(x) FROM conversations x ORDER BY id`,
		`SELECT to_jsonb(x) FROM messages x ORDER BY id`,
		`SELECT to_jsonb(x) FROM templates x ORDER BY template_id`,
		`SELECT to_jsonb(x) FROM template_syncs x ORDER BY tenant_id, waba_id`,
		`SELECT to_jsonb(x) FROM notes x ORDER BY id`,
		`SELECT to_jsonb(x) FROM media x ORDER BY id`,
		`SELECT to_jsonb(x) FROM webhook_log x ORDER BY seq`,
		`SELECT to_jsonb(x) - 'parked_at' FROM parked_events x ORDER BY seq`,
	} {
		rows, err := pool.Query(context.Background(), "SELECT j - coalesce($1::text[], '{}') FROM ("+q+") AS d(j)", ignore)
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				tb.Fatal(err)
			}
			sb.WriteString(s + "\n")
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		sb.WriteString("--\n")
	}
	return sb.String()
}

// mustReplayAnyBatching replays evs event by event and in one batch, fails
// the test where the read models differ (but for the columns named in
// ignore), and returns the dump.
func mustReplayAnyBatching(tb testing.TB, evs []replayEvent, ignore ...string) string {
	tb.Helper()
	tenant := uuid.NewString()
	one := mustReplay(tb, tenant, evs, 1, ignore)
	all := mustReplay(tb, tenant, evs, 2000, ignore)
	diffDumps(tb, "one by one", one, "one batch", all)
	return one
}

// diffDumps fails the test with each line where dumps a and b differ.
func diffDumps(tb testing.TB, nameA, a, nameB, b string) {
	tb.Helper()
	if a == b {
		return
	}
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(la), len(lb)) {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			tb.Errorf("line %d differs:\n %s: %s\n %s: %s", i, nameA, x, nameB, y)
		}
	}
}

// bookkeeping are the columns that say when and by which event a row last
// changed. They still depend on batching: a batch merges a row's events into
// one write that takes the time and sequence of the last of them, even when
// that one changed nothing.
var bookkeeping = []string{"created_at", "updated_at", "last_seq"}

// templateWebhook is a template status update of WABA 102290129340398 at
// Unix time at.
func templateWebhook(id, name, event string, at int64) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":%d,"changes":[{"field":"message_template_status_update","value":{"event":%q,"message_template_id":%s,"message_template_name":%q,"message_template_language":"en_US","reason":null}}]}]}`,
		at, event, id, name)
}

// TestInboxTemplateUpdatesAnyBatching: an older template update delivered
// late is ignored, and an update without a name keeps the known one, in one
// batch as across batches.
func TestInboxTemplateUpdatesAnyBatching(t *testing.T) {
	t.Parallel()
	for name, evs := range map[string][]replayEvent{
		"older update later": {
			webhookEvent(templateWebhook("123", "promo", "APPROVED", 1739321200)),
			webhookEvent(templateWebhook("123", "promo", "PENDING", 1739321100)),
		},
		"update without a name": {
			webhookEvent(templateWebhook("124", "promo", "PENDING", 1739321100)),
			webhookEvent(templateWebhook("124", "", "APPROVED", 1739321200)),
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := mustReplayAnyBatching(t, evs)
			if !strings.Contains(out, `"status": "APPROVED"`) || !strings.Contains(out, `"name": "promo"`) {
				t.Errorf("templates:\n%s", out)
			}
		})
	}
}

// withStatusField adds "key": value (JSON) to the status of a statusWebhook.
func withStatusField(body []byte, key, value string) []byte {
	return []byte(strings.Replace(string(body), `"recipient_id"`, fmt.Sprintf("%q:%s,\"recipient_id\"", key, value), 1))
}

// TestInboxUnstorableAnyBatching: a value PostgreSQL cannot store is made
// storable (U+FFFD, a number as a string) per event, before the merge, so
// the read models are the same however batches are cut, even when a later
// event of the batch replaces the value; and nothing is parked.
func TestInboxUnstorableAnyBatching(t *testing.T) {
	t.Parallel()
	const from = "16505551234"
	badName := webhookEvent(bytes.Replace(textWebhook("wamid.A", from, "NAME", "first", 1739321000), []byte(`"NAME"`), []byte(`"bad\u0000name"`), 1))
	location := webhookEvent(msgWebhook(from, "Ann", `{"from":"16505551234","id":"wamid.L","timestamp":"1739321000","type":"location","location":{"latitude":1,"longitude":2}}`))
	surrogate := webhookEvent(msgWebhook(from, "Ann", `{"from":"16505551234","id":"wamid.L","timestamp":"1739321000","type":"location","location":{"latitude":1,"longitude":2,"name":"\ud800"}}`))
	huge := webhookEvent(msgWebhook(from, "Ann", `{"from":"16505551234","id":"wamid.L","timestamp":"1739321000","type":"location","location":{"latitude":1e200000,"longitude":2}}`))
	for name, tc := range map[string]struct {
		evs  []replayEvent
		want string
	}{
		"NUL in a profile name replaced": {[]replayEvent{badName, webhookEvent(textWebhook("wamid.B", from, "Ann", "second", 1739321001))},
			`"profile_name": "Ann"`},
		"NUL in the last profile name": {[]replayEvent{webhookEvent(textWebhook("wamid.B", from, "Ann", "second", 1739321001)), badName},
			`"profile_name": "bad` + "\uFFFD" + `name"`},
		"NUL in biz_opaque_callback_data": {[]replayEvent{
			webhookEvent(withStatusField(statusWebhook("wamid.S", "read", 1739321010, from, 0, ""), "biz_opaque_callback_data", `"x\u0000y"`)),
			webhookEvent(withStatusField(statusWebhook("wamid.S", "delivered", 1739321005, from, 0, ""), "biz_opaque_callback_data", `"ok"`)),
		}, `"biz_opaque_callback_data": "ok"`},
		"unpaired surrogate in a redelivered message": {[]replayEvent{location, surrogate}, `"content": {"latitude": 1, "longitude": 2}`},
		"unpaired surrogate in a message redelivered": {[]replayEvent{surrogate, location}, `"name": "` + "\uFFFD" + `"`},
		"huge number in a redelivered message":        {[]replayEvent{location, huge}, `"content": {"latitude": 1, "longitude": 2}`},
		"huge number in a message redelivered":        {[]replayEvent{huge, location}, `"latitude": "1e200000"`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := mustReplayAnyBatching(t, tc.evs, bookkeeping...)
			if strings.Contains(out, `"projector": "inbox"`) || !strings.Contains(out, tc.want) {
				t.Errorf("want %s and nothing parked:\n%s", tc.want, out)
			}
		})
	}
}

// msgWebhook is a webhook of one message (JSON) from a contact.
func msgWebhook(from, name, message string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},
"contacts":[{"profile":{"name":%q},"wa_id":%q}],
"messages":[%s]}}]}]}`, testPhoneNumberID, name, from, message)
}

func editMessage(wamid, target, body string, at int64) string {
	return fmt.Sprintf(`{"from":"16505551234","id":%q,"timestamp":"%d","type":"edit","edit":{"original_message_id":%q,"message":{"type":"text","text":{"body":%q}}}}`,
		wamid, at, target, body)
}

func revokeMessage(wamid, target string, at int64) string {
	return fmt.Sprintf(`{"from":"16505551234","id":%q,"timestamp":"%d","type":"revoke","revoke":{"original_message_id":%q}}`,
		wamid, at, target)
}

// TestInboxEditsByTimeAnyBatching: a message shows its latest edit by
// Meta's time, however edits arrive (late, redelivered, in one batch or
// not), and two edits of one second are told apart by their wamid.
func TestInboxEditsByTimeAnyBatching(t *testing.T) {
	t.Parallel()
	const from = "16505551234"
	original := webhookEvent(textWebhook("wamid.A", from, "Ann", "v0", 1739321000))
	for name, tc := range map[string]struct {
		evs  []replayEvent
		want string
	}{
		"older edit redelivered": {[]replayEvent{
			original,
			webhookEvent(msgWebhook(from, "Ann", editMessage("wamid.E1", "wamid.A", "v1", 1739321005))),
			webhookEvent(msgWebhook(from, "Ann", editMessage("wamid.E2", "wamid.A", "v2", 1739321009))),
			webhookEvent(msgWebhook(from, "Ann", editMessage("wamid.E1", "wamid.A", "v1", 1739321005))),
		}, "wamid.E2"},
		"edits of one second": {[]replayEvent{
			webhookEvent(msgWebhook(from, "Ann", editMessage("wamid.E2", "wamid.A", "v2", 1739321005))),
			webhookEvent(msgWebhook(from, "Ann", editMessage("wamid.E1", "wamid.A", "v1", 1739321005))),
			original,
		}, "wamid.E2"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := mustReplayAnyBatching(t, tc.evs, bookkeeping...)
			if !strings.Contains(out, `"edited": {"wamid": "`+tc.want+`"`) {
				t.Errorf("want the edit to %s:\n%s", tc.want, out)
			}
		})
	}
}

// TestInboxRevokedTwiceAnyBatching: of two revokes of one message, the
// earlier one's time stays, in one batch as across batches.
func TestInboxRevokedTwiceAnyBatching(t *testing.T) {
	t.Parallel()
	const from = "16505551234"
	out := mustReplayAnyBatching(t, []replayEvent{
		webhookEvent(msgWebhook(from, "Ann", revokeMessage("wamid.R2", "wamid.A", 1739321010))),
		webhookEvent(msgWebhook(from, "Ann", revokeMessage("wamid.R1", "wamid.A", 1739321005))),
	}, bookkeeping...)
	if want := time.Unix(1739321005, 0).UTC().Format("2006-01-02T15:04:05+00:00"); !strings.Contains(out, `"revoked_at": "`+want+`"`) {
		t.Errorf("want revoked_at %s:\n%s", want, out)
	}
}
