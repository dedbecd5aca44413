package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestUsersKeysAndRoles(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@a.example.com")

	// The owner invites an agent, who signs in with the one-time password.
	rec := e.send(http.MethodPost, "/api/users", owner.AccessToken, map[string]string{
		"email": "agent@a.example.com", "name": "Agent", "role": "agent",
	})
	if rec.Code != http.StatusCreated {
		t.Fatalf("invite: %d %s", rec.Code, rec.Body)
	}
	var invited struct {
		ID                string `json:"id"`
		Role              string `json:"role"`
		TemporaryPassword string `json:"temporary_password"`
	}
	json.Unmarshal(rec.Body.Bytes(), &invited)
	if invited.Role != "agent" || len(invited.TemporaryPassword) < 20 {
		t.Fatalf("invited: %s", rec.Body)
	}
	agent := e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{
		"email": "agent@a.example.com", "password": invited.TemporaryPassword,
	}), http.StatusOK)

	// Agents work the inbox but manage nothing.
	if rec := e.send(http.MethodGet, "/api/conversations", agent.AccessToken, ""); rec.Code != 200 {
		t.Errorf("agent reading the inbox: %d", rec.Code)
	}
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/users", `{"email":"x@a.example.com","name":"X","role":"admin"}`},
		{http.MethodGet, "/api/users", ""},
		{http.MethodPatch, "/api/users/" + invited.ID, `{"role":"admin"}`},
		{http.MethodDelete, "/api/users/" + invited.ID, ""},
		{http.MethodPost, "/api/api-keys", `{"name":"mine"}`},
		{http.MethodGet, "/api/api-keys", ""},
		{http.MethodPost, "/api/waba/credentials", `{"phone_number_id":"1","display_phone_number":"+15550001111","access_token":"EAAG0000000000000000000"}`},
		{http.MethodPost, "/api/phone-numbers", `{"phone_number_id":"1","display_phone_number":"+15550001111","access_token":"EAAG0000000000000000000"}`},
		{http.MethodPut, "/api/tenant", `{"name":"x","branding":{}}`},
		{http.MethodGet, "/api/audit-log", ""},
	} {
		if rec := e.send(r.method, r.path, agent.AccessToken, r.body); rec.Code != http.StatusForbidden {
			t.Errorf("agent %s %s: %d, want 403", r.method, r.path, rec.Code)
		}
	}

	// API keys: the secret once, never in lists; revoked keys stop working.
	rec = e.send(http.MethodPost, "/api/api-keys", owner.AccessToken, map[string]string{"name": "ci"})
	var key struct{ ID, Key, Prefix string }
	json.Unmarshal(rec.Body.Bytes(), &key)
	if rec.Code != http.StatusCreated || !strings.HasPrefix(key.Key, key.Prefix) || key.Prefix == "" {
		t.Fatalf("create key: %d %s", rec.Code, rec.Body)
	}
	rec = e.send(http.MethodGet, "/api/api-keys", key.Key, "")
	if rec.Code != 200 || strings.Contains(rec.Body.String(), key.Key) || !strings.Contains(rec.Body.String(), key.Prefix) {
		t.Fatalf("list keys: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodGet, "/api/conversations", key.Key, ""); rec.Code != 200 {
		t.Fatalf("new key: %d", rec.Code)
	}

	// Another tenant can touch none of it.
	other := e.register(t, "owner@b.example.com")
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPatch, "/api/users/" + invited.ID, `{"disabled":true}`},
		{http.MethodDelete, "/api/users/" + invited.ID, ""},
		{http.MethodDelete, "/api/api-keys/" + key.ID, ""},
	} {
		if rec := e.send(r.method, r.path, other.AccessToken, r.body); rec.Code != http.StatusNotFound {
			t.Errorf("tenant b %s %s: %d, want 404", r.method, r.path, rec.Code)
		}
	}
	if rec := e.send(http.MethodGet, "/api/users", other.AccessToken, ""); strings.Contains(rec.Body.String(), "agent@a.example.com") {
		t.Error("tenant b lists tenant a's users")
	}
	if rec := e.send(http.MethodGet, "/api/conversations", key.Key, ""); rec.Code != 200 {
		t.Fatalf("key after tenant b tried to revoke it: %d", rec.Code)
	}

	// The owner stays; disabling the agent locks them out.
	if rec := e.send(http.MethodPatch, "/api/users/"+owner.User.ID, owner.AccessToken, `{"disabled":true}`); rec.Code != http.StatusForbidden {
		t.Errorf("owner disabling themselves: %d", rec.Code)
	}
	if rec := e.send(http.MethodPatch, "/api/users/"+invited.ID, owner.AccessToken, `{"disabled":true}`); rec.Code != 200 {
		t.Fatalf("disable agent: %d %s", rec.Code, rec.Body)
	}
	// Their access token, still unexpired, stops working at once.
	if rec := e.send(http.MethodGet, "/api/conversations", agent.AccessToken, ""); rec.Code != 401 {
		t.Errorf("disabled agent's access token: %d, want 401", rec.Code)
	}
	if rec := e.send(http.MethodPost, "/api/auth/login", "", map[string]string{
		"email": "agent@a.example.com", "password": invited.TemporaryPassword,
	}); rec.Code != 401 {
		t.Errorf("disabled agent signed in: %d", rec.Code)
	}
	if rec := e.send(http.MethodPatch, "/api/users/"+invited.ID, owner.AccessToken, `{"role":"owner"}`); rec.Code != 400 {
		t.Errorf("making a second owner: %d", rec.Code)
	}

	if rec := e.send(http.MethodDelete, "/api/api-keys/"+key.ID, owner.AccessToken, ""); rec.Code != 204 {
		t.Fatalf("revoke: %d", rec.Code)
	}
	if rec := e.send(http.MethodGet, "/api/conversations", key.Key, ""); rec.Code != 401 {
		t.Fatalf("revoked key: %d", rec.Code)
	}
	if rec := e.send(http.MethodDelete, "/api/users/"+invited.ID, owner.AccessToken, ""); rec.Code != 204 {
		t.Fatalf("delete agent: %d", rec.Code)
	}
	if strings.Contains(e.logs.String(), invited.TemporaryPassword) || strings.Contains(e.logs.String(), key.Key) {
		t.Error("a password or key was logged")
	}
}

