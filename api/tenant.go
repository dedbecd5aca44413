package api

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/wam-project/wam/sql/db"
)

// inTenant runs fn in a transaction that PostgreSQL itself confines to
// tenant: row-level security (migration 00002) shows fn only that tenant's
// rows, whatever its queries say. Handlers still pass the tenant id to every
// query; this is the second lock on the door.
func (s *Server) inTenant(ctx context.Context, tenant uuid.UUID, fn func(q *db.Queries) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if err := q.EnterTenant(ctx, tenant.String()); err != nil {
			return fmt.Errorf("enter tenant: %w", err)
		}
		return fn(q)
	})
}
