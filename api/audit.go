package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/accounts"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// audit records a security-relevant action in the tenant's audit log with
// q, which should be the transaction of the change itself where there is
// one. The actor is the request's principal when it has one.
func (s *Server) audit(ctx context.Context, q *db.Queries, c echo.Context, tenant uuid.UUID, action, target string, detail map[string]any) error {
	return accounts.Audit(ctx, q, actor(c), tenant, action, target, detail)
}

// actor is who makes the request, as the accounts' rules see it: its
// principal, if it has one yet, and where it comes from.
func actor(c echo.Context) accounts.Actor {
	a := accounts.Actor{RequestID: requestID(c), IP: c.RealIP()}
	if p, ok := c.Get(principalKey).(Principal); ok {
		a.TenantID, a.UserID, a.APIKeyID, a.Role = p.TenantID, p.UserID, p.APIKeyID, p.Role
	}
	return a
}

// ListAuditLog pages through the audit log, newest first; the cursor is
// the id of the last entry seen.
func (s handlers) ListAuditLog(c echo.Context, f apigen.ListAuditLogParams) error {
	p := principal(c)
	limit := defaultLimit
	if f.Limit != nil {
		if *f.Limit < 1 || *f.Limit > maxLimit {
			return domain.Errorf(domain.ErrInvalid, "limit: must be an integer from 1 to %d", maxLimit)
		}
		limit = *f.Limit
	}
	var before int64
	if v := deref(f.Cursor); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return domain.Errorf(domain.ErrInvalid, "cursor: not a cursor this API returned")
		}
		before = n
	}
	var rows []db.AuditLog
	err := s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		rows, err = q.ListAudit(c.Request().Context(), db.ListAuditParams{TenantID: p.TenantID, Before: before, Lim: int32(limit) + 1})
		return err
	})
	if err != nil {
		return err
	}
	page := apigen.AuditPage{Data: make([]apigen.AuditEntry, 0, len(rows))}
	for i, r := range rows {
		if i == limit {
			page.NextCursor = strconv.FormatInt(rows[i-1].ID, 10)
			break
		}
		page.Data = append(page.Data, apigen.AuditEntry{Id: r.ID, At: r.At.UTC(), ActorUserId: null(r.ActorUser), ActorApiKeyId: null(r.ActorKey),
			Action: r.Action, Target: r.Target, Detail: r.Detail, RequestId: r.RequestID, Ip: r.Ip})
	}
	return c.JSON(http.StatusOK, page)
}
