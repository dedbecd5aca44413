package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/wam-project/wam/internal/await"
)

// TestAPIKeyCache: a key looked up once is served from memory, and a change
// made by another process (here plain SQL, as the CLI or another server
// would make it) reaches the cache through PostgreSQL's notification; with
// the listening connection lost the cache keeps nothing until it listens
// again.
func TestAPIKeyCache(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.mustTenant("waba-cache", "pn-cache")
	ok := func() int { return e.get("/api/conversations", tn.APIKey).Code }
	if code := ok(); code != http.StatusOK {
		t.Fatalf("a fresh key: %d", code)
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := e.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}

	// Served from memory: with the notification switched off, a revocation
	// is not seen (this is what the trigger is for).
	exec(`ALTER TABLE api_keys DISABLE TRIGGER api_keys_auth_changed`)
	exec(`UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1`, tn.ID)
	if code := ok(); code != http.StatusOK {
		t.Fatalf("the key was not kept in memory: %d", code)
	}
	exec(`ALTER TABLE api_keys ENABLE TRIGGER api_keys_auth_changed`)
	exec(`UPDATE api_keys SET revoked_at = NULL WHERE tenant_id = $1`, tn.ID)
	await.Until(t, 5*time.Second, "the key to work again", func() bool { return ok() == http.StatusOK })

	// Another process revokes it: the notification empties the cache.
	exec(`UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1`, tn.ID)
	await.Until(t, 5*time.Second, "the revoked key to be refused", func() bool { return ok() == http.StatusUnauthorized })

	// The creator losing the right to manage the tenant is heard too.
	exec(`UPDATE api_keys SET revoked_at = NULL WHERE tenant_id = $1`, tn.ID)
	await.Until(t, 5*time.Second, "the key to work again", func() bool { return ok() == http.StatusOK })
	owner := e.register(t, "keys-cache@example.com")
	key := e.send(http.MethodPost, "/api/api-keys", owner.AccessToken, map[string]string{"name": "cached"})
	if key.Code != http.StatusCreated {
		t.Fatalf("create key: %d %s", key.Code, key.Body)
	}
	var created struct{ Key string }
	if err := json.Unmarshal(key.Body.Bytes(), &created); err != nil || created.Key == "" {
		t.Fatalf("no key in %s (%v)", key.Body, err)
	}
	secret := created.Key
	if code := e.get("/api/conversations", secret).Code; code != http.StatusOK {
		t.Fatalf("the owner's key: %d", code)
	}
	exec(`UPDATE users SET role = 'agent' WHERE id = $1`, owner.User.ID)
	await.Until(t, 5*time.Second, "the key of a creator now an agent to be refused", func() bool {
		return e.get("/api/conversations", secret).Code == http.StatusUnauthorized
	})

	// The listening connection lost: what was kept before is forgotten
	// (changes may have gone unheard meanwhile).
	exec(`UPDATE api_keys SET revoked_at = NULL WHERE tenant_id = $1`, tn.ID)
	await.Until(t, 5*time.Second, "the key to work again", func() bool { return ok() == http.StatusOK })
	listener := func() (pid int) {
		_ = e.pool.QueryRow(ctx, `SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE query = 'LISTEN wam_auth' AND datname = current_database()`).Scan(&pid)
		return pid
	}
	first := listener()
	if first == 0 {
		t.Fatal("no connection listens on wam_auth")
	}
	exec(`ALTER TABLE api_keys DISABLE TRIGGER api_keys_auth_changed`)
	exec(`UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1`, tn.ID)
	exec(`SELECT pg_terminate_backend($1)`, first)
	await.Until(t, 15*time.Second, "the cache to listen on a new connection", func() bool {
		pid := listener()
		return pid != 0 && pid != first && e.keys.Listening()
	})
	exec(`ALTER TABLE api_keys ENABLE TRIGGER api_keys_auth_changed`)
	if code := ok(); code != http.StatusUnauthorized {
		t.Errorf("a key kept across the lost connection: %d", code)
	}
}
