package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
)

// Healthz answers while the process is up.
func (s handlers) Healthz(c echo.Context) error { return c.String(http.StatusOK, "ok") }

// Readyz answers 200 only when every dependency is reachable, so a load
// balancer sends webhooks only to a node that can store them.
func (s handlers) Readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	for _, check := range s.ready {
		if err := check(ctx); err != nil {
			// Anyone may ask, so the answer names the dependency only;
			// the error itself (addresses, users, paths) goes to the log.
			s.log.Warn("not ready", "err", err, "request_id", requestID(c))
			dep, _, _ := strings.Cut(err.Error(), ":")
			msg := dep + " unavailable"
			return c.JSON(http.StatusServiceUnavailable, apigen.Readiness{Status: apigen.ReadinessStatusUnavailable, Error: &msg})
		}
	}
	return c.JSON(http.StatusOK, apigen.Readiness{Status: apigen.ReadinessStatusReady})
}