func TestAuditLog(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@audit.example.com")
	e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "owner@audit.example.com", "password": "not it at all"})
	login := e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{
		"email": "owner@audit.example.com", "password": "correct horse battery",
	}), 200)
	e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": login.RefreshToken})
	e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": login.RefreshToken}) // reuse
	rec := e.send(http.MethodPost, "/api/users", owner.AccessToken, map[string]string{"email": "ag@audit.example.com", "name": "Ag", "role": "agent"})
	var agent struct {
		TemporaryPassword string `json:"temporary_password"`
	}
	json.Unmarshal(rec.Body.Bytes(), &agent)
	rec = e.send(http.MethodPost, "/api/api-keys", owner.AccessToken, map[string]string{"name": "k"})
	var key struct{ ID string }
	json.Unmarshal(rec.Body.Bytes(), &key)
	e.send(http.MethodDelete, "/api/api-keys/"+key.ID, owner.AccessToken, "")

	var entries struct {
		Data []struct{ Action, Target string } `json:"data"`
	}
	rec = e.send(http.MethodGet, "/api/audit-log", owner.AccessToken, "")
	if rec.Code != 200 {
		t.Fatalf("audit log: %d %s", rec.Code, rec.Body)
	}
	json.Unmarshal(rec.Body.Bytes(), &entries)
	var actions []string
	for _, en := range entries.Data {
		actions = append(actions, en.Action)
	}
	want := "api_key.revoked api_key.created user.invited refresh_token_reused login login_failed"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit log (newest first): %s, want %s", got, want)
	}
	agentSession := e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{
		"email": "ag@audit.example.com", "password": agent.TemporaryPassword,
	}), 200)
	if rec := e.send(http.MethodGet, "/api/audit-log", agentSession.AccessToken, ""); rec.Code != 403 {
		t.Errorf("agent reading the audit log: %d", rec.Code)
	}
	other := e.register(t, "owner@other.example.com")
	rec = e.send(http.MethodGet, "/api/audit-log", other.AccessToken, "")
	if strings.Contains(rec.Body.String(), "user.invited") {
		t.Error("another tenant sees this audit log")
	}
}

