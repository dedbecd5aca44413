// Package rls runs queries on behalf of one tenant in a transaction that
// PostgreSQL itself confines to that tenant.
package rls

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/sql/db"
)

// InTenant runs fn in a transaction that row-level security (migration
// 00002) confines to tenant: fn sees and writes only that tenant's rows,
// whatever its queries say. Callers still pass the tenant id to every query;
// this is the second lock on the door.
func InTenant(ctx context.Context, pool *pgxpool.Pool, tenant uuid.UUID, fn func(q *db.Queries) error) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		q := db.New(tx)
		if err := q.EnterTenant(ctx, tenant.String()); err != nil {
			return fmt.Errorf("enter tenant: %w", err)
		}
		return fn(q)
	})
}
