package api

import (
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
		if ok, _ := s.ipLimits.Allow(c.RealIP()); !ok {
			return errTooMany(c)
		}
		return next(c)
	}
}

// allowAccount reports whether another sign-in attempt for email may be
// made now.
func (s *Server) allowAccount(email string) bool {
	ok, _ := s.accountLimits.Allow(email)
	return ok
}
