package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/live"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

// fakeClock is a clock the test moves: the hub's token expiry and account
// re-checks follow it, and so do the access tokens it issues.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeTimer
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeTimer{c.now.Add(d), ch})
	return ch
}

// Advance moves the clock on by d and fires the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			keep = append(keep, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = keep
}

// liveEnv is one database, one NATS server and stream, one inbox projector
// and n API servers (as n `wam serve` processes would be), each with its
// own hub and NATS connection, listening on real ports.
type liveEnv struct {
	t       *testing.T
	pool    *pgxpool.Pool
	js      jetstream.JetStream
	clock   *fakeClock
	tokens  *auth.Tokens
	servers []liveServer
}

type liveServer struct {
	url string
	hub *live.Hub
}

func newLiveEnv(t *testing.T, n int, opts live.Options) *liveEnv {
	t.Helper()
	return newLiveEnvBuf(t, n, opts, 0)
}

// smallBuffers is a listener whose connections have a small kernel send
// buffer, so that events for a client that does not read back up in the
// hub quickly instead of in megabytes of socket buffers.
type smallBuffers struct {
	net.Listener
	size int
}

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(l.size)
	}
	return c, err
}

// newLiveEnvBuf is newLiveEnv with servers' socket send buffers of sndbuf
// bytes (0: the system's).
func newLiveEnvBuf(t *testing.T, n int, opts live.Options, sndbuf int) *liveEnv {
	t.Helper()
	pool := pgtest.New(t)
	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	connect := func() jetstream.JetStream {
		nc, err := streams.ConnectInProcess(ns, "test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	js := connect()
	if _, err := streams.EnsureStream(context.Background(), js, streams.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &liveEnv{t: t, pool: pool, js: js, clock: newFakeClock()}
	e.tokens = auth.NewTokens(key, e.clock.Now)
	opts.Clock = e.clock

	ctx, cancel := context.WithCancel(context.Background())
	inbox := projections.NewInbox(pool, js, nil, projections.Options{})
	done := make(chan error, 1)
	go func() { done <- inbox.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	for range n {
		sjs := connect()
		hub := live.New(pool, sjs.Conn(), e.tokens, api.LiveEncoder(), opts)
		if err := hub.Start(); err != nil {
			t.Fatal(err)
		}
		h := api.New(api.Config{AppSecret: appSecret, VerifyToken: verifyToken, PublishTimeout: 2 * time.Second,
			Tokens: e.tokens, Live: hub, Argon2: auth.Argon2Params{Memory: 1 << 10, Time: 1, Threads: 1}},
			pool, streams.NewPublisher(sjs), slog.New(slog.DiscardHandler))
		srv := httptest.NewUnstartedServer(h)
		if sndbuf > 0 {
			srv.Listener = smallBuffers{srv.Listener, sndbuf}
		}
		srv.Start()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			hub.Close(ctx)
			srv.Close()
		})
		e.servers = append(e.servers, liveServer{url: srv.URL, hub: hub})
	}
	return e
}

// liveTenant is a tenant with one phone number and users of each role.
type liveTenant struct {
	ID                  uuid.UUID
	PNID, Waba          string
	Owner, Admin, Agent liveUser
}

type liveUser struct {
	ID    uuid.UUID
	Token string
}

func (e *liveEnv) tenant(name string) liveTenant {
	e.t.Helper()
	ctx := context.Background()
	q := db.New(e.pool)
	tn, err := q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: name})
	if err != nil {
		e.t.Fatal(err)
	}
	lt := liveTenant{ID: tn.ID, PNID: "pn-" + tn.ID.String()[:8], Waba: "waba-" + tn.ID.String()[:8]}
	if _, err := q.AddPhoneNumber(ctx, db.AddPhoneNumberParams{ID: uuid.New(), TenantID: tn.ID, PhoneNumberID: lt.PNID, DisplayPhoneNumber: "+15550001111", WabaID: lt.Waba}); err != nil {
		e.t.Fatal(err)
	}
	lt.Owner = e.user(tn.ID, name+" owner", auth.RoleOwner)
	lt.Admin = e.user(tn.ID, name+" admin", auth.RoleAdmin)
	lt.Agent = e.user(tn.ID, name+" agent", auth.RoleAgent)
	return lt
}