func TestTenantSettings(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@settings.example.com")
	rec := e.send(http.MethodPut, "/api/tenant", owner.AccessToken, map[string]any{
		"name": "Acme Support",
		"branding": map[string]string{"app_name": "Acme Inbox", "logo_url": "https://cdn.example.com/logo.png",
			"primary_color": "#0a7cff", "accent_color": "#FF9900", "theme": "dark"},
	})
	if rec.Code != 200 {
		t.Fatalf("put: %d %s", rec.Code, rec.Body)
	}
	rec = e.send(http.MethodGet, "/api/tenant", owner.AccessToken, "")
	for _, want := range []string{`"name":"Acme Support"`, `"plan":"free"`, `"api_requests_per_minute":600`, `"theme":"dark"`, `"primary_color":"#0a7cff"`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET /api/tenant lacks %s: %s", want, rec.Body)
		}
	}
	for body, field := range map[string]string{
		`{"name":"A","branding":{"primary_color":"blue"}}`:              "branding.primary_color",
		`{"name":"A","branding":{"logo_url":"http://x.example.com/a"}}`: "branding.logo_url",
		`{"name":"A","branding":{"theme":"pink"}}`:                      "branding.theme",
		`{"name":"","branding":{}}`:                                     "name",
		`{"name":"A","plan":"enterprise"}`:                              "plan",
	} {
		rec := e.send(http.MethodPut, "/api/tenant", owner.AccessToken, body)
		if rec.Code != 400 || !strings.Contains(problemDetail(t, rec), field) {
			t.Errorf("%s: %d %s, want 400 naming %s", body, rec.Code, rec.Body, field)
		}
	}
	rec = e.send(http.MethodPost, "/api/users", owner.AccessToken, map[string]string{"email": "ag@settings.example.com", "name": "Ag", "role": "agent"})
	var agent struct {
		TemporaryPassword string `json:"temporary_password"`
	}
	json.Unmarshal(rec.Body.Bytes(), &agent)
	as := e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "ag@settings.example.com", "password": agent.TemporaryPassword}), 200)
	if rec := e.send(http.MethodGet, "/api/tenant", as.AccessToken, ""); rec.Code != 200 {
		t.Errorf("agent reading branding: %d", rec.Code)
	}
	if rec := e.send(http.MethodPut, "/api/tenant", as.AccessToken, `{"name":"Mine now","branding":{}}`); rec.Code != 403 {
		t.Errorf("agent renaming the tenant: %d", rec.Code)
	}
	other := e.register(t, "owner@other-settings.example.com")
	if rec := e.send(http.MethodGet, "/api/tenant", other.AccessToken, ""); strings.Contains(rec.Body.String(), "Acme Support") {
		t.Error("another tenant sees these settings")
	}
}

func TestTenantQuota(t *testing.T) {
	e := newEnv(t)
	a := e.mustTenant("100", "111")
	b := e.mustTenant("200", "222")
	if _, err := e.pool.Exec(context.Background(), "UPDATE tenants SET api_requests_per_minute = 3 WHERE id = $1", a.ID); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if rec := e.get("/api/conversations", a.APIKey); rec.Code != 200 {
			t.Fatalf("request %d within the quota: %d", i, rec.Code)
		}
	}
	rec := e.get("/api/conversations", a.APIKey)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("over the quota: %d %s", rec.Code, rec.Header())
	}
	if rec := e.get("/api/conversations", b.APIKey); rec.Code != 200 {
		t.Fatalf("another tenant is not limited by a's quota: %d", rec.Code)
	}
}

