package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/domain"
)

// openapiYAML is the API's contract, written first and kept with the code.
//
//go:embed openapi.yaml
var openapiYAML []byte

// LoadOpenAPI parses and validates the embedded OpenAPI document.
func LoadOpenAPI(ctx context.Context) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not valid: %w", err)
	}
	return doc, nil
}

// openapiHandler serves the document as JSON.
func openapiHandler(doc *openapi3.T) (echo.HandlerFunc, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return func(c echo.Context) error { return c.JSONBlob(http.StatusOK, b) }, nil
}

// validateRequests checks every request against the OpenAPI document
// before its handler runs: parameters, and JSON bodies against their
// schemas (types, enums, lengths, unknown fields). A request that breaks the
// contract is a 400 naming the field. Meta's webhooks are exempt: they are
// stored as sent, whatever they hold.
func validateRequests(doc *openapi3.T) (echo.MiddlewareFunc, error) {
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if strings.HasPrefix(req.URL.Path, "/api/webhook") {
				return next(c)
			}
			route, params, err := router.FindRoute(req)
			if err != nil {
				return next(c) // not in the contract: Echo answers 404 or 405
			}
			err = openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{
				Request: req, PathParams: params, Route: route, Options: opts,
			})
			if err != nil {
				return domain.Errorf(domain.ErrInvalid, "%s", contractError(err))
			}
			return next(c)
		}
	}, nil
}

// contractError says which field broke the contract and how.
func contractError(err error) string {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return "request: " + err.Error()
	}
	if re.Parameter != nil {
		reason := re.Reason
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			reason = se.Reason
		} else if re.Err != nil && reason == "" {
			reason = re.Err.Error()
		}
		return re.Parameter.Name + ": " + reason
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		if msg := schemaProblem(se.Reason); msg != "" {
			return msg
		}
		field := strings.Join(se.JSONPointer(), ".")
		if field == "" {
			field = "body"
		}
		return field + ": " + se.Reason
	}
	if re.RequestBody != nil {
		if re.Err != nil {
			if msg := schemaProblem(re.Err.Error()); msg != "" {
				return msg
			}
			return "body: " + re.Err.Error()
		}
		return "body: " + re.Reason
	}
	return "request: " + re.Error()
}

// schemaProblem turns the JSON Schema validator's report (lines such as
// "- at '/name': got number, want string", "- at ”: missing property
// 'email'") into "field: reason": an unknown field first (a misspelt name
// also makes the right one missing), else the first problem; "" if none.
func schemaProblem(report string) string {
	first := ""
	for _, line := range strings.Split(report, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "- at '")
		if !ok {
			continue
		}
		ptr, msg, ok := strings.Cut(rest, "': ")
		if !ok {
			continue
		}
		if names, ok := strings.CutPrefix(msg, "additional properties '"); ok {
			name, _, _ := strings.Cut(names, "'")
			return name + ": unknown field"
		}
		if first != "" {
			continue
		}
		if name, ok := strings.CutPrefix(msg, "missing property '"); ok {
			first = strings.TrimSuffix(name, "'") + ": required"
			continue
		}
		field := strings.ReplaceAll(strings.TrimPrefix(ptr, "/"), "/", ".")
		if field == "" {
			field = "body"
		}
		first = field + ": " + msg
	}
	return first
}
