package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes is the whole HTTP surface of wam on one screen.
func (s *Server) routes(e *echo.Echo) {
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/readyz", s.readyz)
	// GET /metrics (Prometheus) is added by New, next to its registry.

	// Meta's webhook contract.
	e.GET("/api/webhook", s.verifyWebhook)
	e.POST("/api/webhook", s.receiveWebhook)

	// Accounts.
	e.POST("/api/auth/register", s.register, s.limitByIP)
	e.POST("/api/auth/login", s.login, s.limitByIP)
	e.POST("/api/auth/refresh", s.refresh)
	e.POST("/api/auth/logout", s.logout)

	// Tenant-scoped API: a signed-in user's access token or an API key.
	g := e.Group("/api", s.requireAuth)
	g.GET("/auth/me", s.me)
	g.GET("/conversations", s.listConversations)
	g.GET("/conversations/:id/messages", s.listMessages)
	g.GET("/messages/:id", s.getMessage)
}
