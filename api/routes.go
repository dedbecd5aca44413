package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/ingest"
)

// handlers implements apigen.ServerInterface, the operations of the API's
// contract (api/openapi.yaml) as oapi-codegen generated them: one method per
// operationId, path and query parameters already parsed.
type handlers struct{ *Server }

var _ apigen.ServerInterface = handlers{}

// routes registers every operation of the contract. The whole HTTP
// surface, with who may call what, reads in api/openapi.yaml; its Go form is
// apigen.RegisterHandlersWithOptions.
//
// What guards a route is read from the document as well, so the docs and
// the server cannot disagree: an operation with a security requirement
// needs an access token or an API key and counts against the tenant's
// quota; `x-wam-roles` lists the roles allowed; `x-wam-limit: ip` limits
// sign-in attempts per address; then the request is validated against the
// operation's parameters and body.
func (s *Server) routes(e *echo.Echo, doc *openapi3.T) {
	perOperation := map[string][]echo.MiddlewareFunc{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			guards, err := s.guards(doc, op)
			if err != nil {
				// The document is embedded and tested: this is a build defect.
				panic(fmt.Sprintf("%s %s: %v", method, path, err))
			}
			// Every call to a dependency answers within the deadline; then
			// who may call; then whether the request keeps the contract.
			guards = append([]echo.MiddlewareFunc{s.withDeadline(s.deadlineOf(op))}, guards...)
			if validate := validateRequest(doc, path, item, method, op); validate != nil {
				guards = append(guards, validate)
			}
			perOperation[op.OperationID] = guards
		}
	}
	apigen.RegisterHandlersWithOptions(e, handlers{s}, apigen.RegisterHandlersOptions{OperationMiddlewares: perOperation})
	// Swagger UI's own files, below the /api-docs page of the contract.
	e.GET("/api-docs/*", s.apiDocsFiles)
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
	if slices.Contains(roles, auth.RoleOperator) {
		// Operators' operations are theirs alone (OperatorsOnly).
		if len(roles) != 1 {
			return nil, fmt.Errorf("x-wam-roles: operator operations take no other role")
		}
		return append(out, s.OperatorsOnly()...), nil
	}
	out = append(out, s.requireAuth, refuseOperators, s.enforceQuota)
	if roles != nil {
		out = append(out, requireRole(roles...))
	}
	return out, nil
}

// deadlineOf is how long a request to op may take: webhooks are bounded by
// the routing lookup and the publish deadline (their answer must not need
// PostgreSQL), media files going in or out by MediaTimeout (their bodies
// are large), everything else by RequestTimeout.
func (s *Server) deadlineOf(op *openapi3.Operation) time.Duration {
	switch op.OperationID {
	case "receiveWebhook", "receiveTenantWebhook":
		return 2*ingest.DefaultLookupTimeout + s.cfg.PublishTimeout
	case "uploadMedia", "getMedia":
		return s.cfg.MediaTimeout
	case "eraseContact":
		return EraseTimeout
	}
	return s.cfg.RequestTimeout
}

// withDeadline gives the request's context a deadline of d: the queries and
// publishes it makes fail with a deadline error past it, which the error
// handler answers 503 with Retry-After.
func (s *Server) withDeadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}