func TestInviteByLink(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@link.example.com")
	rec := e.send(http.MethodPost, "/api/users", owner.AccessToken, map[string]string{
		"email": "new@link.example.com", "name": "New", "role": "agent", "invite": "link",
	})
	var inv struct {
		ID                string `json:"id"`
		InviteToken       string `json:"invite_token"`
		TemporaryPassword string `json:"temporary_password"`
	}
	json.Unmarshal(rec.Body.Bytes(), &inv)
	if rec.Code != 201 || inv.InviteToken == "" || inv.TemporaryPassword != "" {
		t.Fatalf("invite by link: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodPost, "/api/auth/accept-invite", "", map[string]string{"token": inv.InviteToken, "password": "short"}); rec.Code != 400 {
		t.Errorf("short password: %d", rec.Code)
	}
	s := e.mustSession(t, e.send(http.MethodPost, "/api/auth/accept-invite", "", map[string]string{
		"token": inv.InviteToken, "password": "my own long password",
	}), 200)
	if s.User.Role != "agent" || s.User.ID != inv.ID {
		t.Errorf("accepted: %+v", s.User)
	}
	if rec := e.send(http.MethodPost, "/api/auth/accept-invite", "", map[string]string{"token": inv.InviteToken, "password": "another long password"}); rec.Code != 401 {
		t.Errorf("token used twice: %d", rec.Code)
	}
	e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "new@link.example.com", "password": "my own long password"}), 200)

	// An expired invitation cannot be accepted.
	rec = e.send(http.MethodPost, "/api/users", owner.AccessToken, map[string]string{
		"email": "late@link.example.com", "name": "Late", "role": "agent", "invite": "link",
	})
	json.Unmarshal(rec.Body.Bytes(), &inv)
	if _, err := e.pool.Exec(context.Background(), "UPDATE users SET invite_expires_at = now() - interval '1 minute' WHERE id = $1", inv.ID); err != nil {
		t.Fatal(err)
	}
	if rec := e.send(http.MethodPost, "/api/auth/accept-invite", "", map[string]string{"token": inv.InviteToken, "password": "my own long password"}); rec.Code != 401 {
		t.Errorf("expired invitation: %d", rec.Code)
	}
	if strings.Contains(e.logs.String(), inv.InviteToken) {
		t.Error("an invitation token was logged")
	}
}

