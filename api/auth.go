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

// Principal is who made a request: the tenant whose data it may touch.
type Principal struct {
	TenantID uuid.UUID
	APIKeyID uuid.UUID
}

const principalKey = "wam.principal"

func principal(c echo.Context) Principal { return c.Get(principalKey).(Principal) }

// requireAPIKey authenticates a developer by `Authorization: Bearer <key>` or
// `X-API-Key: <key>`. Every handler behind it reads the tenant from the
// principal it sets, never from the request.
func (s *Server) requireAPIKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get("X-API-Key")
		if h := c.Request().Header.Get(echo.HeaderAuthorization); key == "" && h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			if strings.EqualFold(scheme, "Bearer") {
				key = strings.TrimSpace(token)
			}
		}
		if key == "" {
			return domain.Errorf(domain.ErrUnauthorized, "send an API key as `Authorization: Bearer <key>` or `X-API-Key`")
		}
		ctx := c.Request().Context()
		k, err := s.q.GetAPIKeyByHash(ctx, auth.HashAPIKey(key))
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
		}
		// Recorded at most once a minute per key, so reads do not all become writes.
		if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
			if err := s.q.TouchAPIKey(ctx, db.TouchAPIKeyParams{ID: k.ID, Now: now}); err != nil {
				s.log.Warn("record api key use", "err", err)
			}
		}
		c.Set(principalKey, Principal{TenantID: k.TenantID, APIKeyID: k.ID})
		return next(c)
	}
}
