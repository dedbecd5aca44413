package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// errBadLogin is the one answer to a wrong email or password: which of the
// two was wrong is not told.
var errBadLogin = domain.Errorf(domain.ErrUnauthorized, "email or password is wrong")

// Register creates a tenant and its owner, and signs the owner in.
func (s handlers) Register(c echo.Context) error {
	var r apigen.RegisterRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	r.TenantName, r.Name = strings.TrimSpace(r.TenantName), strings.TrimSpace(r.Name)
	email, err := validEmail(r.Email)
	if err != nil {
		return err
	}
	// Per address of the account too: a sign-up tells whether an account
	// exists (409), so probing one address is slowed down like guessing.
	if ok, _ := s.registerLimits.Allow(email); !ok {
		return errTooMany(c)
	}
	if err := validText("tenant_name", r.TenantName, 200); err != nil {
		return err
	}
	if err := validText("name", r.Name, 200); err != nil {
		return err
	}
	if err := validPassword("password", r.Password); err != nil {
		return err
	}
	hash, err := auth.HashPassword(r.Password, s.argon2)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var u db.User
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		t, err := q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: r.TenantName})
		if err != nil {
			return err
		}
		u, err = q.CreateUser(ctx, db.CreateUserParams{
			ID: uuid.New(), TenantID: t.ID, Email: email, Name: r.Name, PasswordHash: hash, Role: auth.RoleOwner,
		})
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return domain.Errorf(domain.ErrConflict, "email: an account with this address exists; sign in instead")
	}
	if err != nil {
		return err
	}
	sess, err := s.signIn(ctx, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, sess)
}

// Login signs a user in with email and password.
func (s handlers) Login(c echo.Context) error {
	var r apigen.LoginRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(r.Email))
	switch {
	case email == "":
		return domain.Errorf(domain.ErrInvalid, "email: required")
	case r.Password == "":
		return domain.Errorf(domain.ErrInvalid, "password: required")
	case len(r.Password) > auth.MaxPasswordLen:
		return errBadLogin
	}
	if !s.allowAccount(email) {
		s.log.Warn("sign-in attempts limited", "request_id", requestID(c))
		return errTooMany(c)
	}
	ctx := c.Request().Context()
	u, err := s.q.UserByEmail(ctx, email)
	if errors.Is(err, pgx.ErrNoRows) {
		// Spend the time a real check takes, so that timing does not tell
		// which addresses have accounts.
		_ = auth.VerifyPassword(r.Password, s.dummyHash())
		return errBadLogin
	}
	if err != nil {
		return err
	}
	if err := auth.VerifyPassword(r.Password, u.PasswordHash); err != nil || u.DisabledAt != nil {
		reason := "wrong password"
		if err == nil {
			reason = "account disabled"
		}
		if err := s.audit(ctx, s.q, c, u.TenantID, "login_failed", u.ID.String(), map[string]any{"reason": reason}); err != nil {
			return err
		}
		return errBadLogin
	}
	if err := s.q.RecordLogin(ctx, db.RecordLoginParams{ID: u.ID, At: s.now()}); err != nil {
		return err
	}
	if err := s.audit(ctx, s.q, c, u.TenantID, "login", u.ID.String(), nil); err != nil {
		return err
	}
	sess, err := s.signIn(ctx, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sess)
}

// Refresh trades a refresh token for a new access token and the next
// refresh token of its family. A token used a second time revokes the
// family: one of the two users of it is a thief, and both must sign in again.
func (s handlers) Refresh(c echo.Context) error {
	var r apigen.RefreshRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := s.now()
	if r.RefreshToken == "" {
		return domain.Errorf(domain.ErrInvalid, "refresh_token: required")
	}
	var (
		sess   apigen.Session
		reused *db.RefreshToken // the spent token presented again
	)
	// The next token is stored in the same transaction that spends this
	// one. Stored after the commit, it could arrive after a concurrent
	// reuse of this token had revoked the family, and outlive it.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		rt, u, err := lockRefreshToken(ctx, q, r.RefreshToken)
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
		return err
	}
	if reused != nil {
		s.log.Warn("refresh token reused: family revoked", "request_id", requestID(c), "tenant_id", reused.TenantID)
		if err := s.audit(ctx, s.q, c, reused.TenantID, "refresh_token_reused", reused.UserID.String(), map[string]any{"family": reused.FamilyID}); err != nil {
			return err
		}
		return domain.Errorf(domain.ErrUnauthorized, "refresh token already used; every session of this sign-in is revoked, sign in again")
	}
	return c.JSON(http.StatusOK, sess)
}

