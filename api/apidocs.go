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

func serveAPIDocs(e *echo.Echo) {
	files, _ := fs.Sub(apiDocs, "apidocs")
	static := http.StripPrefix("/api-docs/", http.FileServer(http.FS(files)))
	e.GET("/api-docs", func(c echo.Context) error {
		c.Response().Header().Set("Content-Security-Policy", apiDocsCSP)
		page, err := fs.ReadFile(files, "index.html")
		if err != nil {
			return err
		}
		return c.HTMLBlob(http.StatusOK, page)
	})
	e.GET("/api-docs/*", func(c echo.Context) error {
		c.Response().Header().Set("Content-Security-Policy", apiDocsCSP)
		static.ServeHTTP(c.Response(), c.Request())
		return nil
	})
}
