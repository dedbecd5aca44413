package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wam-project/wam/api"
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

// TestDisabledUserCannotRefresh: disabling a user ends their sessions at
// the next refresh (access tokens already out run their 15 minutes).
func TestDisabledUserCannotRefresh(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "boss@disabled.example.com")
	agentID, agentPassword, agent := e.member(t, owner, "ag@disabled.example.com", "agent")
	if rec := e.send(http.MethodPatch, "/api/users/"+agentID, owner.AccessToken, map[string]bool{"disabled": true}); rec.Code != http.StatusOK {
		t.Fatalf("disable: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": agent.RefreshToken}); rec.Code != http.StatusUnauthorized {
		t.Errorf("a disabled user's refresh: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodPost, "/api/auth/login", "", map[string]string{
		"email": "ag@disabled.example.com", "password": agentPassword,
	}); rec.Code != http.StatusUnauthorized {
		t.Errorf("a disabled user's login: %d %s", rec.Code, rec.Body)
	}
}

// TestSignInValidation: the other account endpoints also name the field at
// fault, and never echo a secret back or into the logs.
func TestSignInValidation(t *testing.T) {
	e := newEnv(t)
	s := e.register(t, "v@example.com")
	for _, tc := range []struct {
		path, body, field string
	}{
		{"/api/auth/login", `{"password":"correct horse battery"}`, "email"},
		{"/api/auth/login", `{"email":"v@example.com"}`, "password"},
		{"/api/auth/login", `{"email":"v@example.com","password":"correct horse battery","tenant":"x"}`, "tenant"},
		{"/api/auth/login", `{"email":["v@example.com"],"password":"correct horse battery"}`, "email"},
		{"/api/auth/refresh", `{}`, "refresh_token"},
		{"/api/auth/refresh", `{"refresh_token":42}`, "refresh_token"},
		{"/api/auth/refresh", `{"refresh_token":"` + s.RefreshToken + `","extra":1}`, "extra"},
		{"/api/auth/logout", `{}`, "refresh_token"},
		{"/api/auth/logout", `{"token":"` + s.RefreshToken + `"}`, "token"},
		{"/api/auth/register", `{"tenant_name":"A","name":"N","email":"v2@example.com","password":"` + strings.Repeat("x", 257) + `"}`, "password"},
		{"/api/auth/register", `{"tenant_name":"A","name":"` + strings.Repeat("n", 201) + `","email":"v2@example.com","password":"long enough pw"}`, "name"},
		{"/api/auth/register", `{"tenant_name":"A","name":"N","email":"v2@example","password":"long enough pw"}`, "email"},
		{"/api/auth/register", `{"tenant_name":"A","name":"N","email":"V Two <v2@example.com>","password":"long enough pw"}`, "email"},
		{"/api/auth/register", `{"tenant_name":"A","name":"N","password":"long enough pw"}`, "email"},
	} {
		rec := e.send(http.MethodPost, tc.path, "", tc.body)
		if rec.Code != http.StatusBadRequest || !strings.HasPrefix(problemDetail(t, rec), tc.field+":") ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %.50s…: %d %s, want 400 naming %q", tc.path, tc.body, rec.Code, rec.Body, tc.field)
		}
		if strings.Contains(rec.Body.String(), s.RefreshToken) {
			t.Errorf("%s echoed the refresh token", tc.path)
		}
	}
	// Logging out with a token nobody has is still a 204: the caller is
	// signed out either way. The session's own token keeps working.
	if rec := e.send(http.MethodPost, "/api/auth/logout", "", map[string]string{"refresh_token": "never-issued"}); rec.Code != http.StatusNoContent {
		t.Errorf("logout with an unknown token: %d", rec.Code)
	}
	if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": s.RefreshToken}); rec.Code != http.StatusOK {
		t.Errorf("refresh after validation failures: %d %s", rec.Code, rec.Body)
	}
	for _, secret := range []string{"correct horse battery", s.AccessToken, s.RefreshToken} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("a secret was logged: %.12s…", secret)
		}
	}
}

