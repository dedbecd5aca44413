// Package api is wam's HTTP surface: Meta's webhook endpoint, the developer
// API and (later) the live inbox's WebSocket. Routes are in routes.go.
package api

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/wam-project/wam/accounts"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/canned"
	"github.com/wam-project/wam/erasure"
	"github.com/wam-project/wam/ingest"
	"github.com/wam-project/wam/live"
	"github.com/wam-project/wam/messaging"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/numbers"
	"github.com/wam-project/wam/ops"
	"github.com/wam-project/wam/rebuild"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
	"github.com/wam-project/wam/templates"
)

// Config is the part of wam's configuration the HTTP layer needs.
type Config struct {
	AppSecret   string // META_APP_SECRET: signs Meta's webhooks
	VerifyToken string // WEBHOOK_VERIFY_TOKEN: Meta's subscription check
	// PublishTimeout bounds the wait for JetStream's ack of a webhook; past
	// it Meta gets a 503 and delivers again. 0: 10 s.
	PublishTimeout time.Duration
	// FrontendURL is the one origin browsers may call the API from (CORS);
	// empty: same origin only.
	FrontendURL string
	// TrustedProxies are the networks of reverse proxies in front of wam,
	// whose X-Forwarded-For names the client; empty: the client is the
	// connection's peer.
	TrustedProxies []*net.IPNet
	// Registry is where the HTTP layer registers its metrics and what
	// /metrics serves; nil: a registry of its own.
	Registry *prometheus.Registry
	// Load, when set, counts the webhooks received, for projectors that
	// give way during bursts.
	Load *Load
	// Tokens issues and verifies access tokens; nil: a fresh key, which
	// only suits tests (tokens die with the process).
	Tokens *auth.Tokens
	// Argon2 is the cost of new password hashes; zero: auth.DefaultArgon2.
	Argon2 auth.Argon2Params
	// Keys encrypts numbers' credentials at rest; nil: a fresh key, which
	// only suits tests.
	Keys *auth.KeyRing
	// Graph is Meta's Graph API, which vouches for access tokens; nil: Meta
	// at META_API_BASE_URL's default.
	Graph Graph
	// Router and Secrets route webhooks and hold tenants' own app secrets,
	// shared with the webhook Adopter; nil: the server's own.
	Router  *ingest.Router
	Secrets *ingest.Secrets
	// NumbersChanged, when set, is called after a number was connected or
	// deleted (the Adopter looks for webhooks the number now owns).
	NumbersChanged func()
	// SendChecks are the template and media rules a send must pass.
	SendChecks messaging.Checks
	// Templates is the templates area behind /api/templates; nil: one over
	// the server's pool, Graph (when it speaks templates) and Keys, without
	// its sync worker.
	Templates *templates.Service
	// NumberConnected, when set, is called with the tenant after it
	// connected a number or gave one a new token (its WABA's templates are
	// then synced).
	NumberConnected func(tenant uuid.UUID)
	// RequestTimeout bounds each API request: every call it makes to
	// PostgreSQL or NATS must answer within it, or the request is a 503
	// with Retry-After. 0: 5 s. Webhooks have PublishTimeout instead.
	RequestTimeout time.Duration
	// Media keeps media files (uploads, downloads); nil: their endpoints
	// answer 503.
	Media Media
	// MediaTimeout bounds an upload or a download of a media file, body
	// included (files are up to 100 MB). 0: 10 min.
	MediaTimeout time.Duration
	// Live is the live inbox's hub behind GET /api/ws; nil: 503.
	Live *live.Hub
	// Ops is the operators' tools behind /api/ops, /api/webhooks and
	// /api/replays (it should issue tokens with Tokens); nil: one over the
	// server's pool without a stream, for operators' sign-in only (the rest
	// answers 503).
	Ops *ops.Service
	// Rebuilds runs online rebuilds (/api/ops/rebuilds); nil: 503.
	Rebuilds *rebuild.Service
	// Erasure erases contacts (/api/contacts/{id}/erase); nil: 503.
	Erasure *erasure.Service
	// APIKeys looks API keys up, from memory while its Run listens for
	// changes; nil: one that is not run, so every request queries.
	APIKeys *accounts.KeyCache
}

// Publisher appends events to the stream.
type Publisher interface {
	Publish(ctx context.Context, e streams.Event) (uint64, error)
}

// Server holds the HTTP handlers' dependencies.
type Server struct {
	cfg    Config
	pool   *pgxpool.Pool
	q      *db.Queries
	pub    Publisher
	ingest *ingest.Receiver
	// messaging records send requests (and read requests).
	messaging *messaging.Service
	templates *templates.Service
	canned    *canned.Service
	ops       *ops.Service
	ready     []Dependency
	log       *slog.Logger
	now       func() time.Time
	metrics   *metrics
	tokens    *auth.Tokens
	// accounts holds the rules of sign-ins, passwords and users.
	accounts *accounts.Service
	// ipLimits and accountLimits slow down password guessing;
	// registerLimits probing an address with sign-ups.
	ipLimits, accountLimits, registerLimits *middleware.RateLimiterMemoryStore
	quotas                                  quotas
	keys                                    *auth.KeyRing
	apiKeys                                 *accounts.KeyCache
	graph                                   Graph
	openapiJSON                             []byte // the contract, served at /api/openapi.json
}

