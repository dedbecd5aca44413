package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestAdminsCannotActOnAdminsOrTheOwner: only the owner changes, resets or
// deletes an admin, and nobody changes the owner's account but the owner.
// Otherwise an admin could take another admin's account over: demote it to
// agent, reset its password, promote it back and sign in as it.
func TestAdminsCannotActOnAdminsOrTheOwner(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@admins.example.com")
	_, _, adminA := e.member(t, owner, "a@admins.example.com", "admin")
	bID, _, _ := e.member(t, owner, "b@admins.example.com", "admin")
	agentID, _, _ := e.member(t, owner, "agent@admins.example.com", "agent")
	key := e.apiKey(t, adminA)

	for _, token := range []string{adminA.AccessToken, key} {
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPatch, "/api/users/" + bID, map[string]string{"role": "agent"}},
			{http.MethodPatch, "/api/users/" + bID, map[string]bool{"disabled": true}},
			{http.MethodPatch, "/api/users/" + bID, map[string]string{"name": "renamed"}},
			{http.MethodPost, "/api/users/" + bID + "/reset-password", map[string]string{}},
			{http.MethodDelete, "/api/users/" + bID, ""},
			{http.MethodPatch, "/api/users/" + owner.User.ID, map[string]string{"name": "renamed"}},
			{http.MethodDelete, "/api/users/" + owner.User.ID, ""},
		} {
			if rec := e.send(tc.method, tc.path, token, tc.body); rec.Code != http.StatusForbidden {
				t.Errorf("an admin's %s %s %v: %d, want 403", tc.method, tc.path, tc.body, rec.Code)
			}
		}
	}
	// Agents are theirs to manage, and an agent may be made an admin.
	if rec := e.send(http.MethodPatch, "/api/users/"+agentID, adminA.AccessToken, map[string]string{"name": "Renamed agent"}); rec.Code != http.StatusOK {
		t.Errorf("admin renames an agent: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodPatch, "/api/users/"+adminA.User.ID, adminA.AccessToken, map[string]string{"name": "Ann A."}); rec.Code != http.StatusOK {
		t.Errorf("admin renames itself: %d %s", rec.Code, rec.Body)
	}
	// The owner manages admins.
	if rec := e.send(http.MethodPatch, "/api/users/"+bID, owner.AccessToken, map[string]string{"role": "agent"}); rec.Code != http.StatusOK {
		t.Errorf("owner demotes an admin: %d %s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodPatch, "/api/users/"+owner.User.ID, owner.AccessToken, map[string]string{"name": "The Owner"}); rec.Code != http.StatusOK {
		t.Errorf("owner renames itself: %d %s", rec.Code, rec.Body)
	}
}

// TestAPIKeysActForTheirCreator: a key stops working when the user who made
// it can no longer manage the tenant, and again when they can; it goes with
// them when they are deleted. A key made with a key answers to the same
// person. An operator's key (wam tenant create) answers to nobody.
func TestAPIKeysActForTheirCreator(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@keys.example.com")
	adminID, _, admin := e.member(t, owner, "admin@keys.example.com", "admin")
	key := e.apiKey(t, admin)
	keyOfKey := e.apiKey(t, session{AccessToken: key})
	works := func(k string) int { return e.send(http.MethodGet, "/api/users", k, "").Code }
	for _, k := range []string{key, keyOfKey} {
		if code := works(k); code != http.StatusOK {
			t.Fatalf("a new key: %d", code)
		}
	}

	for _, step := range []struct {
		change any
		want   int
	}{
		{map[string]bool{"disabled": true}, http.StatusUnauthorized},
		{map[string]bool{"disabled": false}, http.StatusOK},
		{map[string]string{"role": "agent"}, http.StatusUnauthorized},
		{map[string]string{"role": "admin"}, http.StatusOK},
	} {
		if rec := e.send(http.MethodPatch, "/api/users/"+adminID, owner.AccessToken, step.change); rec.Code != http.StatusOK {
			t.Fatalf("change %v: %d %s", step.change, rec.Code, rec.Body)
		}
		for _, k := range []string{key, keyOfKey} {
			if code := works(k); code != step.want {
				t.Errorf("after %v the creator's key answers %d, want %d", step.change, code, step.want)
			}
		}
	}
	if rec := e.send(http.MethodDelete, "/api/users/"+adminID, owner.AccessToken, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete admin: %d", rec.Code)
	}
	for _, k := range []string{key, keyOfKey} {
		if rec := e.send(http.MethodPost, "/api/users", k, map[string]string{"email": "back@keys.example.com", "name": "x", "role": "admin"}); rec.Code != http.StatusUnauthorized {
			t.Errorf("a deleted admin's key invites: %d, want 401", rec.Code)
		}
	}
	operator := e.mustTenant("")
	if code := works(operator.APIKey); code != http.StatusOK {
		t.Errorf("an operator's key: %d", code)
	}
}

// TestInvitationEndsWithTheNextPassword: a pending invitation link sets a
// password; once the account has another one (a reset by one-time
// password, a change) the link is void. Accepting an invitation ends the
// account's other sign-ins, and a disabled account cannot accept one.
func TestInvitationEndsWithTheNextPassword(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@invite-end.example.com")
	invite := func(email string) (id, token string) {
		rec := e.send(http.MethodPost, "/api/users", owner.AccessToken, map[string]string{"email": email, "name": "x", "role": "agent", "invite": "link"})
		var u struct {
			ID          string `json:"id"`
			InviteToken string `json:"invite_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &u); err != nil || rec.Code != http.StatusCreated || u.InviteToken == "" {
			t.Fatalf("invite: %d %s", rec.Code, rec.Body)
		}
		return u.ID, u.InviteToken
	}
	accept := func(token string) int {
		return e.send(http.MethodPost, "/api/auth/accept-invite", "", map[string]string{"token": token, "password": "somebody's passphrase"}).Code
	}

	id, token := invite("reset@invite-end.example.com")
	rec := e.send(http.MethodPost, "/api/users/"+id+"/reset-password", owner.AccessToken, map[string]string{"invite": "password"})
	if rec.Code != http.StatusOK {
		t.Fatalf("reset: %d %s", rec.Code, rec.Body)
	}
	if code := accept(token); code != http.StatusUnauthorized {
		t.Errorf("a link after a reset by one-time password: %d, want 401", code)
	}

	id, token = invite("disabled@invite-end.example.com")
	if rec := e.send(http.MethodPatch, "/api/users/"+id, owner.AccessToken, map[string]bool{"disabled": true}); rec.Code != http.StatusOK {
		t.Fatalf("disable: %d", rec.Code)
	}
	if code := accept(token); code != http.StatusUnauthorized {
		t.Errorf("a disabled account's link: %d, want 401", code)
	}

	// An owner resets an agent by link while the agent is signed in: the
	// link's sign-in is the only one left.
	agentID, _, agent := e.member(t, owner, "agent@invite-end.example.com", "agent")
	rec = e.send(http.MethodPost, "/api/users/"+agentID+"/reset-password", owner.AccessToken, map[string]string{"invite": "link"})
	var link struct {
		InviteToken string `json:"invite_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &link); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("reset by link: %d %s", rec.Code, rec.Body)
	}
	if code := accept(link.InviteToken); code != http.StatusOK {
		t.Fatalf("accept: %d", code)
	}
	if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": agent.RefreshToken}); rec.Code != http.StatusUnauthorized {
		t.Errorf("the earlier sign-in after accepting: %d, want 401", rec.Code)
	}
	if code := accept(link.InviteToken); code != http.StatusUnauthorized {
		t.Errorf("a link used twice: %d, want 401", code)
	}
}

// TestDisablingEndsSignIns: enabling an account again does not bring back
// the sign-ins it had.
func TestDisablingEndsSignIns(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@disable.example.com")
	id, _, agent := e.member(t, owner, "agent@disable.example.com", "agent")
	for _, disabled := range []bool{true, false} {
		if rec := e.send(http.MethodPatch, "/api/users/"+id, owner.AccessToken, map[string]bool{"disabled": disabled}); rec.Code != http.StatusOK {
			t.Fatalf("disabled=%v: %d", disabled, rec.Code)
		}
	}
	if rec := e.send(http.MethodPost, "/api/auth/refresh", "", map[string]string{"refresh_token": agent.RefreshToken}); rec.Code != http.StatusUnauthorized {
		t.Errorf("a sign-in from before the account was disabled: %d, want 401", rec.Code)
	}
}

// apiKey makes an API key as s and returns its secret.
func (e *env) apiKey(t *testing.T, s session) string {
	t.Helper()
	rec := e.send(http.MethodPost, "/api/api-keys", s.AccessToken, map[string]string{"name": "k"})
	var k struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &k); err != nil || rec.Code != http.StatusCreated || k.Key == "" {
		t.Fatalf("create key: %d %s", rec.Code, rec.Body)
	}
	return k.Key
}
