package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is one embedded NATS server with the WAM stream and one fresh
// database: what a projector needs.
type env struct {
	pool *pgxpool.Pool
	nc   *nats.Conn
	js   jetstream.JetStream
	pub  *streams.Publisher
}

func mustEnv(tb testing.TB) *env {
	tb.Helper()
	return mustEnvWith(tb, pgtest.New(tb), streams.StreamOptions{})
}

func mustEnvWith(tb testing.TB, pool *pgxpool.Pool, so streams.StreamOptions) *env {
	tb.Helper()
	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	nc, err := streams.ConnectInProcess(ns, tb.Name())
	if err != nil {
		tb.Fatal(err)
	}
	return mustEnvOn(tb, nc, pool, so)
}

// mustEnvOn makes the env of a connection to a running server, and closes
// the connection when the test ends.
func mustEnvOn(tb testing.TB, nc *nats.Conn, pool *pgxpool.Pool, so streams.StreamOptions) *env {
	tb.Helper()
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := streams.EnsureStream(context.Background(), js, so); err != nil {
		tb.Fatal(err)
	}
	return &env{pool: pool, nc: nc, js: js, pub: streams.NewPublisher(js)}
}

// publish stores body as a webhook of tenant. Every call gets its own
// Nats-Msg-Id, as a redelivery by Meta after the duplicate window would.
func (e *env) publish(tb testing.TB, tenant string, body []byte) uint64 {
	tb.Helper()
	return e.publishEvent(tb, streams.Event{Tenant: tenant, Type: streams.TypeWebhookMeta, Data: body})
}

func (e *env) publishEvent(tb testing.TB, ev streams.Event) uint64 {
	tb.Helper()
	if ev.MsgID == "" {
		ev.MsgID = uuid.NewString()
	}
	seq, err := e.pub.Publish(context.Background(), ev)
	if err != nil {
		tb.Fatal(err)
	}
	return seq
}

// start runs an inbox projector until the test ends.
func (e *env) start(tb testing.TB, opts Options) *Runner {
	tb.Helper()
	r := NewInbox(e.pool, e.js, nil, opts)
	e.run(tb, r)
	return r
}

// run runs r until the test ends and fails the test if Run fails.
func (e *env) run(tb testing.TB, r *Runner) <-chan error {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
	return done
}

func mustWait(tb testing.TB, r *Runner, seq uint64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WaitFor(ctx, seq); err != nil {
		tb.Fatal(err)
	}
}

func mustTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "domain", "testdata", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// msgTestRow is a messages row as the tests look at it.
type msgTestRow struct {
	ID, ConversationID uuid.UUID
	Direction, Type    string
	Content            []byte
	Preview, ReplyTo   string
	Context, Referral  []byte
	Status             string
	Statuses           map[string]string
	ErrorCode          *int32
	ErrorTitle         *string
	ErrorDetails       *string
	Pricing            []byte
	Biz                string
	Edited             []byte
	RevokedAt          *time.Time
	Timestamp          time.Time
	LastSeq            int64
}

// mustMessage reads the message wamid of tenant; ok is false when there is none.
func (e *env) message(tb testing.TB, tenant, wamid string) (msgTestRow, bool) {
	tb.Helper()
	var m msgTestRow
	var statuses []byte
	err := e.pool.QueryRow(context.Background(), `
		SELECT id, conversation_id, direction, type, content, preview, reply_to, context, referral,
		       status, statuses, error_code, error_title, error_details, pricing,
		       biz_opaque_callback_data, edited, revoked_at, timestamp, last_seq
		FROM messages WHERE tenant_id = $1 AND wamid = $2`, tenant, wamid).Scan(
		&m.ID, &m.ConversationID, &m.Direction, &m.Type, &m.Content, &m.Preview, &m.ReplyTo,
		&m.Context, &m.Referral, &m.Status, &statuses, &m.ErrorCode, &m.ErrorTitle, &m.ErrorDetails,
		&m.Pricing, &m.Biz, &m.Edited, &m.RevokedAt, &m.Timestamp, &m.LastSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, false
	}
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(statuses, &m.Statuses); err != nil {
		tb.Fatal(err)
	}
	return m, true
}

func (e *env) mustMessage(tb testing.TB, tenant, wamid string) msgTestRow {
	tb.Helper()
	m, ok := e.message(tb, tenant, wamid)
	if !ok {
		tb.Fatalf("no message %s of tenant %s", wamid, tenant)
	}
	return m
}

