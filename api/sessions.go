package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wam-project/wam/sql/db"
)

// PurgeSessions deletes, every interval until ctx ends, the refresh tokens
// of sign-ins that are over (every token of the family expired), so the
// table holds live sessions only. Spent tokens of a live family stay: they
// are how a stolen token's reuse is noticed.
func PurgeSessions(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, interval time.Duration, now func() time.Time) {
	q := db.New(pool)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		callCtx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := q.PurgeRefreshTokens(callCtx, now())
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("purge ended sessions", "err", err)
		case n > 0:
			log.Info("ended sessions purged", "refresh_tokens", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