// New returns the HTTP handler of wam. ready lists the dependencies
// /readyz checks.
func New(cfg Config, pool *pgxpool.Pool, pub Publisher, log *slog.Logger, ready ...Dependency) *echo.Echo {
	q := db.New(pool)
	if cfg.PublishTimeout == 0 {
		cfg.PublishTimeout = 10 * time.Second
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.MediaTimeout == 0 {
		cfg.MediaTimeout = 10 * time.Minute
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Tokens == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err) // the system's randomness failed: nothing can be signed
		}
		cfg.Tokens = auth.NewTokens(priv, time.Now)
	}
	if cfg.Keys == nil {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			panic(err)
		}
		kr, err := auth.ParseKeyRing(base64.StdEncoding.EncodeToString(k))
		if err != nil {
			panic(err)
		}
		cfg.Keys = kr
	}
	if cfg.Graph == nil {
		cfg.Graph = meta.NewClient("https://graph.facebook.com", "v23.0")
	}
	if cfg.Router == nil {
		cfg.Router = ingest.NewRouter(q, ingest.RouterOptions{Logger: log})
	}
	if cfg.Secrets == nil {
		cfg.Secrets = ingest.NewSecrets(q, cfg.Keys, ingest.RouterOptions{Logger: log})
	}
	if cfg.Templates == nil {
		graph, _ := cfg.Graph.(templates.Graph)
		cfg.Templates = templates.New(pool, pub, graph, numbers.NewCredentials(q, cfg.Keys), templates.Options{Logger: log})
	}
	if cfg.Ops == nil {
		cfg.Ops = ops.New(pool, nil, pub, ops.Options{Tokens: cfg.Tokens, Argon2: cfg.Argon2, Logger: log})
	}
	s := &Server{
		cfg:       cfg,
		ops:       cfg.Ops,
		pool:      pool,
		q:         q,
		pub:       pub,
		ingest:    ingest.NewReceiver(cfg.Router, cfg.Secrets, pub, cfg.AppSecret, time.Now),
		messaging: messaging.New(pool, pub, cfg.SendChecks, time.Now),
		templates: cfg.Templates,
		canned:    canned.New(pool, time.Now),
		ready:     ready,
		log:       log,
		now:       time.Now,

		metrics: newMetrics(cfg.Registry),
		tokens:  cfg.Tokens,

		ipLimits:       newSignInStore(),
		accountLimits:  newSignInStore(),
		registerLimits: newSignInStore(),
		quotas:         quotas{limiters: map[uuid.UUID]*quota{}},
		keys:           cfg.Keys,
		graph:          cfg.Graph,
	}
	if cfg.APIKeys == nil {
		cfg.APIKeys = accounts.NewKeyCache(pool, log)
	}
	s.apiKeys = cfg.APIKeys
	s.accounts = accounts.New(pool, accounts.Options{
		APIKeys: cfg.APIKeys, Argon2: cfg.Argon2, Tokens: cfg.Tokens, Now: s.now, Log: log,
		AllowSignIn: s.allowAccount, AllowSignUp: s.allowSignUp,
	})
	s.ingest.Published = func(d time.Duration) { s.metrics.publish.Observe(d.Seconds()) }
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	// The client address is the connection's: X-Forwarded-For and X-Real-IP
	// are anyone's to write, and would let a client dodge the sign-in limits.
	// Only proxies the operator named may say who the client is.
	e.IPExtractor = echo.ExtractIPDirect()
	if len(cfg.TrustedProxies) > 0 {
		trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range cfg.TrustedProxies {
			trust = append(trust, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
	}
	e.Use(sanitizeRequestID, middleware.RequestID())
	e.Use(s.observe)
	e.Use(middleware.Recover())
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:         "0", // obsolete, and harmful in old browsers
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		ReferrerPolicy:        "no-referrer",
		ContentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'",
	}))
	if cfg.FrontendURL != "" {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:     []string{cfg.FrontendURL},
			AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
			AllowHeaders:     []string{echo.HeaderAuthorization, echo.HeaderContentType, "X-API-Key", "Idempotency-Key"},
			AllowCredentials: true,
			MaxAge:           600,
		}))
	}
	doc, err := LoadOpenAPI(context.Background())
	if err != nil {
		panic(err) // the embedded document is checked by tests: a bad one is a build defect
	}
	if s.openapiJSON, err = json.Marshal(documentRoles(doc)); err != nil {
		panic(err)
	}
	s.routes(e, doc)
	return e
}