type convRow struct {
	ID, ContactID   uuid.UUID
	PhoneNumberID   string
	Status          string
	Unread          int
	LastMessageAt   *time.Time
	Preview         string
	LastInboundAt   *time.Time
	WindowExpiresAt *time.Time
	LastSeq         int64
}

func (e *env) conversations(tb testing.TB, tenant string) []convRow {
	tb.Helper()
	rows, err := e.pool.Query(context.Background(), `
		SELECT id, contact_id, phone_number_id, status, unread_count, last_message_at,
		       last_message_preview, last_inbound_at, window_expires_at, last_seq
		FROM conversations WHERE tenant_id = $1 ORDER BY created_at, id`, tenant)
	if err != nil {
		tb.Fatal(err)
	}
	var out []convRow
	for rows.Next() {
		var c convRow
		if err := rows.Scan(&c.ID, &c.ContactID, &c.PhoneNumberID, &c.Status, &c.Unread, &c.LastMessageAt,
			&c.Preview, &c.LastInboundAt, &c.WindowExpiresAt, &c.LastSeq); err != nil {
			tb.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func (e *env) mustConversation(tb testing.TB, tenant string) convRow {
	tb.Helper()
	cs := e.conversations(tb, tenant)
	if len(cs) != 1 {
		tb.Fatalf("tenant %s has %d conversations, want 1", tenant, len(cs))
	}
	return cs[0]
}

type contactTestRow struct {
	ID                           uuid.UUID
	WaID, UserID, Phone, Profile string
}

func (e *env) contacts(tb testing.TB, tenant string) []contactTestRow {
	tb.Helper()
	rows, err := e.pool.Query(context.Background(), `
		SELECT id, wa_id, user_id, phone, profile_name FROM contacts WHERE tenant_id = $1 ORDER BY wa_id, user_id`, tenant)
	if err != nil {
		tb.Fatal(err)
	}
	var out []contactTestRow
	for rows.Next() {
		var c contactTestRow
		if err := rows.Scan(&c.ID, &c.WaID, &c.UserID, &c.Phone, &c.Profile); err != nil {
			tb.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// count runs a SELECT count(*) … query.
func (e *env) count(tb testing.TB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

type webhookLogRow struct {
	TenantID       *uuid.UUID
	ReceivedAt     time.Time
	PhoneNumberIDs []string
	Kinds          []string
	Result, Error  string
	Size           int
}

func (e *env) mustWebhookLog(tb testing.TB, seq uint64) webhookLogRow {
	tb.Helper()
	var w webhookLogRow
	err := e.pool.QueryRow(context.Background(), `
		SELECT tenant_id, received_at, phone_number_ids, kinds, decode_result, decode_error, size_bytes
		FROM webhook_log WHERE seq = $1`, int64(seq)).Scan(
		&w.TenantID, &w.ReceivedAt, &w.PhoneNumberIDs, &w.Kinds, &w.Result, &w.Error, &w.Size)
	if err != nil {
		tb.Fatalf("webhook_log %d: %v", seq, err)
	}
	return w
}

// jsonEqual compares two JSON texts by value: jsonb does not keep key order
// or spacing.
func jsonEqual(tb testing.TB, got, want []byte) bool {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("got %q: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		tb.Fatalf("want %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

const testPhoneNumberID = "123456123"

// statusWebhook is a status webhook as Meta sends it. errCode 0 sends no
// errors.
func statusWebhook(wamid, status string, at int64, recipient string, errCode int, errTitle string) []byte {
	errs := ""
	if errCode != 0 {
		errs = fmt.Sprintf(`,"errors":[{"code":%d,"title":%q,"message":%q,"error_data":{"details":"details of %d"}}]`,
			errCode, errTitle, errTitle, errCode)
	}
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},
"statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":%q,
"pricing":{"billable":true,"pricing_model":"PMP","category":"utility","type":"regular"}%s}]}}]}]}`,
		testPhoneNumberID, wamid, status, at, recipient, errs)
}

// textWebhook is an inbound text message webhook.
func textWebhook(wamid, from, name, body string, at int64) []byte {
	b, _ := json.Marshal(body)
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},
"contacts":[{"profile":{"name":%q},"wa_id":%q}],
"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":%s}}]}}]}]}`,
		testPhoneNumberID, name, from, from, wamid, at, b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
