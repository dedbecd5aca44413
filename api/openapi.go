package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
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
