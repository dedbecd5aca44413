package accounts

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// Session is a sign-in: a short-lived access token and the refresh token
// that gets the next one, for User.
type Session struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration // of the access token
	User         db.User
}

// errBadLogin is the one answer to a wrong email or password: which of the
// two was wrong is not told.
var errBadLogin = domain.Errorf(domain.ErrUnauthorized, "email or password is wrong")

// Login signs a user in with email and password.
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
	if !s.allowSignIn(email) {
		s.log.Warn("sign-in attempts limited", "request_id", by.RequestID)
		return Session{}, ErrTooManyAttempts
	}
	u, err := s.q.UserByEmail(ctx, email)
	if errors.Is(err, pgx.ErrNoRows) {
		// Spend the time a real check takes, so that timing does not tell
		// which addresses have accounts.
		_ = auth.VerifyPassword(password, s.dummyHash())
		return Session{}, errBadLogin
	}
	if err != nil {
		return Session{}, err
	}
	if err := auth.VerifyPassword(password, u.PasswordHash); err != nil || u.DisabledAt != nil {
		reason := "wrong password"
		if err == nil {
			reason = "account disabled"
		}
		if err := Audit(ctx, s.q, by, u.TenantID, "login_failed", u.ID.String(), map[string]any{"reason": reason}); err != nil {
			return Session{}, err
		}
		return Session{}, errBadLogin
	}
	if err := s.q.RecordLogin(ctx, db.RecordLoginParams{ID: u.ID, At: s.now()}); err != nil {
		return Session{}, err
	}
	if err := Audit(ctx, s.q, by, u.TenantID, "login", u.ID.String(), nil); err != nil {
		return Session{}, err
	}
	return s.signIn(ctx, u)
}

// Refresh trades a refresh token for a new access token and the next
// refresh token of its family. A token used a second time revokes the
// family: one of the two users of it is a thief, and both must sign in again.
func (s *Service) Refresh(ctx context.Context, by Actor, token string) (Session, error) {
	now := s.now()
	if token == "" {
		return Session{}, domain.Errorf(domain.ErrInvalid, "refresh_token: required")
	}
	var (
		sess   Session
		reused *db.RefreshToken // the spent token presented again
	)
	// The next token is stored in the same transaction that spends this
	// one. Stored after the commit, it could arrive after a concurrent
	// reuse of this token had revoked the family, and outlive it.
	err := s.inTx(ctx, func(q *db.Queries) error {
		rt, u, err := lockRefreshToken(ctx, q, token)
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.Errorf(domain.ErrUnauthorized, "refresh token unknown")
		}
		if err != nil {
			return err
		}
		switch {
		case rt.RevokedAt != nil:
			return domain.Errorf(domain.ErrUnauthorized, "refresh token revoked; sign in again")
		case rt.UsedAt != nil:
			reused = &rt
			return q.RevokeRefreshFamily(ctx, db.RevokeRefreshFamilyParams{FamilyID: rt.FamilyID, At: now})
		case !now.Before(rt.ExpiresAt):
			return domain.Errorf(domain.ErrUnauthorized, "refresh token expired; sign in again")
		}
		if u.DisabledAt != nil {
			return domain.Errorf(domain.ErrUnauthorized, "account disabled")
		}
		if err := q.UseRefreshToken(ctx, db.UseRefreshTokenParams{ID: rt.ID, At: now}); err != nil {
			return err
		}
		sess, err = s.newSession(ctx, q, u, rt.FamilyID)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	if reused != nil {
		s.log.Warn("refresh token reused: family revoked", "request_id", by.RequestID, "tenant_id", reused.TenantID)
		if err := Audit(ctx, s.q, by, reused.TenantID, "refresh_token_reused", reused.UserID.String(), map[string]any{"family": reused.FamilyID}); err != nil {
			return Session{}, err
		}
		return Session{}, domain.Errorf(domain.ErrUnauthorized, "refresh token already used; every session of this sign-in is revoked, sign in again")
	}
	return sess, nil
}

// Logout revokes the refresh token's whole family. Unknown tokens are not
// an error: the caller is signed out either way.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return domain.Errorf(domain.ErrInvalid, "refresh_token: required")
	}
	return s.inTx(ctx, func(q *db.Queries) error {
		rt, _, err := lockRefreshToken(ctx, q, token)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return q.RevokeRefreshFamily(ctx, db.RevokeRefreshFamilyParams{FamilyID: rt.FamilyID, At: s.now()})
	})
}

// newSession issues an access token and a refresh token of family for u,
// storing the refresh token with q.
func (s *Service) newSession(ctx context.Context, q *db.Queries, u db.User, family uuid.UUID) (Session, error) {
	if s.tokens == nil {
		return Session{}, errors.New("accounts: sessions need Options.Tokens")
	}
	access, _, err := s.tokens.Issue(auth.Claims{UserID: u.ID, TenantID: u.TenantID, Role: u.Role, SessionEpoch: u.SessionEpoch})
	if err != nil {
		return Session{}, err
	}
	refresh, hash, err := auth.NewRefreshToken()
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	if err := q.CreateRefreshToken(ctx, db.CreateRefreshTokenParams{
		ID: uuid.New(), TenantID: u.TenantID, UserID: u.ID, FamilyID: family, Hash: hash,
		CreatedAt: now, ExpiresAt: now.Add(auth.RefreshTTL),
	}); err != nil {
		return Session{}, err
	}
	return Session{AccessToken: access, RefreshToken: refresh, ExpiresIn: auth.AccessTTL, User: u}, nil
}

// lockRefreshToken finds the refresh token and locks its user's sign-ins
// (UserForUpdate) before reading the token again: what it then says holds
// until q's transaction ends. pgx.ErrNoRows: no such token, or no such user.
func lockRefreshToken(ctx context.Context, q *db.Queries, token string) (db.RefreshToken, db.User, error) {
	hash := auth.HashRefreshToken(token)
	rt, err := q.RefreshTokenByHash(ctx, hash)
	if err != nil {
		return rt, db.User{}, err
	}
	u, err := q.UserForUpdate(ctx, db.UserForUpdateParams{TenantID: rt.TenantID, ID: rt.UserID})
	if err != nil {
		return rt, u, err
	}
	rt, err = q.RefreshTokenByHash(ctx, hash)
	return rt, u, err
}

// signIn starts a new sign-in of u, whose password was just checked. It
// holds u's sign-in lock, and refuses when the password changed or the
// account was disabled since u was read: a revocation that committed in
// between must not be outlived by this sign-in.
func (s *Service) signIn(ctx context.Context, u db.User) (Session, error) {
	var sess Session
	err := s.inTx(ctx, func(q *db.Queries) error {
		now, err := q.UserForUpdate(ctx, db.UserForUpdateParams{TenantID: u.TenantID, ID: u.ID})
		switch {
		case errors.Is(err, pgx.ErrNoRows) || (err == nil && (now.DisabledAt != nil || now.SessionEpoch != u.SessionEpoch)):
			return errBadLogin
		case err != nil:
			return err
		}
		sess, err = s.newSession(ctx, q, now, uuid.New())
		return err
	})
	return sess, err
}

// endSignIns revokes every refresh token of u: each of u's sign-ins ends
// at its next refresh, or at once where u's session epoch moved too.
func (s *Service) endSignIns(ctx context.Context, q *db.Queries, u db.User) error {
	return q.RevokeUserRefreshTokens(ctx, db.RevokeUserRefreshTokensParams{TenantID: u.TenantID, UserID: u.ID, At: s.now()})
}
