package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wam-project/wam/sql/pgtest"
)

// TestUserResetPassword: the operator gives a tenant's owner, whom nobody
// in the tenant may reset, a new one-time password; the old password and
// the owner's sign-ins end.
func TestUserResetPassword(t *testing.T) {
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "WAM_DATA_DIR": t.TempDir(), "META_APP_SECRET": testSecret}
	base, _ := startServe(t, env)
	call := func(method, path, token string, body any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		data, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(data, &out)
		return res.StatusCode, out
	}
	const email, password = "owner@forgot.example.com", "correct horse battery"
	code, sess := call(http.MethodPost, "/api/auth/register", "", map[string]string{
		"tenant_name": "Forgetful", "name": "Owner", "email": email, "password": password,
	})
	if code != http.StatusCreated {
		t.Fatalf("register: %d %v", code, sess)
	}
	access, _ := sess["access_token"].(string)

	var reset struct {
		Email             string `json:"email"`
		Role              string `json:"role"`
		TemporaryPassword string `json:"temporary_password"`
	}
	out := mustRun(t, env, "user", "reset-password", "--email", " Owner@Forgot.example.com ")
	if err := json.Unmarshal([]byte(lastLine(out)), &reset); err != nil || reset.Email != email || reset.Role != "owner" || len(reset.TemporaryPassword) < 20 {
		t.Fatalf("reset-password printed %q (%v)", out, err)
	}
	if code, _ := call(http.MethodGet, "/api/auth/me", access, nil); code != http.StatusUnauthorized {
		t.Errorf("the owner's access token after the reset: %d, want 401", code)
	}
	if code, _ := call(http.MethodPost, "/api/auth/login", "", map[string]string{"email": email, "password": password}); code != http.StatusUnauthorized {
		t.Errorf("the old password: %d, want 401", code)
	}
	if code, _ := call(http.MethodPost, "/api/auth/login", "", map[string]string{"email": email, "password": reset.TemporaryPassword}); code != http.StatusOK {
		t.Errorf("the one-time password: %d, want 200", code)
	}
	err := run(context.Background(), []string{"wam", "user", "reset-password", "--email", "nobody@forgot.example.com"}, getenvFrom(env), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "nobody@forgot.example.com") {
		t.Errorf("unknown address: %v", err)
	}
}
