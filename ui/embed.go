// Package ui is wam's web app: the React app built from ui/src into
// ui/dist by `make ui` (vite), embedded in the binary and served at /.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// dist is the built app. A clean checkout holds only dist/.gitkeep, so the
// Go build works before the app is built; Handler then answers a page
// saying how to build it.
//
//go:embed all:dist
var dist embed.FS

// csp lets the app load its own scripts and styles, talk to the API and
// its WebSocket on the same origin, and show media (blob: URLs of files
// fetched with the access token) and tenants' logos (https).
const csp = "default-src 'self'; img-src 'self' data: blob: https:; media-src 'self' blob:; " +
	"style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Handler serves the app for GET and HEAD requests outside the API's
// paths, with client-side routes falling back to index.html; everything
// else goes to api.
func Handler(api http.Handler) http.Handler {
	files, _ := fs.Sub(dist, "dist")
	return handler(api, files)
}

func handler(api http.Handler, files fs.FS) http.Handler {
	static := http.FileServer(http.FS(files))
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		index = nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || isServerPath(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if index == nil {
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(notBuilt))
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if st, err := fs.Stat(files, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					// Vite names assets by their content's hash.
					h.Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				static.ServeHTTP(w, r)
				return
			}
			if path.Ext(name) != "" && !strings.Contains(path.Base(name), "@") {
				// A missing file (an old asset, a typo), not a route.
				http.NotFound(w, r)
				return
			}
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write(index)
	})
}

// isServerPath tells the paths the Go server answers itself, which the
// app's routes never shadow.
func isServerPath(p string) bool {
	for _, prefix := range []string{"/api/", "/api-docs"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	switch p {
	case "/api", "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}

const notBuilt = `<!doctype html><html lang="en"><meta charset="utf-8"><title>wam: the web app is not built</title>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5">
<h1>The web app is not built</h1>
<p>This wam binary was built without its web app. Run <code>make build</code> (it builds <code>ui/</code> with Node and embeds it), then start wam again.</p>
<p>The API is served as usual: see <a href="/api-docs">/api-docs</a>.</p></body></html>`
