package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzRequestBodies sends arbitrary bodies to the operations that take
// one: whatever arrives, the answer is a success or a 4xx problem+json,
// never a 5xx or a panic. `make test` runs the seeds; `go test -fuzz
// FuzzRequestBodies ./api` explores.
func FuzzRequestBodies(f *testing.F) {
	e := newEnv(f)
	owner := e.register(f, "owner@fuzz.example.com")
	ops := []struct{ method, path string }{
		{http.MethodPost, "/api/auth/register"},
		{http.MethodPost, "/api/auth/login"},
		{http.MethodPost, "/api/auth/refresh"},
		{http.MethodPost, "/api/auth/accept-invite"},
		{http.MethodPost, "/api/auth/password"},
		{http.MethodPost, "/api/users"},
		{http.MethodPatch, "/api/users/" + owner.User.ID},
		{http.MethodPost, "/api/users/" + owner.User.ID + "/reset-password"},
		{http.MethodPost, "/api/api-keys"},
		{http.MethodPost, "/api/phone-numbers"},
		{http.MethodPut, "/api/tenant"},
		{http.MethodPatch, "/api/conversations/00000000-0000-0000-0000-000000000001"},
	}
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"a":1}`, `{"email":"a@b.co","password":"correct horse battery"}`,
		`{"tenant_name":"T","name":"N","email":"x@fuzz.example.com","password":"correct horse battery"}`,
		`{"name":"k","expires_at":"2099-01-01T00:00:00Z"}`, `{"name":"k","expires_at":"yesterday"}`,
		`{"role":"owner"}`, `{"disabled":null}`, `{"assignee_id":null,"status":"snoozed"}`,
		`{"branding":{"theme":"dark","logo_url":"javascript:alert(1)"},"name":"x"}`,
		`{"invite":"link"}`, `{"current_password":"","new_password":"` + strings.Repeat("é", 300) + `"}`,
		"{\"name\":\"\x00\"}", `{"name":"\ud800"}`, `{"a":` + strings.Repeat("[", 1000) + `}`,
	} {
		for i := range ops {
			f.Add(i, seed)
		}
	}
	f.Fuzz(func(t *testing.T, op int, body string) {
		if op < 0 {
			op = -op
		}
		o := ops[op%len(ops)]
		rec := e.send(o.method, o.path, owner.AccessToken, body)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", o.method, o.path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s %s %q: %d with %q", o.method, o.path, body, rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}
