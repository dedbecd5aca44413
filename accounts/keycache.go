package accounts

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/sql/db"
)

// authChannel is where PostgreSQL tells of changes to API keys and their
// creators (migration 00028).
const authChannel = "wam_auth"

// KeyCache keeps the API keys recently looked up, so that a request signed
// with one costs no query. It is right only while it hears of every change
// that could make a key invalid, so it keeps keys only while it listens to
// PostgreSQL's notifications on wam_auth (a trigger on api_keys and users
// sends one, whichever process made the change: this server, another, the
// CLI) and forgets them all on each. While it is not listening (Run not
// started, the connection lost) every lookup is a query. Changes this
// process makes are forgotten at once by Changed, without waiting for the
// notification. An entry lives at most maxAge, a bound should anything go
// unheard.
type KeyCache struct {
	pool   *pgxpool.Pool
	q      *db.Queries
	log    *slog.Logger
	maxAge time.Duration
	now    func() time.Time

	mu        sync.Mutex
	listening bool
	gen       uint64 // changes seen; a lookup that began before one is not kept
	keys      map[string]keyEntry
}

type keyEntry struct {
	row db.GetAPIKeyByHashRow
	at  time.Time
}

// keyCacheMax bounds the keys kept; past it, the cache starts over.
const keyCacheMax = 10000

// NewKeyCache returns a KeyCache over pool; it caches once Run listens.
func NewKeyCache(pool *pgxpool.Pool, log *slog.Logger) *KeyCache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &KeyCache{pool: pool, q: db.New(pool), log: log, maxAge: time.Minute, now: time.Now, keys: map[string]keyEntry{}}
}

// Lookup returns the key whose hash is hash, as GetAPIKeyByHash does
// (pgx.ErrNoRows when there is none; unknown keys are never kept).
func (c *KeyCache) Lookup(ctx context.Context, hash []byte) (db.GetAPIKeyByHashRow, error) {
	c.mu.Lock()
	e, ok := c.keys[string(hash)]
	gen, listening := c.gen, c.listening
	c.mu.Unlock()
	if ok && c.now().Sub(e.at) < c.maxAge {
		return e.row, nil
	}
	row, err := c.q.GetAPIKeyByHash(ctx, hash)
	if err != nil || !listening {
		return row, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen && c.listening {
		if len(c.keys) >= keyCacheMax {
			clear(c.keys)
		}
		c.keys[string(hash)] = keyEntry{row: row, at: c.now()}
	}
	return row, nil
}

// Touched records that the key was marked used at, so that the cached row
// tells when to mark it next.
func (c *KeyCache) Touched(hash []byte, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.keys[string(hash)]; ok {
		e.row.LastUsedAt = &at
		c.keys[string(hash)] = e
	}
}

// Changed forgets every key: something a key's validity depends on may
// have changed. Call it after committing such a change. A nil KeyCache
// keeps nothing, so there is nothing to forget.
func (c *KeyCache) Changed() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.keys)
}

func (c *KeyCache) reset(listening bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.listening = listening
	clear(c.keys)
}

// Listening reports whether the cache keeps keys now.
func (c *KeyCache) Listening() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.listening
}

// Run listens for changes until ctx ends, connecting again after a lost
// connection; meanwhile the cache keeps nothing.
func (c *KeyCache) Run(ctx context.Context) {
	for wait := 100 * time.Millisecond; ctx.Err() == nil; wait = min(2*wait, 5*time.Second) {
		err := c.listen(ctx)
		c.reset(false)
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("API key cache: not listening for changes; every key is looked up meanwhile", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// listen holds a connection of its own listening on authChannel, until
// ctx ends or the connection fails.
func (c *KeyCache) listen(ctx context.Context) error {
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := c.pool.Acquire(actx)
	cancel()
	if err != nil {
		return err
	}
	// Its own: a pooled connection must not stay listening once handed back.
	pc := conn.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = pc.Close(cctx)
	}()
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = pc.Exec(lctx, "LISTEN "+authChannel)
	cancel()
	if err != nil {
		return err
	}
	// Anything looked up before the LISTEN took effect may be stale.
	c.reset(true)
	for {
		// A bounded wait, so that a connection gone silently is noticed.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := pc.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			c.Changed()
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = pc.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}
