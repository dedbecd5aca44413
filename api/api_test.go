package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wam-project/wam/accounts"
	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/erasure"
	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/media"
	"github.com/wam-project/wam/messaging"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/ops"
	"github.com/wam-project/wam/rebuild"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	appSecret   = "test-app-secret"
	verifyToken = "test-verify-token"
)

// env is one wam API over a fresh database and an embedded NATS server.
type env struct {
	t      testing.TB
	pool   *pgxpool.Pool
	js     jetstream.JetStream
	stream jetstream.Stream
	h      *echo.Echo
	logs   *bytes.Buffer
	key    ed25519.PrivateKey    // signs access tokens
	nextIP atomic.Uint32         // client addresses for requests, see send
	meta   *meta.Simulator       // Meta's Graph API
	store  jetstream.ObjectStore // the media files
	ops    *ops.Service          // the operators' tools behind the API
	keys   *accounts.KeyCache    // API keys, kept while it listens
}

type tenant struct {
	ID     uuid.UUID
	APIKey string
}

func newEnv(t testing.TB) *env { return newEnvConns(t, 1) }

// newEnvConns is newEnv publishing over conns NATS connections.
func newEnvConns(t testing.TB, conns int) *env { return newEnvWith(t, conns, nil) }

// newEnvWith is newEnvConns with tweak applied to the server's Config.
func newEnvWith(t testing.TB, conns int, tweak func(*api.Config)) *env {
	t.Helper()
	return newEnvOn(t, pgtest.New(t), conns, tweak)
}

// newEnvOn is newEnvWith over the database of pool.
func newEnvOn(t testing.TB, pool *pgxpool.Pool, conns int, tweak func(*api.Config)) *env {
	t.Helper()
	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := streams.ConnectInProcess(ns, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := streams.EnsureStream(context.Background(), js, streams.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pubs := []jetstream.JetStream{js}
	for range conns - 1 {
		nc, err := streams.ConnectInProcess(ns, "test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, js)
	}
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sim := meta.NewSimulator()
	graph := httptest.NewServer(sim)
	t.Cleanup(graph.Close)
	client := meta.NewClient(graph.URL, "v23.0")
	store, err := streams.EnsureMediaStore(context.Background(), js, 0)
	if err != nil {
		t.Fatal(err)
	}
	files := media.New(pool, store, streams.NewPublisher(pubs...), client, nil, media.Options{})
	cfg := api.Config{
		AppSecret: appSecret, VerifyToken: verifyToken, PublishTimeout: 2 * time.Second,
		Graph: client,
		Media: files, SendChecks: messaging.Checks{Media: files.Check},
		Tokens: auth.NewTokens(key, time.Now),
		Argon2: auth.Argon2Params{Memory: 1 << 10, Time: 1, Threads: 1}, // cheap: tests hash many passwords
		// Erasure, with a key of the test's own.
		Erasure: erasure.New(pool, js, store, streams.NewPublisher(pubs...), key[:32], erasure.Options{}),
	}
	cfg.Ops = ops.New(pool, js, streams.NewPublisher(pubs...), ops.Options{Tokens: cfg.Tokens, Argon2: cfg.Argon2})
	cfg.Rebuilds = rebuild.New(pool, js, rebuild.Options{MaxBatch: 500})
	t.Cleanup(cfg.Rebuilds.Close)
	// API keys kept in memory as serve keeps them, so that every test of
	// the API also tests that a change to a key or its creator is heard.
	cfg.APIKeys = accounts.NewKeyCache(pool, log)
	keysCtx, stopKeys := context.WithCancel(context.Background())
	keysDone := make(chan struct{})
	go func() { defer close(keysDone); cfg.APIKeys.Run(keysCtx) }()
	t.Cleanup(func() { stopKeys(); <-keysDone })
	await.Until(t, 10*time.Second, "the API key cache to listen", cfg.APIKeys.Listening)
	if tweak != nil {
		tweak(&cfg)
	}
	h := api.New(cfg, pool, streams.NewPublisher(pubs...), log)
	return &env{t: t, pool: pool, js: js, stream: st, h: h, logs: logs, key: key, meta: sim, store: store, ops: cfg.Ops, keys: cfg.APIKeys}
}

// mustTenant creates a tenant with an API key owning the given phone number ids
// (all in WABA waba).
func (e *env) mustTenant(waba string, pnids ...string) tenant {
	e.t.Helper()
	ctx := context.Background()
	q := db.New(e.pool)
	tn, err := q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: "t"})
	if err != nil {
		e.t.Fatal(err)
	}
	key, err := auth.NewAPIKey()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := q.CreateAPIKey(ctx, db.CreateAPIKeyParams{ID: uuid.New(), TenantID: tn.ID, Prefix: key.Prefix, Hash: key.Hash}); err != nil {
		e.t.Fatal(err)
	}
	for _, p := range pnids {
		if _, err := q.AddPhoneNumber(ctx, db.AddPhoneNumberParams{ID: uuid.New(), TenantID: tn.ID, PhoneNumberID: p, DisplayPhoneNumber: "+15550001111", WabaID: waba}); err != nil {
			e.t.Fatal(err)
		}
	}
	return tenant{ID: tn.ID, APIKey: key.Secret}
}

func sign(body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends body to the webhook endpoint with signature sig ("" for none).
func (e *env) post(body []byte, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/api/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

func (e *env) get(path, apiKey string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

// streamMsgs returns every message stored in the stream, in order.
func (e *env) streamMsgs() []*jetstream.RawStreamMsg {
	e.t.Helper()
	ctx := context.Background()
	info, err := e.stream.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := e.stream.GetMsg(ctx, seq)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// textWebhook is a Meta webhook carrying one inbound text message.
func textWebhook(waba, pnid, wamid, from, body string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":%q,"changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},"contacts":[{"profile":{"name":"Kerry"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"timestamp":"1718000000","text":{"body":%q},"type":"text"}]},"field":"messages"}]}]}`,
		waba, pnid, from, from, wamid, body))
}
