package api_test

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestRevocationReachesAConcurrentChain: someone with a stolen refresh token
// refreshes in a loop while the account's holder revokes the sign-in (by
// presenting a spent token of the family, by signing out, or by changing
// the password). Whatever token the loop holds when the revocation
// commits must be dead: a revocation that missed a token minted by a
// refresh committing at the same moment would leave the thief signed in.
func TestRevocationReachesAConcurrentChain(t *testing.T) {
	const trials = 6
	for _, tc := range []struct {
		name   string
		revoke func(e *env, holder session, spent string) int
		want   int
	}{
		{"reuse of a spent token", func(e *env, _ session, spent string) int {
			return e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": spent}).Code
		}, http.StatusUnauthorized},
		{"logout", func(e *env, _ session, spent string) int {
			return e.send(http.MethodPost, "/api/auth/logout", "", map[string]string{"refresh_token": spent}).Code
		}, http.StatusNoContent},
		{"password change", func(e *env, holder session, _ string) int {
			return e.send(http.MethodPost, "/api/auth/password", holder.AccessToken, map[string]string{
				"current_password": "correct horse battery", "new_password": "a brand new passphrase"}).Code
		}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvConns(t, 1)
			for trial := range trials {
				holder := e.register(t, "owner"+string(rune('a'+trial))+"@race.example.com")
				stolen := e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "",
					map[string]string{"email": holder.User.Email, "password": "correct horse battery"}), http.StatusOK)
				// The thief's first refresh spends the stolen token:
				// presenting it again is what reuse detection sees, and
				// signing out with it ends its family.
				spent := stolen.RefreshToken
				first := e.mustSession(t, e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": spent}), http.StatusOK)
				var current atomic.Value
				current.Store(first.RefreshToken)
				stop, done := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(done)
					for {
						select {
						case <-stop:
							return
						default:
						}
						rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": current.Load().(string)})
						if rec.Code != http.StatusOK {
							return
						}
						var s session
						if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
							return
						}
						current.Store(s.RefreshToken)
					}
				}()
				time.Sleep(15 * time.Millisecond) // let the loop get going
				if code := tc.revoke(e, holder, spent); code != tc.want {
					t.Fatalf("revocation answered %d, want %d", code, tc.want)
				}
				close(stop)
				<-done
				if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": current.Load().(string)}); rec.Code != http.StatusUnauthorized {
					t.Fatalf("trial %d: the chain's last token still refreshes (%d) after the revocation", trial, rec.Code)
				}
			}
		})
	}
}
