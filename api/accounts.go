package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/accounts"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// Register creates a tenant and its owner, and signs the owner in.
func (s handlers) Register(c echo.Context) error {
	var r apigen.RegisterRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	sess, err := s.accounts.Register(c.Request().Context(), accounts.Registration{
		TenantName: r.TenantName, Name: r.Name, Email: r.Email, Password: r.Password,
	})
	if err != nil {
		return limited(c, err)
	}
	return c.JSON(http.StatusCreated, sessionOf(sess))
}

// Login signs a user in with email and password.
func (s handlers) Login(c echo.Context) error {
	var r apigen.LoginRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	sess, err := s.accounts.Login(c.Request().Context(), actor(c), r.Email, r.Password)
	if err != nil {
		return limited(c, err)
	}
	return c.JSON(http.StatusOK, sessionOf(sess))
}

// Refresh trades a refresh token for a new access token and the next
// refresh token of its family.
func (s handlers) Refresh(c echo.Context) error {
	var r apigen.RefreshRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	sess, err := s.accounts.Refresh(c.Request().Context(), actor(c), r.RefreshToken)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sessionOf(sess))
}

// Logout revokes the refresh token's whole family.
func (s handlers) Logout(c echo.Context) error {
	var r apigen.RefreshRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if err := s.accounts.Logout(c.Request().Context(), r.RefreshToken); err != nil {
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

func validText(field, s string, max int) error {
	if s == "" || len([]rune(s)) > max {
		return domain.Errorf(domain.ErrInvalid, "%s: 1 to %d characters", field, max)
	}
	return nil
}

// AcceptInvite lets an invitee set their password with the invitation
// token, and signs them in.
func (s handlers) AcceptInvite(c echo.Context) error {
	var r apigen.AcceptInviteRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	sess, err := s.accounts.AcceptInvite(c.Request().Context(), actor(c), r.Token, r.Password)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sessionOf(sess))
}

// ChangePassword lets a signed-in user change their password, given the
// current one; every other sign-in of theirs ends.
func (s handlers) ChangePassword(c echo.Context) error {
	var r apigen.ChangePasswordRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	sess, err := s.accounts.ChangePassword(c.Request().Context(), actor(c), r.CurrentPassword, r.NewPassword)
	if err != nil {
		return limited(c, err)
	}
	return c.JSON(http.StatusOK, sessionOf(sess))
}

// limited is err, with Retry-After set when it is the 429 of an account
// address's sign-in limit.
func limited(c echo.Context, err error) error {
	if errors.Is(err, accounts.ErrTooManyAttempts) {
		return errTooMany(c)
	}
	return err
}

func sessionOf(s accounts.Session) apigen.Session {
	return apigen.Session{
		AccessToken: s.AccessToken, TokenType: apigen.SessionTokenTypeBearer, ExpiresIn: int(s.ExpiresIn / time.Second),
		RefreshToken: s.RefreshToken, User: userOf(s.User),
	}
}
