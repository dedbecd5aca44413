package api

import (
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/wam-project/wam/domain"
)

// Sign-in limits: password guessing gets 5 tries at once and then one
// every 12 seconds, per client address and, separately, per account.
const (
	signInBurst = 5
	signInEvery = 12 * time.Second
)

func newSignInStore() *middleware.RateLimiterMemoryStore {
	return middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Every(signInEvery), Burst: signInBurst, ExpiresIn: 10 * time.Minute,
	})
}

// errTooMany is the 429 of a sign-in limit; Retry-After tells when to try again.
func errTooMany(c echo.Context) error {
	c.Response().Header().Set("Retry-After", "12")
	return tooMany("too many attempts; retry in a few seconds")
}

func tooMany(msg string) error { return domain.Errorf(domain.ErrTooMany, "%s", msg) }

// limitByIP limits the routes it wraps per client address.
func (s *Server) limitByIP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ok, _ := s.ipLimits.Allow(clientNetwork(c.RealIP())); !ok {
			return errTooMany(c)
		}
		return next(c)
	}
}

// clientNetwork is what the per-address limits count by: an IPv4 address,
// or the /64 network of an IPv6 one, since a single subscriber commonly
// holds a whole /64 and could otherwise take a fresh address per attempt.
func clientNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Unmap().Is4() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// sanitizeRequestID drops a client's X-Request-ID unless it looks like one
// (up to 64 letters, digits, '-', '_' or '.'): a proxy in front of wam may
// pass its id on, but what requests are logged and audited under stays
// short and plain. Without one, the request gets a fresh id.
func sanitizeRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if id := h.Get(echo.HeaderXRequestID); id != "" && !wellFormedID(id) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

func wellFormedID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// allowAccount reports whether another sign-in attempt for email may be
// made now.
func (s *Server) allowAccount(email string) bool {
	ok, _ := s.accountLimits.Allow(email)
	return ok
}

// allowSignUp reports whether another sign-up or invitation for email may
// be made now.
func (s *Server) allowSignUp(email string) bool {
	ok, _ := s.registerLimits.Allow(email)
	return ok
}
