package rebuild

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
)

// swapLockTimeout bounds the wait for each table's lock in the swap. It is
// below PostgreSQL's deadlock_timeout (1 s), so that when a reader holding
// one table waits for another the swap has locked, the swap is the one to
// give up (and try again), not the reader.
const swapLockTimeout = "500ms"

// swapTimeout bounds the swap transaction: while it runs, the live
// projector waits.
const swapTimeout = time.Minute

// vacuumLockTimeout bounds the wait for the read models' SHARE UPDATE
// EXCLUSIVE locks, the swap's first step. Autovacuum holds that lock on a
// table it works on, for minutes on a large one, and gives it up only to a
// conflicting request that has waited PostgreSQL's deadlock_timeout (1 s):
// a swap that asked for its ACCESS EXCLUSIVE locks at once would give up
// after swapLockTimeout every time, and fail after its 20 attempts. The
// mode conflicts with neither readers nor writers, so the wait holds up
// nobody and can be part of no deadlock with them; an autovacuum run to
// prevent wraparound, which does not give way, can outlast it.
const vacuumLockTimeout = "5s"

// swap brings the stopped shadow to exactly the live projector's
// checkpoint and swaps it in, in one transaction. swapped is false, with
// no error, when a lock could not be had in time or the live projector is
// behind the shadow (for one tenant's rebuild, which must meet it
// exactly): the caller lets the shadow run a little and tries again.
func (s *Service) swap(ctx context.Context, log *slog.Logger, p *progress, r *projections.Runner, proj projections.Projection) (swapped bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, swapTimeout)
	defer cancel()
	shadow := p.row.Shadow
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := db.New(tx)
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+vacuumLockTimeout+"'"); err != nil {
		return false, err
	}
	if p.row.TenantID == nil {
		// Autovacuum out of the read models, and kept out, before anyone
		// waits for the swap (see vacuumLockTimeout).
		if _, err := tx.Exec(ctx, "LOCK TABLE "+publicTables()+" IN SHARE UPDATE EXCLUSIVE MODE"); err != nil {
			return retryable(err)
		}
	}
	// The live projector's checkpoint row, locked: its next batch waits
	// for this transaction, and so its checkpoint stays where it is.
	if err := q.EnsureCheckpoint(ctx, proj.Name()); err != nil {
		return false, err
	}
	live, err := q.HoldCheckpoint(ctx, proj.Name())
	if err != nil {
		return retryable(err)
	}
	// The job's row, held too: a cancel asked for before the swap stops
	// it, one asked for during it waits and finds the job done.
	asked, err := q.LockRebuild(ctx, p.row.ID)
	if err != nil {
		return retryable(err)
	}
	if asked {
		return false, errCancelled
	}
	// Bring the shadow to the live checkpoint, in this transaction.
	if _, err := tx.Exec(ctx, "SET LOCAL search_path = "+ident(shadow)+", public"); err != nil {
		return false, err
	}
	n, err := r.CatchUp(ctx, tx, uint64(live))
	if err != nil {
		return false, fmt.Errorf("catch the shadow up to %d: %w", live, err)
	}
	reached, err := q.GetCheckpoint(ctx, proj.Name()) // the shadow's
	if err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, "SET LOCAL search_path = public"); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+swapLockTimeout+"'"); err != nil {
		return false, err
	}
	if p.row.TenantID == nil {
		if err := swapTables(ctx, tx, shadow); err != nil {
			return retryable(err)
		}
		// The shadow may be ahead of the live projector: the live one then
		// skips what the new tables hold already.
		if reached > live {
			if err := q.SetCheckpoint(ctx, db.SetCheckpointParams{Name: proj.Name(), LastSeq: reached}); err != nil {
				return false, err
			}
		}
	} else {
		if reached > live {
			// The live projector will apply the tenant's events after its
			// checkpoint to the rows copied in: they must stop where it is.
			log.Info("live projector behind the shadow; waiting for it", "live", live, "shadow", reached)
			_ = tx.Rollback(ctx)
			return false, s.waitLive(ctx, proj.Name(), reached)
		}
		if err := copyTenant(ctx, tx, shadow, p.row.TenantID.String()); err != nil {
			return retryable(err)
		}
	}
	// The job ends with the swap, in its transaction.
	cp, done := max(reached, live), p.row.EventsDone+int64(n)
	if err := q.FinishRebuild(ctx, db.FinishRebuildParams{ID: p.row.ID, State: StateDone, Checkpoint: cp,
		EventsDone: done, Now: s.now()}); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return retryable(err)
	}
	p.row.Checkpoint, p.row.EventsDone, p.row.EventsLeft = cp, done, 0
	log.Info("swapped in", "checkpoint", p.row.Checkpoint, "caught_up", n)
	return true, nil
}

// retryable turns a lock timeout (or a deadlock this transaction lost) into
// a swap to try again.
func retryable(err error) (bool, error) {
	if dberr.Is(err, pgerrcode.LockNotAvailable) || dberr.Is(err, pgerrcode.DeadlockDetected) {
		return false, nil
	}
	return false, err
}

// publicTables lists the read models in public, for LOCK TABLE.
func publicTables() string {
	names := make([]string, len(Tables))
	for i, t := range Tables {
		names[i] = ident("public", t)
	}
	return strings.Join(names, ", ")
}

// swapTables moves the current read-model tables out of public into the
// retired schema and the shadow's in, with their indexes, constraints,
// policies and grants (which move with a table). Readers that come during
// the swap wait for its commit and then read the new tables: PostgreSQL
// looks a name up again once it has the lock, and plans made before are
// made again.
func swapTables(ctx context.Context, tx pgx.Tx, shadow string) error {
	old := retired(shadow)
	stmts := []string{"CREATE SCHEMA " + ident(old)}
	for _, t := range Tables {
		stmts = append(stmts,
			fmt.Sprintf("ALTER TABLE %s SET SCHEMA %s", ident("public", t), ident(old)),
			fmt.Sprintf("ALTER TABLE %s SET SCHEMA public", ident(shadow, t)))
	}
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
	}
	return nil
}

// copyTenant replaces the tenant's rows of every read model with the
// shadow's.
func copyTenant(ctx context.Context, tx pgx.Tx, shadow, tenant string) error {
	q := db.New(tx)
	for i := len(Tables) - 1; i >= 0; i-- {
		st := fmt.Sprintf("DELETE FROM %s WHERE tenant_id = $1", ident("public", Tables[i]))
		if _, err := tx.Exec(ctx, st, tenant); err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
	}
	for _, t := range Tables {
		cols, err := q.TableColumns(ctx, ident("public", t))
		if err != nil {
			return err
		}
		list := strings.Join(cols, ", ")
		st := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", ident("public", t), list, list, ident(shadow, t))
		if _, err := tx.Exec(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
	}
	return nil
}

// waitLive waits for the live projector's checkpoint to reach seq.
func (s *Service) waitLive(ctx context.Context, name string, seq int64) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		cp, err := db.New(s.pool).GetCheckpoint(ctx, name)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if cp >= seq {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the live projector did not reach %d: %w", seq, ctx.Err())
		case <-tick.C:
		}
	}
}
