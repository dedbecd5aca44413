package api

import (
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// Principal is who made a request: the tenant whose data it may touch, and
// as whom: a signed-in user (UserID, with the user's role) or an API key
// (APIKeyID; keys act with the admin role).
type Principal struct {
	TenantID uuid.UUID
	UserID   uuid.UUID
	APIKeyID uuid.UUID
	Role     string
	// KeyCreator is the user who made the API key, when an API key is the
	// principal; Nil for a key an operator made.
	KeyCreator uuid.UUID
}

const principalKey = "wam.principal"

// creator is the user who answers for what p makes: the signed-in user, or
// the maker of the API key; nil for an operator's key.
func (p Principal) creator() *uuid.UUID {
	switch {
	case p.UserID != uuid.Nil:
		return &p.UserID
	case p.KeyCreator != uuid.Nil:
		return &p.KeyCreator
	}
	return nil
}

func principal(c echo.Context) Principal { return c.Get(principalKey).(Principal) }

// requireAuth authenticates a request by an access token
// (`Authorization: Bearer <jwt>`) or an API key (`Authorization: Bearer
// <key>` or `X-API-Key: <key>`). Every handler behind it reads the tenant
// from the principal it sets, never from the request.
func (s *Server) requireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get("X-API-Key")
		bearer := ""
		if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			if strings.EqualFold(scheme, "Bearer") {
				bearer = strings.TrimSpace(token)
			}
		}
		switch {
		case key == "" && bearer == "":
			return domain.Errorf(domain.ErrUnauthorized, "sign in and send `Authorization: Bearer <access token>`, or send an API key as `Authorization: Bearer <key>` or `X-API-Key`")
		case key == "" && !auth.LooksLikeAPIKey(bearer):
			claims, err := s.tokens.Verify(bearer)
			if err != nil {
				return domain.Errorf(domain.ErrUnauthorized, "access token invalid or expired")
			}
			if claims.Role == auth.RoleOperator {
				op, err := s.ops.Authenticate(c.Request().Context(), claims)
				if err != nil {
					return err
				}
				c.Set(principalKey, Principal{UserID: op.ID, Role: auth.RoleOperator})
				return next(c)
			}
			// The token says who; the account says whether they still
			// may, and as what: a disabled or deleted user is out at once,
			// and a changed role applies to the next request, not in up to
			// 15 minutes when the token runs out.
			// A password change ends the sessions before it too.
			u, err := s.q.ActiveUser(c.Request().Context(), db.ActiveUserParams{TenantID: claims.TenantID, ID: claims.UserID})
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				return domain.Errorf(domain.ErrUnauthorized, "account disabled or deleted")
			case err != nil:
				return err
			case claims.SessionEpoch < u.SessionEpoch:
				return domain.Errorf(domain.ErrUnauthorized, "the password changed since this sign-in; sign in again")
			}
			c.Set(principalKey, Principal{TenantID: claims.TenantID, UserID: claims.UserID, Role: u.Role})
			return next(c)
		case key == "":
			key = bearer
		}
		ctx := c.Request().Context()
		hash := auth.HashAPIKey(key)
		k, err := s.apiKeys.Lookup(ctx, hash)
		now := s.now()
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return domain.Errorf(domain.ErrUnauthorized, "unknown API key")
		case err != nil:
			return err
		case k.RevokedAt != nil:
			return domain.Errorf(domain.ErrUnauthorized, "API key revoked")
		case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
			return domain.Errorf(domain.ErrUnauthorized, "API key expired")
		case !k.CreatorActive:
			return domain.Errorf(domain.ErrUnauthorized, "API key of a user who can no longer manage the tenant")
		}
		// Recorded at most once a minute per key, so reads do not all become writes.
		if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
			if err := s.q.TouchAPIKey(ctx, db.TouchAPIKeyParams{ID: k.ID, Now: now}); err != nil {
				s.log.Warn("record api key use", "err", err)
			} else {
				s.apiKeys.Touched(hash, now)
			}
		}
		c.Set(principalKey, Principal{TenantID: k.TenantID, APIKeyID: k.ID, Role: auth.RoleAdmin, KeyCreator: deref(k.CreatedBy)})
		return next(c)
	}
}
