// Package api is wam's HTTP surface: Meta's webhook endpoint, the developer
// API and (later) the live inbox's WebSocket. Routes are in routes.go.
package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Config is the part of wam's configuration the HTTP layer needs.
type Config struct {
	AppSecret   string // META_APP_SECRET: signs Meta's webhooks
	VerifyToken string // WEBHOOK_VERIFY_TOKEN: Meta's subscription check
	// PublishTimeout bounds the wait for JetStream's ack of a webhook; past
	// it Meta gets a 503 and delivers again. 0: 10 s.
	PublishTimeout time.Duration
}

// Publisher appends events to the stream.
type Publisher interface {
	Publish(ctx context.Context, e streams.Event) (uint64, error)
}

// Readiness reports whether a dependency can serve; nil when it can.
type Readiness func(ctx context.Context) error

// Server holds the HTTP handlers' dependencies.
type Server struct {
	cfg    Config
	pool   *pgxpool.Pool
	q      *db.Queries
	pub    Publisher
	router *Router
	ready  []Readiness
	log    *slog.Logger
	now    func() time.Time
}

// New returns the HTTP handler of wam. ready lists the checks behind /readyz.
func New(cfg Config, pool *pgxpool.Pool, pub Publisher, log *slog.Logger, ready ...Readiness) *echo.Echo {
	q := db.New(pool)
	if cfg.PublishTimeout == 0 {
		cfg.PublishTimeout = 10 * time.Second
	}
	s := &Server{
		cfg:    cfg,
		pool:   pool,
		q:      q,
		pub:    pub,
		router: NewRouter(q, time.Now),
		ready:  ready,
		log:    log,
		now:    time.Now,
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RequestID())
	e.Use(middleware.Recover())
	s.routes(e)
	return e
}
