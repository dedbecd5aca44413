package api

import (
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// quotas holds each tenant's API request limiter, sized by its plan
// (tenants.api_requests_per_minute) and re-read now and then, so a plan
// change takes effect within quotaTTL.
type quotas struct {
	mu       sync.Mutex
	limiters map[uuid.UUID]*quota
}

type quota struct {
	limiter *rate.Limiter
	perMin  int32
	read    time.Time
}

const quotaTTL = time.Minute

// enforceQuota answers 429 to a tenant over its plan's requests per minute.
// It runs after authentication, on the tenant-scoped API only.
func (s *Server) enforceQuota(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		now := s.now()
		s.quotas.mu.Lock()
		q := s.quotas.limiters[p.TenantID]
		s.quotas.mu.Unlock()
		if q == nil || now.Sub(q.read) > quotaTTL {
			t, err := s.q.GetTenant(c.Request().Context(), p.TenantID)
			if err != nil {
				return notFound(err, "tenant")
			}
			// A new quota value, never a change to the shared one: other
			// requests read it without the lock.
			per := t.ApiRequestsPerMinute
			if q == nil || q.perMin != per {
				q = &quota{limiter: rate.NewLimiter(rate.Limit(float64(per)/60), int(per)), perMin: per, read: now}
			} else {
				q = &quota{limiter: q.limiter, perMin: per, read: now}
			}
			s.quotas.mu.Lock()
			s.quotas.limiters[p.TenantID] = q
			s.quotas.mu.Unlock()
		}
		if !q.limiter.AllowN(now, 1) {
			c.Response().Header().Set("Retry-After", "1")
			return errQuota
		}
		return next(c)
	}
}

var errQuota = tooMany("API request quota of the tenant's plan exceeded; slow down")