// Logout revokes the refresh token's whole family. Unknown tokens are not
// an error: the caller is signed out either way.
func (s handlers) Logout(c echo.Context) error {
	var r apigen.RefreshRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if r.RefreshToken == "" {
		return domain.Errorf(domain.ErrInvalid, "refresh_token: required")
	}
	ctx := c.Request().Context()
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		rt, _, err := lockRefreshToken(ctx, q, r.RefreshToken)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return q.RevokeRefreshFamily(ctx, db.RevokeRefreshFamilyParams{FamilyID: rt.FamilyID, At: s.now()})
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// Me is the caller: a user, or an API key.
func (s handlers) Me(c echo.Context) error {
	p := principal(c)
	if p.UserID == uuid.Nil {
		return c.JSON(http.StatusOK, apigen.Me{TenantId: p.TenantID, Role: apigen.Role(p.Role), ApiKeyId: &p.APIKeyID})
	}
	var u db.User
	err := s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		u, err = q.UserByID(c.Request().Context(), db.UserByIDParams{TenantID: p.TenantID, ID: p.UserID})
		return notFound(err, "user")
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apigen.Me{Id: &u.ID, TenantId: u.TenantID, Email: &u.Email, Name: &u.Name, Role: apigen.Role(u.Role)})
}

// newSession issues an access token and a refresh token of family for u,
// storing the refresh token with q.
func (s *Server) newSession(ctx context.Context, q *db.Queries, u db.User, family uuid.UUID) (apigen.Session, error) {
	access, _, err := s.tokens.Issue(auth.Claims{UserID: u.ID, TenantID: u.TenantID, Role: u.Role, SessionEpoch: u.SessionEpoch})
	if err != nil {
		return apigen.Session{}, err
	}
	refresh, hash, err := auth.NewRefreshToken()
	if err != nil {
		return apigen.Session{}, err
	}
	now := s.now()
	if err := q.CreateRefreshToken(ctx, db.CreateRefreshTokenParams{
		ID: uuid.New(), TenantID: u.TenantID, UserID: u.ID, FamilyID: family, Hash: hash,
		CreatedAt: now, ExpiresAt: now.Add(auth.RefreshTTL),
	}); err != nil {
		return apigen.Session{}, err
	}
	return apigen.Session{
		AccessToken: access, TokenType: apigen.SessionTokenTypeBearer, ExpiresIn: int(auth.AccessTTL / time.Second),
		RefreshToken: refresh, User: userOf(u),
	}, nil
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
func (s *Server) signIn(ctx context.Context, u db.User) (apigen.Session, error) {
	var sess apigen.Session
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
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

func userOf(u db.User) apigen.User {
	return apigen.User{Id: u.ID, TenantId: u.TenantID, Email: u.Email, Name: u.Name, Role: apigen.Role(u.Role)}
}

func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// decodeJSON reads a JSON request body of at most MaxRequestBytes into v,
// refusing unknown fields; errors name the field at fault.
func decodeJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, MaxRequestBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		if dec.More() {
			return domain.Errorf(domain.ErrInvalid, "body: one JSON object expected")
		}
		return nil
	case errors.As(err, &typeErr):
		return domain.Errorf(domain.ErrInvalid, "%s: must be a %s", typeErr.Field, typeErr.Type)
	case errors.As(err, &tooBig):
		return errBodyTooLarge()
	case errors.Is(err, io.EOF):
		return domain.Errorf(domain.ErrInvalid, "body: a JSON object is required")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return domain.Errorf(domain.ErrInvalid, "%s: unknown field", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	}
	return domain.Errorf(domain.ErrInvalid, "body: not valid JSON")
}

func validEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", domain.Errorf(domain.ErrInvalid, "email: not an email address")
	}
	return s, nil
}

func validText(field, s string, max int) error {
	if s == "" || len([]rune(s)) > max {
		return domain.Errorf(domain.ErrInvalid, "%s: 1 to %d characters", field, max)
	}
	return nil
}