func (e *liveEnv) user(tenant uuid.UUID, name, role string) liveUser {
	e.t.Helper()
	u, err := db.New(e.pool).CreateUser(context.Background(), db.CreateUserParams{
		ID: uuid.New(), TenantID: tenant, Email: strings.ReplaceAll(uuid.NewString(), "-", "") + "@example.com",
		Name: name, PasswordHash: "not-used", Role: role,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return liveUser{ID: u.ID, Token: e.token(u.ID, tenant, role)}
}

// token is an access token for the user, issued now by the fake clock.
func (e *liveEnv) token(user, tenant uuid.UUID, role string) string {
	e.t.Helper()
	tok, _, err := e.tokens.Issue(auth.Claims{UserID: user, TenantID: tenant, Role: role})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// webhook posts a signed webhook to server i and wants 200.
func (e *liveEnv) webhook(i int, body []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.servers[i].url+"/api/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", sign(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("webhook: %d %s", resp.StatusCode, b)
	}
}

// call makes a REST request to server i with token and decodes the answer into out.
func (e *liveEnv) call(i int, method, path, token string, body any, out any) int {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.servers[i].url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// wsFrame is any frame of the protocol.
type wsFrame struct {
	Type           string          `json:"type"`
	Seq            int64           `json:"seq"`
	ConversationID string          `json:"conversation_id"`
	Data           json.RawMessage `json:"data"`
	UserID         string          `json:"user_id"`
	TenantID       string          `json:"tenant_id"`
	Role           string          `json:"role"`
	Head           int64           `json:"head"`
	User           struct{ ID, Name string }
	Users          []struct{ ID, Name, Status string }
}

// id is the id of the row an event carries.
func (f wsFrame) id() string {
	var d struct{ ID string }
	_ = json.Unmarshal(f.Data, &d)
	return d.ID
}

type wsClient struct {
	t        *testing.T
	ws       *websocket.Conn
	lines    [][]byte // frames of the last message not read yet
	messages int      // WebSocket messages read
}

// dial opens a WebSocket to server i, with the client's TCP receive buffer
// at rcvbuf bytes when it is not 0 (a slow reader fills it quickly).
func (e *liveEnv) dial(i, rcvbuf int) *wsClient {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dialer := &net.Dialer{}
	if rcvbuf > 0 {
		// Before connecting, so that the window is small from the start.
		dialer.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
			return errors.Join(err, serr)
		}
	}
	tr := &http.Transport{DialContext: dialer.DialContext}
	ws, _, err := websocket.Dial(ctx, strings.Replace(e.servers[i].url, "http://", "ws://", 1)+"/api/ws",
		&websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		e.t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	c := &wsClient{t: e.t, ws: ws}
	e.t.Cleanup(func() { _ = ws.CloseNow() })
	return c
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsClient) auth(token string, since int64) {
	c.send(map[string]any{"type": "auth", "token": token, "since": since})
}

// read is the next frame, or the error that ended the connection. A
// message holds one or more frames, one per line.
func (c *wsClient) read() (wsFrame, error) {
	if len(c.lines) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_, b, err := c.ws.Read(ctx)
		if err != nil {
			return wsFrame{}, err
		}
		c.messages++
		c.lines = bytes.Split(b, []byte("\n"))
	}
	b := c.lines[0]
	c.lines = c.lines[1:]
	var f wsFrame
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatalf("frame %s: %v", b, err)
	}
	return f, nil
}

func (c *wsClient) next() wsFrame {
	c.t.Helper()
	f, err := c.read()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

// connect authenticates and reads up to synced: the hello, the resumed
// events, the synced frame.
func (c *wsClient) connect(token string, since int64) (hello wsFrame, resumed []wsFrame, synced wsFrame) {
	c.t.Helper()
	c.auth(token, since)
	if hello = c.next(); hello.Type != "hello" {
		c.t.Fatalf("first frame %+v, want hello", hello)
	}
	for {
		f := c.next()
		if f.Type == "synced" {
			return hello, resumed, f
		}
		resumed = append(resumed, f)
	}
}

// until reads frames until one satisfies cond, and returns the events of
// the read models read on the way (that one included).
func (c *wsClient) until(what string, cond func(wsFrame) bool) []wsFrame {
	c.t.Helper()
	var events []wsFrame
	for {
		f, err := c.read()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if f.Seq > 0 {
			events = append(events, f)
		}
		if cond(f) {
			return events
		}
	}
}

// closed reads until the server closes, and returns the close code.
func (c *wsClient) closed() websocket.StatusCode {
	c.t.Helper()
	for {
		if _, err := c.read(); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func textHook(t liveTenant, wamid, from, body string) []byte {
	return textWebhook(t.Waba, t.PNID, wamid, from, body)
}

// wamidOf is the wamid of a message event.
func wamidOf(f wsFrame) string {
	var d struct{ Wamid string }
	_ = json.Unmarshal(f.Data, &d)
	return d.Wamid
}

func isMessage(wamid string) func(wsFrame) bool {
	return func(f wsFrame) bool {
		return (f.Type == live.TypeMessageCreated || f.Type == live.TypeMessageUpdated) && wamidOf(f) == wamid
	}
}

func TestLiveAuth(t *testing.T) {
	e := newLiveEnv(t, 1, live.Options{AuthTimeout: 300 * time.Millisecond})
	acme := e.tenant("acme")

	t.Run("no frame", func(t *testing.T) {
		if code := e.dial(0, 0).closed(); code != live.CodeUnauthorized {
			t.Errorf("close %d, want 4001", code)
		}
	})
	for name, first := range map[string]any{
		"not json":      "hello",
		"not auth":      map[string]any{"type": "typing", "conversation_id": uuid.NewString()},
		"no token":      map[string]any{"type": "auth", "since": 0},
		"invalid token": map[string]any{"type": "auth", "token": "eyJhbGciOiJub25lIn0.e30.", "since": 0},
		"api key":       map[string]any{"type": "auth", "token": "wam_" + strings.Repeat("a", 40)},
	} {
		t.Run(name, func(t *testing.T) {
			c := e.dial(0, 0)
			c.send(first)
			if code := c.closed(); code != live.CodeUnauthorized {
				t.Errorf("close %d, want 4001", code)
			}
		})
	}
	t.Run("good token", func(t *testing.T) {
		c := e.dial(0, 0)
		hello, resumed, synced := c.connect(acme.Agent.Token, 0)
		if hello.UserID != acme.Agent.ID.String() || hello.TenantID != acme.ID.String() || hello.Role != "agent" {
			t.Errorf("hello %+v", hello)
		}
		if len(resumed) != 0 || synced.Seq != hello.Head {
			t.Errorf("since 0: %d events, synced %d, head %d", len(resumed), synced.Seq, hello.Head)
		}
		if p := c.next(); p.Type != "presence" {
			t.Errorf("after synced %+v, want presence", p)
		}
	})
	t.Run("disabled user", func(t *testing.T) {
		u := e.user(acme.ID, "gone", auth.RoleAgent)
		if _, err := e.pool.Exec(context.Background(), `UPDATE users SET disabled_at = now() WHERE id = $1`, u.ID); err != nil {
			t.Fatal(err)
		}
		c := e.dial(0, 0)
		c.auth(u.Token, 0)
		if code := c.closed(); code != live.CodeRevoked {
			t.Errorf("close %d, want 4003", code)
		}
	})
}

func TestLiveMessageAfterWebhook(t *testing.T) {
	e := newLiveEnv(t, 1, live.Options{})
	acme := e.tenant("acme")
	c := e.dial(0, 0)
	c.connect(acme.Agent.Token, 0)

	e.webhook(0, textHook(acme, "wamid.live1", "15551230001", "hello there"))
	var msg, conv wsFrame
	c.until("the message and its conversation", func(f wsFrame) bool {
		switch {
		case isMessage("wamid.live1")(f):
			msg = f
		case f.Type == live.TypeConversationUpdated:
			conv = f
		}
		return msg.Seq > 0 && conv.Seq > 0
	})
	if msg.Type != live.TypeMessageCreated || msg.ConversationID != conv.id() {
		t.Errorf("message %+v in conversation %s", msg, conv.id())
	}
	// The event carries the row exactly as the REST API lists it.
	var page struct{ Data []json.RawMessage }
	e.call(0, http.MethodGet, "/api/conversations/"+conv.id()+"/messages", acme.Agent.Token, nil, &page)
	if len(page.Data) != 1 || !jsonEqual(t, page.Data[0], msg.Data) {
		t.Errorf("event data\n %s\nREST item\n %s", msg.Data, page.Data)
	}
	var convs struct{ Data []json.RawMessage }
	e.call(0, http.MethodGet, "/api/conversations", acme.Agent.Token, nil, &convs)
	if len(convs.Data) != 1 || !jsonEqual(t, convs.Data[0], conv.Data) {
		t.Errorf("event data\n %s\nREST item\n %s", conv.Data, convs.Data)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// changedSince is what the read models hold of tenant after since: each
// row's id and last_seq, as "kind id seq".
func (e *liveEnv) changedSince(tenant uuid.UUID, since int64) map[string]bool {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `
		SELECT 'message', id, last_seq FROM messages WHERE tenant_id = $1 AND last_seq > $2
		UNION ALL SELECT 'conversation', id, last_seq FROM conversations WHERE tenant_id = $1 AND last_seq > $2
		UNION ALL SELECT 'note', id, last_seq FROM notes WHERE tenant_id = $1 AND last_seq > $2`, tenant, since)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var kind string
		var id uuid.UUID
		var seq int64
		if err := rows.Scan(&kind, &id, &seq); err != nil {
			e.t.Fatal(err)
		}
		out[fmt.Sprintf("%s %s %d", kind, id, seq)] = true
	}
	return out
}

func eventKey(f wsFrame) string {
	kind := strings.SplitN(f.Type, ".", 2)[0]
	return fmt.Sprintf("%s %s %d", kind, f.id(), f.Seq)
}

func TestLiveResume(t *testing.T) {
	// Pages of two rows: a resume of a few dozen rows crosses many pages.
	e := newLiveEnv(t, 1, live.Options{ResumePage: 2})
	acme := e.tenant("acme")
	c := e.dial(0, 0)
	c.connect(acme.Owner.Token, 0)
	var highest int64
	for i := range 3 {
		wamid := fmt.Sprintf("wamid.before%d", i)
		e.webhook(0, textHook(acme, wamid, fmt.Sprintf("1555000100%d", i), "before"))
		for _, f := range c.until(wamid, isMessage(wamid)) {
			highest = max(highest, f.Seq)
		}
	}
	_ = c.ws.CloseNow()

	// Away: messages from new and known customers, a note, an assignment.
	for i := range 6 {
		e.webhook(0, textHook(acme, fmt.Sprintf("wamid.away%d", i), fmt.Sprintf("1555000200%d", i%4), "while away"))
	}
	var convs struct{ Data []struct{ ID string } }
	e.call(0, http.MethodGet, "/api/conversations", acme.Owner.Token, nil, &convs)
	if len(convs.Data) == 0 {
		t.Fatal("no conversations")
	}
	conv := convs.Data[0].ID
	if code := e.call(0, http.MethodPost, "/api/conversations/"+conv+"/notes", acme.Owner.Token, map[string]string{"body": "call back"}, nil); code != http.StatusAccepted {
		t.Fatalf("note: %d", code)
	}
	if code := e.call(0, http.MethodPatch, "/api/conversations/"+conv, acme.Owner.Token, map[string]any{"assignee_id": acme.Agent.ID}, nil); code != http.StatusAccepted {
		t.Fatalf("assign: %d", code)
	}
	await.Until(t, 10*time.Second, "the actions projected", func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM conversations WHERE assignee_id IS NOT NULL`).Scan(&n)
		return n == 1
	})
	want := e.changedSince(acme.ID, highest)

	c = e.dial(0, 0)
	_, resumed, synced := c.connect(acme.Owner.Token, highest)
	// Pages of two rows, but the resumed events go many to a message: the
	// hello, the resume's one message (a few KB), the synced frame.
	if c.messages != 3 {
		t.Errorf("hello, %d resumed events and synced came in %d WebSocket messages, want 3", len(resumed), c.messages)
	}
	got := map[string]bool{}
	last := highest
	for _, f := range resumed {
		if got[eventKey(f)] {
			t.Errorf("resumed twice: %s", eventKey(f))
		}
		got[eventKey(f)] = true
		if f.Seq < last || f.Seq <= highest {
			t.Errorf("resumed out of order: %d after %d (since %d)", f.Seq, last, highest)
		}
		last = f.Seq
	}
	for k := range want {
		if !got[k] {
			t.Errorf("missed: %s", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("sent but not changed since %d: %s", highest, k)
		}
	}
	if synced.Seq < last {
		t.Errorf("synced at %d below the last event %d", synced.Seq, last)
	}
	// Then live, once, above what the resume sent.
	e.webhook(0, textHook(acme, "wamid.after", "15550009999", "back"))
	events := c.until("wamid.after", isMessage("wamid.after"))
	for _, f := range events {
		if f.Seq <= synced.Seq || got[eventKey(f)] {
			t.Errorf("live event %s at or below synced %d", eventKey(f), synced.Seq)
		}
	}
}

func TestLiveTenantsAndRoles(t *testing.T) {
	e := newLiveEnv(t, 1, live.Options{})
	acme, globex := e.tenant("acme"), e.tenant("globex")
	agent, other := e.dial(0, 0), e.dial(0, 0)
	agent.connect(acme.Agent.Token, 0)
	other.connect(globex.Owner.Token, 0)

	// A conversation assigned to the admin: an agent reads it in the REST
	// API, so the agent sees its events live too.
	e.webhook(0, textHook(acme, "wamid.acme1", "15550000001", "for acme"))
	conv := ""
	agent.until("acme's message", func(f wsFrame) bool {
		if isMessage("wamid.acme1")(f) {
			conv = f.ConversationID
		}
		return conv != ""
	})
	if code := e.call(0, http.MethodPatch, "/api/conversations/"+conv, acme.Admin.Token, map[string]any{"assignee_id": acme.Admin.ID}, nil); code != http.StatusAccepted {
		t.Fatalf("assign: %d", code)
	}
	agent.until("the assignment", func(f wsFrame) bool {
		var d struct {
			AssigneeID string `json:"assignee_id"`
		}
		_ = json.Unmarshal(f.Data, &d)
		return f.Type == live.TypeConversationUpdated && d.AssigneeID == acme.Admin.ID.String()
	})
	if code := e.call(0, http.MethodGet, "/api/conversations/"+conv, acme.Agent.Token, nil, nil); code != http.StatusOK {
		t.Errorf("the agent reads the conversation over REST: %d", code)
	}

	// Globex's client gets globex's message and nothing of acme's.
	e.webhook(0, textHook(globex, "wamid.globex1", "15550000002", "for globex"))
	for _, f := range other.until("globex's message", isMessage("wamid.globex1")) {
		if f.ConversationID == conv || f.id() == conv || strings.HasPrefix(wamidOf(f), "wamid.acme") {
			t.Errorf("globex got acme's event %+v", f)
		}
	}
	// And acme's agent nothing of globex's.
	e.webhook(0, textHook(acme, "wamid.acme2", "15550000001", "for acme again"))
	for _, f := range agent.until("acme's next message", isMessage("wamid.acme2")) {
		if strings.HasPrefix(wamidOf(f), "wamid.globex") {
			t.Errorf("acme got globex's event %+v", f)
		}
	}
}

// manyHook is one webhook carrying n messages from one customer.
func manyHook(t liveTenant, prefix, from string, n int) []byte {
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = fmt.Sprintf(`{"from":%q,"id":"%s%d","timestamp":"1718000000","text":{"body":"message %d with some words to make it longer"},"type":"text"}`, from, prefix, i, i)
	}
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":%q,"changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},"contacts":[{"profile":{"name":"Kerry"},"wa_id":%q}],"messages":[%s]},"field":"messages"}]}]}`,
		t.Waba, t.PNID, from, strings.Join(msgs, ",")))
}

func TestLiveSlowClient(t *testing.T) {
	e := newLiveEnvBuf(t, 1, live.Options{SendBuffer: 256}, 4096)
	acme := e.tenant("acme")
	// The slow client reads nothing, with a small receive window, so that
	// events back up in its send buffer; the normal one reads everything.
	slow, normal := e.dial(0, 2048), e.dial(0, 0)
	slow.connect(acme.Agent.Token, 0)
	normal.connect(acme.Owner.Token, 0)
	hub := e.servers[0].hub
	received := map[string]bool{}
	for round := 0; hub.Stats().Overflows == 0; round++ {
		if round == 50 {
			t.Fatal("the slow client never overflowed")
		}
		prefix := fmt.Sprintf("wamid.r%d.", round)
		e.webhook(0, manyHook(acme, prefix, "15550000001", 100))
		last := prefix + "99"
		for _, f := range normal.until(last, isMessage(last)) {
			received[wamidOf(f)] = true
		}
	}
	if code := slow.closed(); code != live.CodeTooSlow {
		t.Errorf("slow client closed with %d, want 4008", code)
	}
	// The normal client kept receiving, and still does.
	e.webhook(0, textHook(acme, "wamid.after", "15550000002", "still here"))
	normal.until("wamid.after", isMessage("wamid.after"))
	if len(received) < 100 {
		t.Errorf("the normal client got %d messages", len(received))
	}
}

func TestLiveWriteTimeout(t *testing.T) {
	// A send buffer too large to overflow, a short write deadline: a
	// client that stops reading is dropped by the deadline, the others
	// keep their events.
	e := newLiveEnvBuf(t, 1, live.Options{SendBuffer: 1 << 20, WriteTimeout: 300 * time.Millisecond}, 4096)
	acme := e.tenant("acme")
	slow, normal := e.dial(0, 2048), e.dial(0, 0)
	slow.connect(acme.Agent.Token, 0)
	normal.connect(acme.Owner.Token, 0)
	hub := e.servers[0].hub
	for round := 0; hub.Stats().Clients == 2; round++ {
		if round == 50 {
			t.Fatal("the client that reads nothing was never dropped")
		}
		prefix := fmt.Sprintf("wamid.w%d.", round)
		e.webhook(0, manyHook(acme, prefix, "15550000001", 100))
		last := prefix + "99"
		normal.until(last, isMessage(last))
	}
	if hub.Stats().Overflows != 0 {
		t.Errorf("%d overflows: the deadline should have dropped it", hub.Stats().Overflows)
	}
	if code := slow.closed(); code == live.CodeTooSlow {
		t.Errorf("closed with 4008, want a dropped connection")
	}
	e.webhook(0, textHook(acme, "wamid.after", "15550000002", "still here"))
	normal.until("wamid.after", isMessage("wamid.after"))
}

func TestLiveTokenExpiry(t *testing.T) {
	e := newLiveEnv(t, 1, live.Options{})
	acme := e.tenant("acme")

	t.Run("expires", func(t *testing.T) {
		c := e.dial(0, 0)
		c.connect(acme.Agent.Token, 0)
		e.clock.Advance(auth.AccessTTL + time.Second)
		if code := c.closed(); code != live.CodeUnauthorized {
			t.Errorf("close %d, want 4001", code)
		}
	})
	t.Run("refreshed on the connection", func(t *testing.T) {
		c, watcher := e.dial(0, 0), e.dial(0, 0)
		c.connect(e.token(acme.Agent.ID, acme.ID, auth.RoleAgent), 0)
		watcher.connect(e.token(acme.Owner.ID, acme.ID, auth.RoleOwner), 0)
		e.clock.Advance(auth.AccessTTL - time.Minute)
		c.send(map[string]any{"type": "auth", "token": e.token(acme.Agent.ID, acme.ID, auth.RoleAgent)})
		// The watcher renews too; then a typing frame after the agent's
		// new token shows that the server has taken it.
		watcher.send(map[string]any{"type": "auth", "token": e.token(acme.Owner.ID, acme.ID, auth.RoleOwner)})
		conv := uuid.NewString()
		c.send(map[string]any{"type": "typing", "conversation_id": conv})
		watcher.until("the agent typing", func(f wsFrame) bool { return f.Type == "typing" && f.ConversationID == conv })
		e.clock.Advance(2 * time.Minute) // past the first token's expiry
		e.webhook(0, textHook(acme, "wamid.alive", "15550000003", "still connected"))
		c.until("an event after the first token expired", isMessage("wamid.alive"))
		e.clock.Advance(auth.AccessTTL)
		if code := c.closed(); code != live.CodeUnauthorized {
			t.Errorf("close %d, want 4001", code)
		}
	})
	t.Run("another user's token", func(t *testing.T) {
		c := e.dial(0, 0)
		c.connect(e.token(acme.Agent.ID, acme.ID, auth.RoleAgent), 0)
		c.send(map[string]any{"type": "auth", "token": e.token(acme.Owner.ID, acme.ID, auth.RoleOwner)})
		if code := c.closed(); code != live.CodeUnauthorized {
			t.Errorf("close %d, want 4001", code)
		}
	})
}

func TestLiveRevocation(t *testing.T) {
	e := newLiveEnv(t, 1, live.Options{Recheck: time.Minute})
	acme := e.tenant("acme")
	for name, revoke := range map[string]string{
		"password changed": `UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1`,
		"disabled":         `UPDATE users SET disabled_at = now() WHERE id = $1`,
		"deleted":          `DELETE FROM users WHERE id = $1`,
	} {
		t.Run(name, func(t *testing.T) {
			u := e.user(acme.ID, name, auth.RoleAgent)
			c := e.dial(0, 0)
			c.connect(u.Token, 0)
			if _, err := e.pool.Exec(context.Background(), revoke, u.ID); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Minute)
			if code := c.closed(); code != live.CodeRevoked {
				t.Errorf("close %d, want 4003", code)
			}
		})
	}
	t.Run("at a refresh", func(t *testing.T) {
		u := e.user(acme.ID, "refreshing", auth.RoleAgent)
		c := e.dial(0, 0)
		c.connect(u.Token, 0)
		if _, err := e.pool.Exec(context.Background(), `UPDATE users SET session_epoch = 1 WHERE id = $1`, u.ID); err != nil {
			t.Fatal(err)
		}
		c.send(map[string]any{"type": "auth", "token": u.Token}) // a token of the old epoch
		if code := c.closed(); code != live.CodeRevoked {
			t.Errorf("close %d, want 4003", code)
		}
	})
}

func TestLiveTwoServers(t *testing.T) {
	e := newLiveEnv(t, 2, live.Options{})
	acme := e.tenant("acme")
	onA, onB := e.dial(0, 0), e.dial(1, 0)
	onA.connect(acme.Agent.Token, 0)
	onB.connect(acme.Owner.Token, 0)

	// Ingested by A, seen on both; ingested by B, seen on both.
	e.webhook(0, textHook(acme, "wamid.viaA", "15550000001", "to A"))
	e.webhook(1, textHook(acme, "wamid.viaB", "15550000002", "to B"))
	for _, c := range []*wsClient{onA, onB} {
		seen := map[string]int{}
		c.until("both messages", func(f wsFrame) bool {
			if f.Type == live.TypeMessageCreated {
				seen[wamidOf(f)]++
			}
			return seen["wamid.viaA"] > 0 && seen["wamid.viaB"] > 0
		})
		if seen["wamid.viaA"] != 1 || seen["wamid.viaB"] != 1 {
			t.Errorf("each message once: %v", seen)
		}
	}

	// A note added through B reaches the client on A.
	var convs struct{ Data []struct{ ID string } }
	e.call(1, http.MethodGet, "/api/conversations", acme.Owner.Token, nil, &convs)
	conv := convs.Data[0].ID
	if code := e.call(1, http.MethodPost, "/api/conversations/"+conv+"/notes", acme.Owner.Token, map[string]string{"body": "over there"}, nil); code != http.StatusAccepted {
		t.Fatalf("note: %d", code)
	}
	onA.until("the note", func(f wsFrame) bool {
		var d struct{ Body string }
		_ = json.Unmarshal(f.Data, &d)
		return f.Type == live.TypeNoteAdded && f.ConversationID == conv && d.Body == "over there"
	})

	// Typing on A reaches B, not A's own user; presence shows both users.
	onA.send(map[string]any{"type": "typing", "conversation_id": conv})
	onB.until("the agent typing", func(f wsFrame) bool {
		return f.Type == "typing" && f.ConversationID == conv && f.User.ID == acme.Agent.ID.String() && f.User.Name == "acme agent"
	})
	onA.send(map[string]any{"type": "presence", "status": "away"})
	onB.until("both users, the agent away", func(f wsFrame) bool {
		if f.Type != "presence" || len(f.Users) != 2 {
			return false
		}
		status := map[string]string{}
		for _, u := range f.Users {
			status[u.ID] = u.Status
		}
		return status[acme.Agent.ID.String()] == "away" && status[acme.Owner.ID.String()] == "online"
	})
	for _, c := range []*wsClient{onA} {
		for {
			f, err := c.read()
			if err != nil {
				t.Fatal(err)
			}
			if f.Type == "typing" {
				t.Errorf("the typing user got their own typing: %+v", f)
			}
			if f.Type == "presence" && len(f.Users) == 2 {
				break
			}
		}
	}
}

func TestLiveShutdown(t *testing.T) {
	e := newLiveEnv(t, 1, live.Options{})
	acme := e.tenant("acme")
	c := e.dial(0, 0)
	c.connect(acme.Agent.Token, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go e.servers[0].hub.Close(ctx) // it waits for the clients' answers to its close frames
	if code := c.closed(); code != websocket.StatusServiceRestart {
		t.Errorf("close %d, want 1012", code)
	}
}
