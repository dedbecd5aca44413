// Package accounts is the one home of the rules about tenants' accounts:
// signing up and in, sessions, passwords, invitations, and who may change
// whom. The API's handlers and the CLI's commands decode their input, call
// a Service and encode its answer; they hold none of these rules
// themselves.
package accounts

import (
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// Actor is who asks for something and from where: a tenant's user or API
// key, or nobody yet (signing in, an operator at the CLI). The audit log
// records it, and who may act on whom is decided by its role.
type Actor struct {
	TenantID uuid.UUID
	UserID   uuid.UUID // Nil: not a signed-in user
	APIKeyID uuid.UUID // Nil: not an API key
	Role     string
	// RequestID and IP say where the request came from, for the audit log
	// and the logs; empty at the CLI.
	RequestID, IP string
}

// Options are a Service's dependencies besides the database.
type Options struct {
	// APIKeys is told when a user changes, since their API keys may stop
	// working; nil: nobody keeps keys.
	APIKeys *KeyCache
	// Argon2 is the cost of new password hashes; zero: auth.DefaultArgon2.
	Argon2 auth.Argon2Params
	// Tokens issues access tokens; nil: the Service starts no sessions
	// (the CLI, which only resets passwords).
	Tokens *auth.Tokens
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Log receives warnings about sign-ins (limits hit, stolen tokens);
	// nil: discarded.
	Log *slog.Logger
	// AllowSignIn and AllowSignUp report whether another attempt for an
	// account address may be made now: password guessing (sign-in, password
	// change), and probing which addresses have accounts (sign-up,
	// invitation). nil: no limit.
	AllowSignIn, AllowSignUp func(email string) bool
}

// Service carries out the accounts' rules over PostgreSQL.
type Service struct {
	pool   *pgxpool.Pool
	q      *db.Queries
	argon2 auth.Argon2Params
	tokens *auth.Tokens
	now    func() time.Time
	log    *slog.Logger
	keys   *KeyCache
	// allowSignIn and allowSignUp: see Options.
	allowSignIn, allowSignUp func(email string) bool
	// dummyHash is verified against when an email has no account, so that
	// a login takes as long whether or not the address is known. It is made
	// at the first such login, not at start: an argon2 hash takes 64 MiB,
	// which an idle server would otherwise keep in its resident memory.
	dummyHash func() string
}

// ErrTooManyAttempts is the answer when an account address's limit
// (Options.AllowSignIn, AllowSignUp) is reached.
var ErrTooManyAttempts = domain.Errorf(domain.ErrTooMany, "too many attempts; retry in a few seconds")

// New returns the accounts' Service over pool.
func New(pool *pgxpool.Pool, opts Options) *Service {
	if opts.Argon2 == (auth.Argon2Params{}) {
		opts.Argon2 = auth.DefaultArgon2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	always := func(string) bool { return true }
	if opts.AllowSignIn == nil {
		opts.AllowSignIn = always
	}
	if opts.AllowSignUp == nil {
		opts.AllowSignUp = always
	}
	return &Service{
		pool: pool, q: db.New(pool), keys: opts.APIKeys, argon2: opts.Argon2, tokens: opts.Tokens, now: opts.Now, log: opts.Log,
		allowSignIn: opts.AllowSignIn, allowSignUp: opts.AllowSignUp,
		dummyHash: sync.OnceValue(func() string {
			h, err := auth.HashPassword("no account has this password", opts.Argon2)
			if err != nil {
				panic(err) // the system's randomness failed
			}
			return h
		}),
	}
}
