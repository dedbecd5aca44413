package ops

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/wam-project/wam/sql/db"
)

// audit records what by did in the operators' audit log with q (the
// transaction of the change where there is one). Actions of tenants' users
// go to their tenant's audit log instead (accounts.Audit): see auditAs.
func audit(ctx context.Context, q *db.Queries, by Actor, action string, tenant *uuid.UUID, target string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	if by.CLI {
		detail["by"] = "cli"
	}
	d, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	var op *uuid.UUID
	if by.OperatorID != uuid.Nil {
		op = &by.OperatorID
	}
	return q.InsertOpsAudit(ctx, db.InsertOpsAuditParams{OperatorID: op, Action: action, TenantID: tenant, Target: target,
		Detail: d, RequestID: by.RequestID, Ip: by.IP})
}

// AuditPage is a page of the operators' audit log, newest first.
type AuditPage struct {
	Entries []db.OpsAuditLog
	Next    int64 // cursor of the next page; 0: none
}

// AuditLog pages through the operators' audit log (operators only).
func (s *Service) AuditLog(ctx context.Context, by Actor, before int64, limit int) (AuditPage, error) {
	if !by.Operator() {
		return AuditPage{}, errOperatorsOnly
	}
	rows, err := s.q.ListOpsAudit(ctx, db.ListOpsAuditParams{Before: before, Lim: int32(limit) + 1})
	if err != nil {
		return AuditPage{}, err
	}
	var p AuditPage
	if len(rows) > limit {
		rows = rows[:limit]
		p.Next = rows[limit-1].ID
	}
	p.Entries = rows
	return p, nil
}

// Audit records in the operators' audit log an action of by done through
// another area's service (a rebuild started, say), after it succeeded.
func (s *Service) Audit(ctx context.Context, by Actor, action string, tenant *uuid.UUID, target string, detail map[string]any) error {
	return audit(ctx, db.New(s.pool), by, action, tenant, target, detail)
}