func validPassword(field, p string) error {
	if n := len([]rune(p)); n < auth.MinPasswordLen || len(p) > auth.MaxPasswordLen {
		return domain.Errorf(domain.ErrInvalid, "%s: %d to %d characters", field, auth.MinPasswordLen, auth.MaxPasswordLen)
	}
	return nil
}

// AcceptInvite lets an invitee set their password with the invitation
// token, once and before it expires, and signs them in.
func (s handlers) AcceptInvite(c echo.Context) error {
	var r apigen.AcceptInviteRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if err := validPassword("password", r.Password); err != nil {
		return err
	}
	ctx := c.Request().Context()
	token := auth.HashRefreshToken(r.Token)
	usable := func(u db.User, err error) error {
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && (u.InviteExpiresAt == nil || !s.now().Before(*u.InviteExpiresAt))) {
			return domain.Errorf(domain.ErrUnauthorized, "token: unknown, used or expired invitation; ask for a new one")
		}
		return err
	}
	// The token is checked before the password is hashed: a hash costs
	// 64 MiB and tens of milliseconds, not to be spent on a guess.
	if err := usable(s.q.UserByInvite(ctx, token)); err != nil {
		return err
	}
	hash, err := auth.HashPassword(r.Password, s.argon2)
	if err != nil {
		return err
	}
	var sess apigen.Session
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		// Locks the user's row: accepting, like a refresh, holds the
		// user's sign-in lock.
		cur, err := q.UserByInviteForUpdate(ctx, token)
		if err := usable(cur, err); err != nil {
			return err
		}
		if cur.DisabledAt != nil {
			return domain.Errorf(domain.ErrUnauthorized, "account disabled")
		}
		// Setting the password ends whatever sign-ins the account had,
		// as a password change does.
		u, err := q.AcceptInvite(ctx, db.AcceptInviteParams{ID: cur.ID, PasswordHash: hash})
		if err != nil {
			return err
		}
		if err := q.RevokeUserRefreshTokens(ctx, db.RevokeUserRefreshTokensParams{TenantID: u.TenantID, UserID: u.ID, At: s.now()}); err != nil {
			return err
		}
		if sess, err = s.newSession(ctx, q, u, uuid.New()); err != nil {
			return err
		}
		return s.audit(ctx, q, c, u.TenantID, "user.invite_accepted", u.ID.String(), nil)
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sess)
}

// ChangePassword lets a signed-in user change their password, given the
// current one. Every other sign-in of theirs ends (a password is changed
// because it may be known to someone else); this one goes on with the new
// session in the answer.
func (s handlers) ChangePassword(c echo.Context) error {
	p := principal(c)
	if p.UserID == uuid.Nil {
		return domain.Errorf(domain.ErrForbidden, "an API key has no password: sign in as a user")
	}
	var r apigen.ChangePasswordRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if err := validPassword("new_password", r.NewPassword); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var u db.User
	err := s.inTenant(ctx, p.TenantID, func(q *db.Queries) (err error) {
		u, err = q.UserByID(ctx, db.UserByIDParams{TenantID: p.TenantID, ID: p.UserID})
		return notFound(err, "user")
	})
	if err != nil {
		return err
	}
	if !s.allowAccount(u.Email) {
		return errTooMany(c)
	}
	if len(r.CurrentPassword) > auth.MaxPasswordLen || auth.VerifyPassword(r.CurrentPassword, u.PasswordHash) != nil {
		if err := s.audit(ctx, s.q, c, p.TenantID, "password_change_failed", u.ID.String(), nil); err != nil {
			return err
		}
		return domain.Errorf(domain.ErrInvalid, "current_password: does not match")
	}
	hash, err := auth.HashPassword(r.NewPassword, s.argon2)
	if err != nil {
		return err
	}
	var sess apigen.Session
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		u, err := q.SetPassword(ctx, db.SetPasswordParams{TenantID: p.TenantID, ID: u.ID, PasswordHash: hash})
		if err != nil {
			return err
		}
		if err := q.RevokeUserRefreshTokens(ctx, db.RevokeUserRefreshTokensParams{TenantID: p.TenantID, UserID: u.ID, At: s.now()}); err != nil {
			return err
		}
		if sess, err = s.newSession(ctx, q, u, uuid.New()); err != nil {
			return err
		}
		return s.audit(ctx, q, c, p.TenantID, "password_changed", u.ID.String(), nil)
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sess)
}
