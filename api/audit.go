package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// audit records a security-relevant action in the tenant's audit log with
// q, which should be the transaction of the change itself where there is
// one. The actor is the request's principal when it has one.
func (s *Server) audit(ctx context.Context, q *db.Queries, c echo.Context, tenant uuid.UUID, action, target string, detail map[string]any) error {
	p := Principal{TenantID: tenant}
	if pp, ok := c.Get(principalKey).(Principal); ok {
		p = pp
	}
	if detail == nil {
		detail = map[string]any{}
	}
	d, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	return q.InsertAudit(ctx, db.InsertAuditParams{
		TenantID: tenant, ActorUser: nilUUID(p.UserID), ActorKey: nilUUID(p.APIKeyID),
		Action: action, Target: target, Detail: d, RequestID: requestID(c), Ip: c.RealIP(),
	})
}

func nilUUID(u uuid.UUID) *uuid.UUID {
	if u == uuid.Nil {
		return nil
	}
	return &u
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID        int64           `json:"id"`
	At        time.Time       `json:"at"`
	ActorUser *uuid.UUID      `json:"actor_user_id"`
	ActorKey  *uuid.UUID      `json:"actor_api_key_id"`
	Action    string          `json:"action"`
	Target    string          `json:"target"`
	Detail    json.RawMessage `json:"detail"`
	RequestID string          `json:"request_id"`
	IP        string          `json:"ip"`
}

// listAudit pages through the audit log, newest first; the cursor is the id
// of the last entry seen.
func (s *Server) listAudit(c echo.Context) error {
	p := principal(c)
	limit := defaultLimit
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return domain.Errorf(domain.ErrInvalid, "limit: must be an integer from 1 to %d", maxLimit)
		}
		limit = n
	}
	var before int64
	if v := c.QueryParam("cursor"); v != "" {
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
	page := Page[AuditEntry]{Data: make([]AuditEntry, 0, len(rows))}
	for i, r := range rows {
		if i == limit {
			page.NextCursor = strconv.FormatInt(rows[i-1].ID, 10)
			break
		}
		page.Data = append(page.Data, AuditEntry{ID: r.ID, At: r.At.UTC(), ActorUser: r.ActorUser, ActorKey: r.ActorKey,
			Action: r.Action, Target: r.Target, Detail: r.Detail, RequestID: r.RequestID, IP: r.Ip})
	}
	return c.JSON(http.StatusOK, page)
}