// TestAPIKeyAndTokenSideBySide: an API key works on the same routes as a
// signed-in user, by either header, and a request with neither is a 401.
func TestAPIKeyAndTokenSideBySide(t *testing.T) {
	e := newEnv(t)
	a := e.mustTenant("100", "111")
	u := e.register(t, "side@example.com")
	for name, set := range map[string]func(*http.Request){
		"bearer key":   func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+a.APIKey) },
		"X-API-Key":    func(r *http.Request) { r.Header.Set("X-API-Key", a.APIKey) },
		"access token": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+u.AccessToken) },
	} {
		for _, path := range []string{"/api/auth/me", "/api/conversations"} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			set(req)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Errorf("%s GET %s: %d %s", name, path, rec.Code, rec.Body)
			}
		}
	}
	var me struct {
		TenantID string `json:"tenant_id"`
		Role     string `json:"role"`
	}
	if err := json.Unmarshal(e.get("/api/auth/me", a.APIKey).Body.Bytes(), &me); err != nil || me.TenantID != a.ID.String() || me.Role != "admin" {
		t.Errorf("me with an API key: %+v %v", me, err)
	}
	for name, header := range map[string]string{
		"nothing":         "",
		"basic":           "Basic dXNlcjpwYXNz",
		"bearer, empty":   "Bearer ",
		"unknown key":     "Bearer wam_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"refresh as jwt":  "Bearer " + u.RefreshToken,
		"token in header": u.AccessToken,
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/conversations", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, rec.Code)
		}
	}
}

// TestPurgeSessions: refresh tokens of sign-ins that are over are deleted;
// a family with a live token keeps its spent ones, so reusing one of them
// still revokes the family.
func TestPurgeSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	over := e.register(t, "over@purge.example.com")
	e.mustSession(t, e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": over.RefreshToken}), http.StatusOK)
	live := e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "",
		map[string]string{"email": "over@purge.example.com", "password": "correct horse battery"}), http.StatusOK)
	spent := live.RefreshToken
	e.mustSession(t, e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": spent}), http.StatusOK)

	// The first sign-in is over; of the second only the spent token expired.
	family := func(token string) (id uuid.UUID) {
		t.Helper()
		if err := e.pool.QueryRow(ctx, `SELECT family_id FROM refresh_tokens WHERE hash = $1`, auth.HashRefreshToken(token)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	overFamily, liveFamily := family(over.RefreshToken), family(spent)
	if _, err := e.pool.Exec(ctx, `UPDATE refresh_tokens SET expires_at = now() - interval '1 hour' WHERE family_id = $1 OR hash = $2`,
		overFamily, auth.HashRefreshToken(spent)); err != nil {
		t.Fatal(err)
	}
	count := func(f uuid.UUID) (n int) {
		t.Helper()
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM refresh_tokens WHERE family_id = $1`, f).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count(overFamily) != 2 || count(liveFamily) != 2 {
		t.Fatalf("before: %d and %d tokens", count(overFamily), count(liveFamily))
	}
	purgeCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		api.PurgeSessions(purgeCtx, e.pool, slog.New(slog.DiscardHandler), 10*time.Millisecond, time.Now)
		close(done)
	}()
	for deadline := time.Now().Add(10 * time.Second); count(overFamily) != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the ended sign-in's tokens were not purged")
		}
	}
	stop()
	<-done
	if n := count(liveFamily); n != 2 {
		t.Errorf("the live sign-in has %d tokens left, want 2", n)
	}
	// Reusing the spent, expired token of the live family still revokes it.
	if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": spent}); rec.Code != http.StatusUnauthorized {
		t.Errorf("reuse: %d", rec.Code)
	}
	var revoked int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NOT NULL`, liveFamily).Scan(&revoked); err != nil || revoked != 2 {
		t.Errorf("%d of the live family's tokens revoked (%v), want 2", revoked, err)
	}
}
