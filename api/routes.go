package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/auth"
)

// routes is the whole HTTP surface of wam on one screen.
func (s *Server) routes(e *echo.Echo) {
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/readyz", s.readyz)
	// GET /metrics (Prometheus) is added by New, next to its registry.

	// Meta's webhook contract.
	e.GET("/api/webhook", s.verifyWebhook)
	e.POST("/api/webhook", s.receiveWebhook)
	// Tenants with their own Meta app: signed with that app's secret.
	e.GET("/api/webhook/:tenant", s.verifyWebhook)
	e.POST("/api/webhook/:tenant", s.receiveWebhook)

	// Accounts.
	e.POST("/api/auth/register", s.register, s.limitByIP)
	e.POST("/api/auth/login", s.login, s.limitByIP)
	e.POST("/api/auth/refresh", s.refresh)
	e.POST("/api/auth/logout", s.logout)
	e.POST("/api/auth/accept-invite", s.acceptInvite, s.limitByIP)

	// Tenant-scoped API: a signed-in user's access token or an API key.
	g := e.Group("/api", s.requireAuth, s.enforceQuota)
	g.GET("/auth/me", s.me)
	g.GET("/conversations", s.listConversations)
	g.PATCH("/conversations/:id", s.patchConversation)
	g.GET("/conversations/:id/notes", s.listNotes)
	g.POST("/conversations/:id/notes", s.addNote)
	g.POST("/conversations/:id/read", s.markRead)

	// Administration: owners and admins (API keys act as admins).
	admin := requireRole(auth.RoleOwner, auth.RoleAdmin)
	g.POST("/users", s.inviteUser, admin)
	g.GET("/users", s.listUsers, admin)
	g.PATCH("/users/:id", s.updateUser, admin)
	g.DELETE("/users/:id", s.deleteUser, admin)
	g.POST("/api-keys", s.createAPIKey, admin)
	g.GET("/api-keys", s.listAPIKeys, admin)
	g.DELETE("/api-keys/:id", s.revokeAPIKey, admin)
	g.GET("/audit-log", s.listAudit, requireRole(auth.RoleOwner))
	for _, path := range []string{"/waba/credentials", "/phone-numbers"} {
		g.POST(path, s.connectNumber, admin)
		g.GET(path, s.listNumbers)
		g.DELETE(path+"/:id", s.deleteNumber, admin)
	}
	g.GET("/tenant", s.getTenant)
	g.PUT("/tenant", s.putTenant, admin)

	g.GET("/conversations/:id/messages", s.listMessages)
	g.GET("/messages/:id", s.getMessage)
}
