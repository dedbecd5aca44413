package api

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

// apiDocs is Swagger UI (swagger-ui-dist 5.35.0, Apache-2.0; refresh with
// `make apidocs`) and the page that points it at /api/openapi.json. It is
// embedded so the docs work offline.
//
//go:embed apidocs
var apiDocs embed.FS

// apiDocsCSP loosens the API's "default-src 'none'" for the docs page only:
// Swagger UI loads its own script and styles and draws inline styles.
const apiDocsCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"

// ApiDocs is the page that renders the contract.
func (s handlers) ApiDocs(c echo.Context) error {
	c.Response().Header().Set("Content-Security-Policy", apiDocsCSP)
	page, err := apiDocs.ReadFile("apidocs/index.html")
	if err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, page)
}

var apiDocsStatic = func() http.Handler {
	files, _ := fs.Sub(apiDocs, "apidocs")
	return http.StripPrefix("/api-docs/", http.FileServer(http.FS(files)))
}()

// apiDocsFiles serves Swagger UI's scripts and styles.
func (s *Server) apiDocsFiles(c echo.Context) error {
	c.Response().Header().Set("Content-Security-Policy", apiDocsCSP)
	apiDocsStatic.ServeHTTP(c.Response(), c.Request())
	return nil
}
