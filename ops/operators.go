package ops

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
)

// Session is an operator's sign-in: an access token only. Operators sign in
// again when it runs out (15 minutes); they have no refresh tokens, which
// belong to tenants' users.
type Session struct {
	AccessToken string
	ExpiresIn   time.Duration
	Operator    db.Operator
}

var errBadLogin = domain.Errorf(domain.ErrUnauthorized, "email or password is wrong")

func normalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CreateOperator makes an operator with a one-time password, returned once
// (`wam operator create`). Only the machine's own operator makes
// operators: there is no API for it.
func (s *Service) CreateOperator(ctx context.Context, email, name string) (db.Operator, string, error) {
	email = normalEmail(email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return db.Operator{}, "", domain.Errorf(domain.ErrInvalid, "email: not an email address")
	}
	if len(name) > 200 {
		return db.Operator{}, "", domain.Errorf(domain.ErrInvalid, "name: at most 200 characters")
	}
	password := rand.Text()
	hash, err := auth.HashPassword(password, s.opts.Argon2)
	if err != nil {
		return db.Operator{}, "", err
	}
	var op db.Operator
	err = s.inTx(ctx, func(q *db.Queries) error {
		op, err = q.InsertOperator(ctx, db.InsertOperatorParams{ID: uuid.New(), Email: email, Name: name, PasswordHash: hash})
		if dberr.Constraint(err) == "operators_email_key" {
			return domain.Errorf(domain.ErrConflict, "email: an operator has the address %s", email)
		}
		if err != nil {
			return err
		}
		return audit(ctx, q, Actor{CLI: true}, "operator.created", nil, op.ID.String(), map[string]any{"email": email})
	})
	return op, password, err
}

// Login signs an operator in with email and password. Failures and
// successes are audited.
func (s *Service) Login(ctx context.Context, by Actor, email, password string) (Session, error) {
	email = normalEmail(email)
	switch {
	case email == "":
		return Session{}, domain.Errorf(domain.ErrInvalid, "email: required")
	case password == "":
		return Session{}, domain.Errorf(domain.ErrInvalid, "password: required")
	case len(password) > auth.MaxPasswordLen:
		return Session{}, errBadLogin
	}
	op, err := s.q.OperatorByEmail(ctx, email)
	if errors.Is(err, pgx.ErrNoRows) {
		// The time a real check takes, so that timing tells nothing.
		_ = auth.VerifyPassword(password, dummyHash)
		if err := audit(ctx, s.q, by, "login_failed", nil, "", map[string]any{"email": email, "reason": "no such operator"}); err != nil {
			return Session{}, err
		}
		return Session{}, errBadLogin
	}
	if err != nil {
		return Session{}, err
	}
	by.OperatorID = op.ID
	if err := auth.VerifyPassword(password, op.PasswordHash); err != nil || op.DisabledAt != nil {
		reason := "wrong password"
		if err == nil {
			reason = "operator disabled"
		}
		if err := audit(ctx, s.q, by, "login_failed", nil, op.ID.String(), map[string]any{"reason": reason}); err != nil {
			return Session{}, err
		}
		return Session{}, errBadLogin
	}
	if s.opts.Tokens == nil {
		return Session{}, errors.New("ops: no token issuer")
	}
	tok, exp, err := s.opts.Tokens.Issue(auth.Claims{UserID: op.ID, TenantID: uuid.Nil, Role: auth.RoleOperator, SessionEpoch: op.SessionEpoch})
	if err != nil {
		return Session{}, fmt.Errorf("issue token: %w", err)
	}
	err = s.inTx(ctx, func(q *db.Queries) error {
		if err := q.RecordOperatorLogin(ctx, db.RecordOperatorLoginParams{ID: op.ID, At: new(s.now())}); err != nil {
			return err
		}
		return audit(ctx, q, Actor{OperatorID: op.ID, Role: auth.RoleOperator, RequestID: by.RequestID, IP: by.IP}, "login", nil, op.ID.String(), nil)
	})
	if err != nil {
		return Session{}, err
	}
	return Session{AccessToken: tok, ExpiresIn: time.Until(exp).Round(time.Second), Operator: op}, nil
}

// Authenticate is the operator an access token of role operator names, if
// the operator is still enabled and the token of the current session epoch.
func (s *Service) Authenticate(ctx context.Context, c auth.Claims) (db.Operator, error) {
	if c.Role != auth.RoleOperator || c.TenantID != uuid.Nil {
		return db.Operator{}, domain.Errorf(domain.ErrUnauthorized, "not an operator's token")
	}
	op, err := s.q.ActiveOperator(ctx, c.UserID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return db.Operator{}, domain.Errorf(domain.ErrUnauthorized, "operator disabled or deleted")
	case err != nil:
		return db.Operator{}, err
	case c.SessionEpoch < op.SessionEpoch:
		return db.Operator{}, domain.Errorf(domain.ErrUnauthorized, "sign in again")
	}
	return op, nil
}

// dummyHash is verified against for unknown addresses (a hash of a random
// password with the default cost).
var dummyHash = func() string {
	h, err := auth.HashPassword(rand.Text(), auth.DefaultArgon2)
	if err != nil {
		panic(err)
	}
	return h
}()

// inTx runs fn in a transaction as the table owner.
func (s *Service) inTx(ctx context.Context, fn func(q *db.Queries) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(s.q.WithTx(tx)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
