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

	// Developer API: API key, tenant-scoped.
	g := e.Group("/api", s.requireAPIKey)
	g.GET("/conversations", s.listConversations)
	g.GET("/conversations/:id/messages", s.listMessages)
	g.GET("/messages/:id", s.getMessage)
}
