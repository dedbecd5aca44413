package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/wam-project/wam/auth"
)

// TestRefreshRace: one refresh token presented many times at once. Exactly
// one use succeeds; the others are reuse, so the family is revoked, and
// that includes the token the winner was just given, whichever order the
// transactions commit in.
func TestRefreshRace(t *testing.T) {
	e := newEnv(t)
	for round := range 5 {
		s := e.register(t, "race"+string(rune('a'+round))+"@example.com")
		const n = 8
		codes := make([]int, n)
		next := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": s.RefreshToken})
				codes[i] = rec.Code
				if rec.Code == http.StatusOK {
					next[i] = e.mustSession(t, rec, http.StatusOK).RefreshToken
				}
			})
		}
		wg.Wait()
		ok := 0
		for i, c := range codes {
			switch c {
			case http.StatusOK:
				ok++
				if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": next[i]}); rec.Code != http.StatusUnauthorized {
					t.Errorf("round %d: the winner's new token outlived the revoked family: %d", round, rec.Code)
				}
			case http.StatusUnauthorized:
			default:
				t.Errorf("round %d: refresh answered %d", round, c)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d refreshes of one token succeeded, want 1", round, ok)
		}
	}
}

// TestRefreshExpired: a refresh token past its 30 days is refused, and
// refused without revoking the family's other tokens.
func TestRefreshExpired(t *testing.T) {
	e := newEnv(t)
	s := e.register(t, "old@example.com")
	if _, err := e.pool.Exec(context.Background(),
		`UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE hash = $1`,
		auth.HashRefreshToken(s.RefreshToken)); err != nil {
		t.Fatal(err)
	}
	if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": s.RefreshToken}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("expired refresh token: %d %s", rec.Code, rec.Body)
	}
}
