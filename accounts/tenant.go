package accounts

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/rls"
)

// inTenant runs fn in a transaction confined to tenant (rls.InTenant), for
// what by's tenant changes.
func (s *Service) inTenant(ctx context.Context, tenant uuid.UUID, fn func(q *db.Queries) error) error {
	return rls.InTenant(ctx, s.pool, tenant, fn)
}

// inTx runs fn in a transaction as the table owner, for what must find a
// user before any tenant is known (an email, a token).
func (s *Service) inTx(ctx context.Context, fn func(q *db.Queries) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error { return fn(s.q.WithTx(tx)) })
}
