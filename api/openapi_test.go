package api_test

import (
	"context"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/wam-project/wam/api"
)

// TestOpenAPIDocument: the document is valid, and it and the routes
// registered in Echo describe the same API, operation for operation.
func TestOpenAPIDocument(t *testing.T) {
	doc, err := api.LoadOpenAPI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	e := newEnv(t)
	param := regexp.MustCompile(`:([a-z_]+)`)
	registered := map[string]bool{}
	for _, r := range e.h.Routes() {
		if strings.HasPrefix(r.Method, "echo_route_") || strings.HasSuffix(r.Path, "/*") || r.Path == "" {
			continue // Echo's own catch-alls for 404s and middleware groups
		}
		registered[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var missing, extra []string
	for op := range registered {
		if !documented[op] {
			missing = append(missing, op)
		}
	}
	for op := range documented {
		if !registered[op] {
			extra = append(extra, op)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("operations in openapi.yaml without a route: %v", extra)
	}
	rec := e.get("/api/openapi.json", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"openapi":"3.1.0"`) {
		t.Errorf("GET /api/openapi.json: %d %.100s", rec.Code, rec.Body)
	}
	// Readers see the roles in words too.
	served, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/api/users": "**Roles:** owner, admin.", "/api/audit-log": "**Roles:** owner."} {
		for _, op := range served.Paths.Value(path).Operations() {
			if !strings.HasPrefix(op.Description, want) {
				t.Errorf("%s %s: description %q, want it to start with %q", path, op.OperationID, op.Description, want)
			}
		}
	}
	if d := served.Paths.Value("/api/conversations").Get.Description; strings.Contains(d, "Roles") {
		t.Errorf("listConversations has roles in its description: %q", d)
	}
}

// TestRequestsValidatedAgainstContract: wrong types, unknown enum values,
// oversized fields and unknown fields are refused before any handler runs,
// with a 400 problem naming the field.
func TestRequestsValidatedAgainstContract(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@contract.example.com")
	for _, tc := range []struct{ method, path, body, field string }{
		{http.MethodPost, "/api/users", `{"email":"a@contract.example.com","name":"A","role":"root"}`, "role"},
		{http.MethodPost, "/api/users", `{"email":"a@contract.example.com","name":7,"role":"agent"}`, "name"},
		{http.MethodPatch, "/api/users/" + owner.User.ID, `{"disabled":"yes"}`, "disabled"},
		{http.MethodPost, "/api/api-keys", `{"name":"` + strings.Repeat("k", 101) + `"}`, "name"},
		{http.MethodPost, "/api/api-keys", `{"name":"k","scope":"all"}`, "scope"},
		{http.MethodPut, "/api/tenant", `{"name":"A","branding":{"theme":"sepia"}}`, "branding.theme"},
		{http.MethodPost, "/api/phone-numbers", `{"phone_number_id":123,"display_phone_number":"+15550001111","access_token":"EAAG0000000000000000000"}`, "phone_number_id"},
		{http.MethodGet, "/api/conversations?limit=999", "", "limit"},
	} {
		rec := e.send(tc.method, tc.path, owner.AccessToken, tc.body)
		if rec.Code != http.StatusBadRequest || !strings.HasPrefix(problemDetail(t, rec), tc.field+":") ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s %.40s: %d %s, want 400 naming %s", tc.method, tc.path, tc.body, rec.Code, rec.Body, tc.field)
		}
	}
}

func TestAPIDocsPage(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]string{
		"/api-docs":                      "swagger-ui-bundle.js",
		"/api-docs/init.js":              "/api/openapi.json",
		"/api-docs/swagger-ui-bundle.js": "SwaggerUIBundle",
		"/api-docs/swagger-ui.css":       ".swagger-ui",
	} {
		rec := e.get(path, "")
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d, want a body with %q", path, rec.Code, want)
		}
	}
}

// TestGuardsFollowTheContract: the document says who may call what, and
// the server does as it says, for every operation: without credentials a
// secured operation is 401; an operation whose x-wam-roles leave out a role
// is 403 for that role — checked before the request body is looked at.
func TestGuardsFollowTheContract(t *testing.T) {
	doc, err := api.LoadOpenAPI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	owner := e.register(t, "owner@guards.example.com")
	members := map[string]session{"owner": owner}
	for _, role := range []string{"admin", "agent"} {
		_, _, members[role] = e.member(t, owner, role+"@guards.example.com", role)
	}
	secured, restricted := 0, 0
	for path, item := range doc.Paths.Map() {
		concrete := strings.NewReplacer("{id}", uuid.NewString(), "{tenant}", uuid.NewString()).Replace(path)
		for method, op := range item.Operations() {
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			if len(security) == 0 {
				continue
			}
			secured++
			if rec := e.send(method, concrete, "", "not even JSON"); rec.Code != http.StatusUnauthorized {
				t.Errorf("%s %s without credentials: %d, want 401", method, path, rec.Code)
			}
			roles, ok := op.Extensions["x-wam-roles"].([]any)
			if !ok {
				continue
			}
			restricted++
			allowed := map[string]bool{}
			for _, r := range roles {
				allowed[r.(string)] = true
			}
			for role, s := range members {
				if allowed[role] {
					continue
				}
				if rec := e.send(method, concrete, s.AccessToken, "not even JSON"); rec.Code != http.StatusForbidden {
					t.Errorf("%s %s as %s: %d, want 403", method, path, role, rec.Code)
				}
			}
		}
	}
	if secured < 20 || restricted < 10 {
		t.Errorf("only %d secured and %d restricted operations found in the document", secured, restricted)
	}
}

// TestRequestBodyBounded: the contract's validator reads whole bodies, so
// they are bounded before it: a body over 64 KiB is a 413, on a public
// operation and on a signed-in one alike, and nothing is created.
func TestRequestBodyBounded(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@big.example.com")
	huge := `{"tenant_name":"` + strings.Repeat("x", 1<<20) + `","name":"n","email":"big@big.example.com","password":"correct horse battery"}`
	if rec := e.send(http.MethodPost, "/api/auth/register", "", huge); rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "64 KiB") {
		t.Errorf("1 MiB sign-up: %d %.200s", rec.Code, rec.Body)
	}
	if rec := e.send(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "big@big.example.com", "password": "correct horse battery"}); rec.Code != http.StatusUnauthorized {
		t.Errorf("the refused sign-up made an account: %d", rec.Code)
	}
	note := `{"name":"` + strings.Repeat("k", 100<<10) + `"}`
	if rec := e.send(http.MethodPost, "/api/api-keys", owner.AccessToken, note); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("100 KiB key name: %d %.200s", rec.Code, rec.Body)
	}
}
