package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
)

// handlers implements apigen.ServerInterface, the operations of the API's
// contract (api/openapi.yaml) as oapi-codegen generated them: one method per
// operationId, path and query parameters already parsed.
type handlers struct{ *Server }

var _ apigen.ServerInterface = handlers{}

// routes registers every operation of the contract. What guards a route is
// read from the document as well, so the docs and the server cannot
// disagree: an operation with a security requirement needs an access token
// or an API key and counts against the tenant's quota; `x-wam-roles` lists
// the roles allowed; `x-wam-limit: ip` limits sign-in attempts per address;
// then the request is validated against the operation's parameters and body.
func (s *Server) routes(e *echo.Echo, doc *openapi3.T) {
	apigen.RegisterHandlers(contractRouter{e: e, doc: doc, s: s}, handlers{s})
	// Swagger UI's own files, below the /api-docs page of the contract.
	e.GET("/api-docs/*", s.apiDocsFiles)
}

// contractRouter is the apigen.EchoRouter that adds each operation's
// guards, as the document states them, to its route.
type contractRouter struct {
	e   *echo.Echo
	doc *openapi3.T
	s   *Server
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

func (r contractRouter) add(method, path string, h echo.HandlerFunc, m []echo.MiddlewareFunc) *echo.Route {
	docPath := echoParam.ReplaceAllString(path, "{$1}")
	item := r.doc.Paths.Value(docPath)
	var op *openapi3.Operation
	if item != nil {
		op = item.GetOperation(method)
	}
	if op == nil {
		// The handlers are generated from the document: this is a build defect.
		panic(fmt.Sprintf("%s %s: not in openapi.yaml", method, path))
	}
	guards, err := r.s.guards(r.doc, op)
	if err != nil {
		panic(fmt.Sprintf("%s %s: %v", method, path, err))
	}
	// Who may call comes first; then whether the request keeps the contract.
	if validate := validateRequest(r.doc, docPath, item, method, op); validate != nil {
		guards = append(guards, validate)
	}
	return r.e.Add(method, path, h, append(guards, m...)...)
}

// guards are the middleware the document asks of op.
func (s *Server) guards(doc *openapi3.T, op *openapi3.Operation) ([]echo.MiddlewareFunc, error) {
	var out []echo.MiddlewareFunc
	switch limit := op.Extensions["x-wam-limit"]; limit {
	case nil:
	case "ip":
		out = append(out, s.limitByIP)
	default:
		return nil, fmt.Errorf("x-wam-limit: unknown value %v", limit)
	}
	security := doc.Security
	if op.Security != nil {
		security = *op.Security
	}
	var roles []string
	if v, ok := op.Extensions["x-wam-roles"]; ok {
		b, _ := json.Marshal(v)
		if err := json.Unmarshal(b, &roles); err != nil || len(roles) == 0 {
			return nil, fmt.Errorf("x-wam-roles: a list of roles expected, not %s", b)
		}
	}
	if len(security) == 0 {
		if roles != nil {
			return nil, fmt.Errorf("x-wam-roles on an operation without security")
		}
		return out, nil
	}
	out = append(out, s.requireAuth, s.enforceQuota)
	if roles != nil {
		out = append(out, requireRole(roles...))
	}
	return out, nil
}

func (r contractRouter) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodConnect, p, h, m)
}
func (r contractRouter) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodDelete, p, h, m)
}
func (r contractRouter) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodGet, p, h, m)
}
func (r contractRouter) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodHead, p, h, m)
}
func (r contractRouter) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodOptions, p, h, m)
}
func (r contractRouter) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodPatch, p, h, m)
}
func (r contractRouter) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodPost, p, h, m)
}
func (r contractRouter) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodPut, p, h, m)
}
func (r contractRouter) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodTrace, p, h, m)
}
