package accounts

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/wam-project/wam/sql/db"
)

// Audit records a security-relevant action in tenant's audit log with q,
// which should be the transaction of the change itself where there is one.
// The actor is by's user or API key, when it has one.
func Audit(ctx context.Context, q *db.Queries, by Actor, tenant uuid.UUID, action, target string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	d, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	return q.InsertAudit(ctx, db.InsertAuditParams{
		TenantID: tenant, ActorUser: nilUUID(by.UserID), ActorKey: nilUUID(by.APIKeyID),
		Action: action, Target: target, Detail: d, RequestID: by.RequestID, Ip: by.IP,
	})
}

func nilUUID(u uuid.UUID) *uuid.UUID {
	if u == uuid.Nil {
		return nil
	}
	return &u
}
