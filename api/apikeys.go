package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// APIKey is a developer key as the API lists it: never its secret.
type APIKey struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	// Key is the secret, in the answer to its creation only.
	Key string `json:"key,omitempty"`
}

type createAPIKeyRequest struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (s *Server) createAPIKey(c echo.Context) error {
	p := principal(c)
	var r createAPIKeyRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	r.Name = strings.TrimSpace(r.Name)
	if err := validText("name", r.Name, 100); err != nil {
		return err
	}
	if r.ExpiresAt != nil && !r.ExpiresAt.After(s.now()) {
		return domain.Errorf(domain.ErrInvalid, "expires_at: must be in the future")
	}
	key, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	var k db.CreateAPIKeyRow
	err = s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		k, err = q.CreateAPIKey(c.Request().Context(), db.CreateAPIKeyParams{
			ID: uuid.New(), TenantID: p.TenantID, Name: r.Name, Prefix: key.Prefix, Hash: key.Hash, ExpiresAt: r.ExpiresAt,
		})
		if err != nil {
			return err
		}
		return s.audit(c.Request().Context(), q, c, p.TenantID, "api_key.created", k.ID.String(), map[string]any{"prefix": k.Prefix, "name": k.Name})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, APIKey{
		ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(), ExpiresAt: utc(k.ExpiresAt), Key: key.Secret,
	})
}

func (s *Server) listAPIKeys(c echo.Context) error {
	p := principal(c)
	var rows []db.ListAPIKeysRow
	err := s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		rows, err = q.ListAPIKeys(c.Request().Context(), p.TenantID)
		return err
	})
	if err != nil {
		return err
	}
	out := make([]APIKey, len(rows))
	for i, k := range rows {
		out[i] = APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(),
			ExpiresAt: utc(k.ExpiresAt), LastUsedAt: utc(k.LastUsedAt), RevokedAt: utc(k.RevokedAt)}
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

func (s *Server) revokeAPIKey(c echo.Context) error {
	p := principal(c)
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	var n int64
	err = s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		n, err = q.RevokeAPIKey(c.Request().Context(), db.RevokeAPIKeyParams{TenantID: p.TenantID, ID: id})
		if err != nil || n == 0 {
			return err
		}
		return s.audit(c.Request().Context(), q, c, p.TenantID, "api_key.revoked", id.String(), nil)
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.Errorf(domain.ErrNotFound, "api key not found")
	}
	return c.NoContent(http.StatusNoContent)
}