// TestRoleChangeAppliesAtOnce: an access token carries its user's role, but
// the account decides: a demoted admin loses admin rights with the next
// request, and a deleted user's token stops working.
func TestRoleChangeAppliesAtOnce(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@demote.example.com")
	adminID, _, admin := e.member(t, owner, "ad@demote.example.com", "admin")
	if rec := e.send(http.MethodGet, "/api/users", admin.AccessToken, ""); rec.Code != 200 {
		t.Fatalf("admin lists users: %d", rec.Code)
	}
	if rec := e.send(http.MethodPatch, "/api/users/"+adminID, owner.AccessToken, `{"role":"agent"}`); rec.Code != 200 {
		t.Fatalf("demote: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodGet, "/api/users", admin.AccessToken, ""); rec.Code != http.StatusForbidden {
		t.Errorf("demoted admin's token lists users: %d, want 403", rec.Code)
	}
	if rec := e.send(http.MethodGet, "/api/conversations", admin.AccessToken, ""); rec.Code != 200 {
		t.Errorf("demoted admin reads the inbox as an agent: %d", rec.Code)
	}
	if rec := e.send(http.MethodDelete, "/api/users/"+adminID, owner.AccessToken, ""); rec.Code != 204 {
		t.Fatalf("delete: %d", rec.Code)
	}
	if rec := e.send(http.MethodGet, "/api/conversations", admin.AccessToken, ""); rec.Code != 401 {
		t.Errorf("deleted user's token: %d, want 401", rec.Code)
	}
}

// TestResetPassword: an admin resets an agent's forgotten password (the old
// one and every sign-in end; a one-time password or a link gets them in),
// the owner an admin's; nobody the owner's, nor their own.
func TestResetPassword(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@reset.example.com")
	agentID, agentPassword, agent := e.member(t, owner, "agent@reset.example.com", "agent")
	adminID, _, admin := e.member(t, owner, "admin@reset.example.com", "admin")

	for _, tc := range []struct {
		who, token, id string
	}{
		{"admin resetting the owner", admin.AccessToken, owner.User.ID},
		{"admin resetting itself", admin.AccessToken, adminID},
		{"owner resetting itself", owner.AccessToken, owner.User.ID},
	} {
		if rec := e.send(http.MethodPost, "/api/users/"+tc.id+"/reset-password", tc.token, `{}`); rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.who, rec.Code)
		}
	}

	// An admin resets an agent's password: a new one-time password.
	rec := e.send(http.MethodPost, "/api/users/"+agentID+"/reset-password", admin.AccessToken, `{}`)
	var reset struct {
		TemporaryPassword string `json:"temporary_password"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &reset); err != nil || rec.Code != http.StatusOK || len(reset.TemporaryPassword) < 20 || reset.TemporaryPassword == agentPassword {
		t.Fatalf("reset agent: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodGet, "/api/conversations", agent.AccessToken, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("agent's access token after the reset: %d, want 401", rec.Code)
	}
	if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": agent.RefreshToken}); rec.Code != http.StatusUnauthorized {
		t.Errorf("agent's refresh token after the reset: %d, want 401", rec.Code)
	}
	if rec := e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "agent@reset.example.com", "password": agentPassword}); rec.Code != http.StatusUnauthorized {
		t.Errorf("agent's old password: %d, want 401", rec.Code)
	}
	e.mustSession(t, e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "agent@reset.example.com", "password": reset.TemporaryPassword}), http.StatusOK)

	// The owner resets the admin's by link; the admin sets a new password.
	rec = e.send(http.MethodPost, "/api/users/"+adminID+"/reset-password", owner.AccessToken, `{"invite":"link"}`)
	var link struct {
		InviteToken string `json:"invite_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &link); err != nil || rec.Code != http.StatusOK || link.InviteToken == "" || strings.Contains(rec.Body.String(), "temporary_password") {
		t.Fatalf("reset admin by link: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodGet, "/api/users", admin.AccessToken, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("admin's access token after the reset: %d, want 401", rec.Code)
	}
	e.mustSession(t, e.send(http.MethodPost, "/api/auth/accept-invite", "", map[string]string{"token": link.InviteToken, "password": "the admin's new passphrase"}), http.StatusOK)
	audit := e.send(http.MethodGet, "/api/audit-log", owner.AccessToken, "").Body.String()
	if strings.Count(audit, `"user.password_reset"`) != 2 {
		t.Errorf("audit log: want two resets in %s", audit)
	}
	if strings.Contains(e.logs.String(), reset.TemporaryPassword) || strings.Contains(e.logs.String(), link.InviteToken) {
		t.Error("a password or link token was logged")
	}
}

// TestTeammates: everyone in the tenant, agents included, sees the names
// and roles of its active users, and nothing else: no addresses, no
// disabled users, no other tenant's.
func TestTeammates(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "boss@teammates.example.com")
	_, _, agent := e.member(t, owner, "ag@teammates.example.com", "agent")
	gone, _, _ := e.member(t, owner, "gone@teammates.example.com", "admin")
	if rec := e.send(http.MethodPatch, "/api/users/"+gone, owner.AccessToken, map[string]bool{"disabled": true}); rec.Code != http.StatusOK {
		t.Fatalf("disable: %d %s", rec.Code, rec.Body)
	}
	other := e.register(t, "boss@elsewhere.example.com")
	rec := e.send(http.MethodGet, "/api/teammates", agent.AccessToken, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("teammates: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "@") {
		t.Errorf("addresses in the teammates: %s", rec.Body)
	}
	var list struct {
		Data []struct{ ID, Name, Role string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range list.Data {
		got[u.ID] = u.Role
	}
	want := map[string]string{owner.User.ID: "owner", agent.User.ID: "agent"}
	if len(got) != len(want) || got[owner.User.ID] != "owner" || got[agent.User.ID] != "agent" || got[gone] != "" || got[other.User.ID] != "" {
		t.Errorf("teammates %v, want %v", got, want)
	}
}
