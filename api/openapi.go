package api

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
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

// Openapi serves the document as JSON.
func (s handlers) Openapi(c echo.Context) error { return c.JSONBlob(http.StatusOK, s.openapiJSON) }

// MaxRequestBytes bounds the body of every request but Meta's webhooks
// (see MaxWebhookBytes).
const MaxRequestBytes = 64 << 10

func errBodyTooLarge() error {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d KiB", MaxRequestBytes>>10))
}

// validateRequest checks each request to op against the OpenAPI document
// before its handler runs: parameters, and JSON bodies against their schemas
// (types, enums, lengths, unknown fields). A request that breaks the contract
// is a 400 naming the field. So is text PostgreSQL could not store (see
// checkText), checked here once for every operation. Operations marked
// `x-wam-validate: false` (Meta's webhooks) are exempt: they are stored as
// sent, whatever they hold.
func validateRequest(doc *openapi3.T, path string, item *openapi3.PathItem, method string, op *openapi3.Operation) echo.MiddlewareFunc {
	if v, ok := op.Extensions["x-wam-validate"]; ok && v == false {
		return nil
	}
	// kin-openapi validates an OpenAPI 3.1 document with a JSON Schema
	// 2020-12 validator that it compiles anew for every parameter and body
	// of every request: half the CPU of a send. Its own validator, which
	// knows the 3.1 features this document uses (type lists), is told to by
	// a copy of the document that says 3.0.
	spec := *doc
	spec.OpenAPI = "3.0.3"
	route := &routers.Route{Spec: &spec, Path: path, PathItem: item, Method: method, Operation: op}
	opts := &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// format: uuid is checked here, so a malformed id is this
		// middleware's 400 naming the parameter.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.WithStringFormatValidator(
			"uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))},
	}
	if v, ok := op.Extensions["x-wam-body"]; ok && v == "stream" {
		return validateStreamed(route, *opts)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// The checks read the whole body: bounded here, or a request
			// of gigabytes would be read into memory first.
			body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, MaxRequestBytes))
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				return errBodyTooLarge()
			case err != nil:
				return domain.Errorf(domain.ErrInvalid, "body: could not be read")
			}
			c.Request().Body = io.NopCloser(bytes.NewReader(body))
			if err := checkText(c, body); err != nil {
				return err
			}
			params := make(map[string]string, len(c.ParamNames()))
			for i, name := range c.ParamNames() {
				params[name] = c.ParamValues()[i]
			}
			err = openapi3filter.ValidateRequest(c.Request().Context(), &openapi3filter.RequestValidationInput{
				Request: c.Request(), PathParams: params, Route: route, Options: opts,
			})
			if err != nil {
				return domain.Errorf(domain.ErrInvalid, "%s", contractError(err))
			}
			return next(c)
		}
	}
}

// validateStreamed is validateRequest for an operation marked
// `x-wam-body: stream` (media uploads): its body is too large to read
// before its handler, which streams it and checks it as it goes. The body
// is bounded at MaxUploadBytes, may take as long to arrive as the request's
// deadline (the HTTP server's read timeout is for ordinary requests; this
// is after the guards, so only a caller who may upload gets it), and the
// parameters are validated.
func validateStreamed(route *routers.Route, opts openapi3filter.Options) echo.MiddlewareFunc {
	opts.ExcludeRequestBody = true
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			req.Body = http.MaxBytesReader(c.Response(), req.Body, MaxUploadBytes)
			if deadline, ok := req.Context().Deadline(); ok {
				// Unsupported by test recorders: then there is no server timeout to extend.
				_ = http.NewResponseController(c.Response()).SetReadDeadline(deadline)
			}
			if err := checkText(c, nil); err != nil {
				return err
			}
			params := make(map[string]string, len(c.ParamNames()))
			for i, name := range c.ParamNames() {
				params[name] = c.ParamValues()[i]
			}
			// Without the body: the validator reads a body whole (for its
			// security checks) even when told to leave it alone.
			bare := req.Clone(req.Context())
			bare.Body, bare.ContentLength = http.NoBody, 0
			if err := openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{
				Request: bare, PathParams: params, Route: route, Options: &opts,
			}); err != nil {
				return domain.Errorf(domain.ErrInvalid, "%s", contractError(err))
			}
			return next(c)
		}
	}
}

// checkText refuses text PostgreSQL could not store (NUL characters, bytes
// that are not UTF-8, and in JSON the escapes that decode to such text):
// in the path and query parameters, and in every string and key of a JSON
// body, whatever the schema says of it. The body's raw bytes are read, not
// what encoding/json makes of them, since it would turn \ud800 into U+FFFD
// quietly. People can correct what they sent; stored, it would have been a
// 500, or an event the projector cannot apply.
func checkText(c echo.Context, body []byte) error {
	for i, name := range c.ParamNames() {
		if err := domain.CheckText(name, c.ParamValues()[i]); err != nil {
			return err
		}
	}
	query := c.QueryParams()
	for _, name := range slices.Sorted(maps.Keys(query)) {
		if err := domain.CheckText(domain.StorableText(name), name); err != nil {
			return err
		}
		for _, v := range query[name] {
			if err := domain.CheckText(name, v); err != nil {
				return err
			}
		}
	}
	return domain.CheckJSONText(body)
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
			if se.SchemaField == "format" && se.Schema != nil {
				reason = "must be a " + se.Schema.Format
			}
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
		if name, ok := unsupportedProperty(se.Reason); ok {
			if field != "" {
				name = field + "." + name
			}
			return name + ": unknown field"
		}
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

// documentRoles is doc as served to readers: each operation's x-wam-roles
// also said in words at the top of its description, where Swagger UI shows
// it. doc itself is left as it is.
func documentRoles(doc *openapi3.T) *openapi3.T {
	out := *doc
	out.Paths = openapi3.NewPaths()
	for path, item := range doc.Paths.Map() {
		copied := *item
		for method, op := range item.Operations() {
			roles, ok := op.Extensions["x-wam-roles"].([]any)
			if !ok {
				continue
			}
			names := make([]string, len(roles))
			for i, r := range roles {
				names[i] = fmt.Sprint(r)
			}
			o := *op
			o.Description = strings.TrimSpace("**Roles:** " + strings.Join(names, ", ") + ". " + op.Description)
			copied.SetOperation(method, &o)
		}
		out.Paths.Set(path, &copied)
	}
	return &out
}

// unsupportedProperty reads kin-openapi's `property "x" is unsupported`.
func unsupportedProperty(reason string) (string, bool) {
	rest, ok := strings.CutPrefix(reason, `property "`)
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, `" is unsupported`)
	return name, ok
}
