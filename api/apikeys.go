package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// CreateAPIKey makes a developer key; its secret is in this answer only.
func (s handlers) CreateAPIKey(c echo.Context) error {
	p := principal(c)
	var r apigen.CreateAPIKeyRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	r.Name = strings.TrimSpace(r.Name)
	if err := validText("name", r.Name, 100); err != nil {
		return err
	}
	expires := ptr(r.ExpiresAt)
	if expires != nil && !expires.After(s.now()) {
		return domain.Errorf(domain.ErrInvalid, "expires_at: must be in the future")
	}
	key, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	var k db.CreateAPIKeyRow
	err = s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		k, err = q.CreateAPIKey(c.Request().Context(), db.CreateAPIKeyParams{
			ID: uuid.New(), TenantID: p.TenantID, Name: r.Name, Prefix: key.Prefix, Hash: key.Hash, ExpiresAt: expires,
			CreatedBy: p.creator(),
		})
		if err != nil {
			return err
		}
		return s.audit(c.Request().Context(), q, c, p.TenantID, "api_key.created", k.ID.String(), map[string]any{"prefix": k.Prefix, "name": k.Name})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, apigen.APIKey{
		Id: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(), ExpiresAt: null(utc(k.ExpiresAt)),
		LastUsedAt: null[time.Time](nil), RevokedAt: null[time.Time](nil), Key: key.Secret,
	})
}

// ListAPIKeys lists the tenant's keys, without their secrets.
func (s handlers) ListAPIKeys(c echo.Context) error {
	p := principal(c)
	var rows []db.ListAPIKeysRow
	err := s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		rows, err = q.ListAPIKeys(c.Request().Context(), p.TenantID)
		return err
	})
	if err != nil {
		return err
	}
	out := apigen.APIKeyList{Data: make([]apigen.APIKey, len(rows))}
	for i, k := range rows {
		out.Data[i] = apigen.APIKey{Id: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(),
			ExpiresAt: null(utc(k.ExpiresAt)), LastUsedAt: null(utc(k.LastUsedAt)), RevokedAt: null(utc(k.RevokedAt))}
	}
	return c.JSON(http.StatusOK, out)
}

// RevokeAPIKey stops a key from working.
func (s handlers) RevokeAPIKey(c echo.Context, id uuid.UUID) error {
	p := principal(c)
	var n int64
	err := s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
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
	s.apiKeys.Changed()
	return c.NoContent(http.StatusNoContent)
}
