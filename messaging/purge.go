package messaging

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/sql/db"
)

// PurgeIdempotency forgets Idempotency-Keys older than IdempotencyTTL,
// every interval until ctx ends. (An expired key is also forgotten when it
// is used again; this keeps the table from growing.)
func PurgeIdempotency(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, interval time.Duration, now func() time.Time) {
	q := db.New(pool)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		callCtx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := q.PurgeIdempotency(callCtx, now().Add(-IdempotencyTTL))
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("purge idempotency keys", "err", err)
		case n > 0:
			log.Info("idempotency keys purged", "keys", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
