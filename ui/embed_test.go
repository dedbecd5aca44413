package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-From", "api")
		w.WriteHeader(http.StatusTeapot)
	})
	built := fstest.MapFS{
		"index.html":      {Data: []byte("<!doctype html><div id=root></div>")},
		"assets/app-1.js": {Data: []byte("console.log(1)")},
		"favicon.svg":     {Data: []byte("<svg/>")},
	}
	tests := []struct {
		name, method, path string
		files              fstest.MapFS
		status             int
		body, cache        string
		fromAPI            bool
	}{
		{"root", "GET", "/", built, 200, "id=root", "no-cache", false},
		{"client route", "GET", "/inbox/123", built, 200, "id=root", "no-cache", false},
		{"asset", "GET", "/assets/app-1.js", built, 200, "console.log", "immutable", false},
		{"missing asset", "GET", "/assets/gone-2.js", built, 404, "", "", false},
		{"api", "GET", "/api/conversations", built, 418, "", "", true},
		{"websocket", "GET", "/api/ws", built, 418, "", "", true},
		{"api docs", "GET", "/api-docs", built, 418, "", "", true},
		{"health", "GET", "/healthz", built, 418, "", "", true},
		{"ready", "GET", "/readyz", built, 418, "", "", true},
		{"metrics", "GET", "/metrics", built, 418, "", "", true},
		{"post elsewhere", "POST", "/inbox", built, 418, "", "", true},
		{"not built", "GET", "/inbox", fstest.MapFS{".gitkeep": {}}, 503, "make build", "no-store", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			handler(api, tt.files).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("X-From") == "api"; got != tt.fromAPI {
				t.Fatalf("served by the API: %v, want %v", got, tt.fromAPI)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Fatalf("body %q lacks %q", rec.Body.String(), tt.body)
			}
			if !strings.Contains(rec.Header().Get("Cache-Control"), tt.cache) {
				t.Fatalf("Cache-Control %q, want %q", rec.Header().Get("Cache-Control"), tt.cache)
			}
		})
	}
}
