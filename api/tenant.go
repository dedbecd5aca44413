package api

import (
	"context"

	"github.com/google/uuid"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/rls"
)

// inTenant runs fn in a transaction confined to tenant (rls.InTenant).
func (s *Server) inTenant(ctx context.Context, tenant uuid.UUID, fn func(q *db.Queries) error) error {
	return rls.InTenant(ctx, s.pool, tenant, fn)
}
