package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/streams"
)

func TestMetricsAndHeaders(t *testing.T) {
	e := newEnv(t)
	tn := e.mustTenant("100", "111")
	good := textWebhook("100", "111", "wamid.m", "16505551234", "hi")
	unknown := textWebhook("300", "999", "wamid.u", "16505551234", "hi")
	e.post(good, sign(good))
	e.post(unknown, sign(unknown))
	e.post(good, "sha256=00")
	e.get("/api/conversations", tn.APIKey)

	rec := e.get("/metrics", "")
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`wam_webhooks_total{outcome="stored"} 1`,
		`wam_webhooks_total{outcome="unrouted"} 1`,
		`wam_webhooks_total{outcome="rejected"} 1`,
		`wam_http_request_duration_seconds_count{method="POST",route="/api/webhook",status="200"} 2`,
		`wam_http_request_duration_seconds_count{method="GET",route="/api/conversations",status="200"} 1`,
		`wam_publish_duration_seconds_count 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Every response carries the security headers; requests are logged with
	// their request id and tenant.
	rec = e.get("/api/conversations", tn.APIKey)
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	rid := rec.Header().Get("X-Request-Id")
	if rid == "" || !strings.Contains(e.logs.String(), rid) || !strings.Contains(e.logs.String(), `"tenant_id":"`+tn.ID.String()+`"`) {
		t.Errorf("request %q not logged with its tenant:\n%s", rid, e.logs.String())
	}
	if strings.Contains(e.logs.String(), tn.APIKey) {
		t.Error("an API key was logged")
	}
}

func TestCORS(t *testing.T) {
	pool := newEnv(t).pool
	h := api.New(api.Config{FrontendURL: "https://inbox.example.com"}, pool,
		streams.NewPublisher(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	for origin, allowed := range map[string]bool{"https://inbox.example.com": true, "https://evil.example.com": false} {
		req := httptest.NewRequest(http.MethodOptions, "/api/conversations", bytes.NewReader(nil))
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get("Access-Control-Allow-Origin")
		if allowed != (got == origin) {
			t.Errorf("origin %s: Access-Control-Allow-Origin %q", origin, got)
		}
	}
}

// TestReadyzSaysLittle: anyone may ask /readyz, so a failing dependency is
// named, and what failed (addresses, users, paths) goes to the log only.
func TestReadyzSaysLittle(t *testing.T) {
	pool := newEnv(t).pool
	var logs bytes.Buffer
	down := api.Dependency{Name: "postgres", Ready: func(context.Context) error {
		return errors.New("failed to connect to `user=wam_secret_user database=wam`: /srv/wam/pg.sock")
	}}
	up := api.Dependency{Name: "nats", Ready: func(context.Context) error { return nil }}
	h := api.New(api.Config{}, pool, streams.NewPublisher(), slog.New(slog.NewJSONHandler(&logs, nil)), down, up)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"postgres unavailable"`) ||
		!strings.Contains(rec.Body.String(), `"dependencies":{"nats":"ready","postgres":"unavailable"}`) ||
		strings.Contains(rec.Body.String(), "wam_secret_user") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("readyz: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "wam_secret_user") {
		t.Errorf("the reason was not logged: %s", logs.String())
	}
}
