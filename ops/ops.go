// Package ops holds the operators' tools: operators themselves (who run a
// wam installation, above tenants) and their audit log, webhook history,
// replays (re-projection through the projector's code, adoption of
// unrouted webhooks on demand), parked events and the health figures of
// streams and workers. Tenant owners and admins get the same history and
// replays for their own tenant. The API and the CLI call this package; it
// validates, authorizes, decides and publishes.
package ops

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/rls"
	"github.com/wam-project/wam/streams"
)

// Publisher appends events to the stream (*streams.Publisher).
type Publisher interface {
	Publish(ctx context.Context, e streams.Event) (uint64, error)
}

// Reprojector applies events again through a projector's code
// (*projections.Runner).
type Reprojector interface {
	Name() string
	Checkpoint(ctx context.Context) (uint64, error)
	Reproject(ctx context.Context, events []*projections.Event) (int, error)
}

// Adopter adopts the unrouted webhooks that have an owner now
// (*ingest.Adopter).
type Adopter interface {
	Pass(ctx context.Context) (int, error)
}

// Options are a Service's dependencies besides the database and the stream.
type Options struct {
	// Tokens issues operators' access tokens; needed for Login only.
	Tokens *auth.Tokens
	// Argon2 is the cost of new password hashes; zero: auth.DefaultArgon2.
	Argon2 auth.Argon2Params
	// Projectors are the projectors replays and retries go through, by
	// name; the inbox's is the one replays use.
	Projectors []Reprojector
	// Adopter runs adoption passes for adopt_unrouted replays.
	Adopter Adopter
	// Sender, when this process runs one, gives its counters to Stats.
	Sender SenderCounters
	// Rate bounds a replay's events per second; default 2000.
	Rate float64
	// Batch is how many events a replay applies in one transaction;
	// default 250. Small: each batch holds the projector's checkpoint row,
	// and live webhooks wait for it.
	Batch int
	// Busy, when set, reports that live traffic needs the machine: replays
	// wait while it does (api.Load.Busy).
	Busy func() bool
	// BatchRetries is how many times a replay's batch that failed for a
	// reason of the moment (PostgreSQL or NATS away, slow or locked) is
	// tried again before the job fails; default 5. RetryWait is the wait
	// before the first retry, doubling up to 10 s; default 1 s. So a job
	// rides out some 25 s of trouble.
	BatchRetries int
	RetryWait    time.Duration
	// Logger; nil: discard.
	Logger *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Service is the operators' tools.
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
	js   jetstream.JetStream
	pub  Publisher
	opts Options
	log  *slog.Logger
	now  func() time.Time

	nudge   chan struct{}
	sampler statsSampler
}

// New returns a Service.
func New(pool *pgxpool.Pool, js jetstream.JetStream, pub Publisher, opts Options) *Service {
	if opts.Argon2 == (auth.Argon2Params{}) {
		opts.Argon2 = auth.DefaultArgon2
	}
	if opts.Rate <= 0 {
		opts.Rate = 2000
	}
	if opts.Batch <= 0 {
		opts.Batch = 250
	}
	if opts.BatchRetries <= 0 {
		opts.BatchRetries = 5
	}
	if opts.RetryWait <= 0 {
		opts.RetryWait = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{pool: pool, q: db.New(pool), js: js, pub: pub, opts: opts, log: opts.Logger.With("area", "ops"),
		now: opts.Now, nudge: make(chan struct{}, 1)}
}

// Actor is who asks: an operator (Role auth.RoleOperator, OperatorID), a
// tenant's user or API key, or the CLI (CLI true: the machine's own
// operator, trusted like an operator).
type Actor struct {
	OperatorID uuid.UUID
	TenantID   uuid.UUID
	UserID     uuid.UUID
	APIKeyID   uuid.UUID
	Role       string
	CLI        bool
	// RequestID and IP say where the request came from, for the audit log.
	RequestID, IP string
}

// Operator reports whether a is an operator (or the CLI): one who sees
// every tenant.
func (a Actor) Operator() bool { return a.CLI || a.Role == auth.RoleOperator }

// String is a for the requested_by of jobs and the Wam-Actor header.
func (a Actor) String() string {
	switch {
	case a.CLI:
		return "cli"
	case a.Role == auth.RoleOperator:
		return "operator:" + a.OperatorID.String()
	case a.UserID != uuid.Nil:
		return "user:" + a.UserID.String()
	case a.APIKeyID != uuid.Nil:
		return "api_key:" + a.APIKeyID.String()
	}
	return "system"
}

// mayManageHistory refuses those who may not look at or replay history:
// operators may across tenants, a tenant's owners and admins (and API keys,
// which act as admins) in their tenant; agents may not.
func (a Actor) mayManageHistory() error {
	if a.Operator() || a.Role == auth.RoleOwner || a.Role == auth.RoleAdmin {
		return nil
	}
	return domain.Errorf(domain.ErrForbidden, "webhook history and replays need the role owner or admin")
}

// read runs fn as the actor may read: an operator across tenants (as the
// table owner), a tenant's user in a transaction confined to the tenant.
func (s *Service) read(ctx context.Context, by Actor, fn func(q *db.Queries) error) error {
	if by.Operator() {
		return fn(s.q)
	}
	return rls.InTenant(ctx, s.pool, by.TenantID, fn)
}

// readFiltered is read for the queries of the history's filter, planned
// for their parameters (PlanForParameters in sql/queries/ops.sql), so that
// a wamid or a phone number is found through its index.
func (s *Service) readFiltered(ctx context.Context, by Actor, fn func(q *db.Queries) error) error {
	planned := func(q *db.Queries) error {
		if err := q.PlanForParameters(ctx); err != nil {
			return fmt.Errorf("plan for the filter: %w", err)
		}
		return fn(q)
	}
	if by.Operator() {
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error { return planned(db.New(tx)) })
	}
	return rls.InTenant(ctx, s.pool, by.TenantID, planned)
}

// stream is the WAM stream.
func (s *Service) stream(ctx context.Context) (jetstream.Stream, error) {
	if s.js == nil {
		return nil, fmt.Errorf("ops: no stream in this process: %w", jetstream.ErrJetStreamNotEnabled)
	}
	st, err := s.js.Stream(ctx, streams.StreamName)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	return st, nil
}

var errOperatorsOnly = domain.Errorf(domain.ErrForbidden, "operators only")

// projector is the Reprojector named name.
func (s *Service) projector(name string) (Reprojector, error) {
	for _, p := range s.opts.Projectors {
		if p.Name() == name {
			return p, nil
		}
	}
	return nil, domain.Errorf(domain.ErrInvalid, "projector: no projector %q", name)
}
