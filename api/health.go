package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
)

// Dependency is something wam needs to serve, checked by /readyz.
type Dependency struct {
	Name  string                          // "postgres", "nats"
	Ready func(ctx context.Context) error // nil when it answers
}

// readyTimeout bounds each dependency's readiness check.
const readyTimeout = 2 * time.Second

// Healthz answers while the process is up.
func (s handlers) Healthz(c echo.Context) error { return c.String(http.StatusOK, "ok") }

// Readyz answers 200 only when every dependency answers, and otherwise says
// which do not: they are checked at once, each within readyTimeout, so a
// dependency that hangs neither hides another nor holds the answer.
func (s handlers) Readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	errs := make([]error, len(s.ready))
	var wg sync.WaitGroup
	for i, d := range s.ready {
		wg.Go(func() { errs[i] = d.Ready(ctx) })
	}
	wg.Wait()
	out := apigen.Readiness{Status: apigen.ReadinessStatusReady, Dependencies: map[string]apigen.ReadinessDependencies{}}
	var down []string
	for i, d := range s.ready {
		out.Dependencies[d.Name] = apigen.ReadinessDependenciesReady
		if errs[i] != nil {
			// Anyone may ask, so the answer names the dependency only;
			// the error itself (addresses, users, paths) goes to the log.
			s.log.Warn("not ready", "dependency", d.Name, "err", errs[i], "request_id", requestID(c))
			out.Dependencies[d.Name] = apigen.ReadinessDependenciesUnavailable
			down = append(down, d.Name+" unavailable")
		}
	}
	if len(down) == 0 {
		return c.JSON(http.StatusOK, out)
	}
	msg := strings.Join(down, ", ")
	out.Status, out.Error = apigen.ReadinessStatusUnavailable, &msg
	c.Response().Header().Set("Retry-After", retryAfter)
	return c.JSON(http.StatusServiceUnavailable, out)
}
