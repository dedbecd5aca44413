package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/messaging"
	"github.com/wam-project/wam/sql/dberr"
	"github.com/wam-project/wam/streams"
)

// problem is an RFC 9457 problem details body.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Code      string `json:"code,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// WindowExpiresAt is, on a window-closed problem, when the window
	// closed (null: the customer never wrote).
	WindowExpiresAt *windowEnd `json:"window_expires_at,omitempty"`
}

// windowEnd is a time that is null when unknown, but present.
type windowEnd struct{ at *time.Time }

func (w windowEnd) MarshalJSON() ([]byte, error) {
	if w.at == nil {
		return []byte("null"), nil
	}
	return json.Marshal(w.at.UTC())
}

// retryAfter is the Retry-After of a 503, in seconds: dependencies come
// back within seconds (a restart, a failover), and a client that waits
// this long is not hammering them meanwhile.
const retryAfter = "5"

var statusOf = map[string]int{
	domain.ErrInvalid:      http.StatusBadRequest,
	domain.ErrUnauthorized: http.StatusUnauthorized,
	domain.ErrForbidden:    http.StatusForbidden,
	domain.ErrNotFound:     http.StatusNotFound,
	domain.ErrConflict:     http.StatusConflict,
	domain.ErrWindowClosed: http.StatusUnprocessableEntity,
	domain.ErrKeyReused:    http.StatusUnprocessableEntity,
	domain.ErrUnavailable:  http.StatusServiceUnavailable,
	domain.ErrTooMany:      http.StatusTooManyRequests,
	domain.ErrInternal:     http.StatusInternalServerError,
}

// handleError is the one place errors become HTTP responses: domain error
// codes map to statuses, bodies are application/problem+json, and only
// internal errors are logged with their detail (which is not returned).
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := problem{Instance: c.Request().URL.Path, RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}
	if streams.Unavailable(err) {
		err = &domain.Error{Code: domain.ErrUnavailable, Message: "the event store is unavailable; retry later", Cause: err}
	}
	err = dberr.Translate(err) // PostgreSQL away: 503; a value it refused: 400
	var de *domain.Error
	var he *echo.HTTPError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		// A body streamed to its handler (an upload) went over its bound.
		p.Status = http.StatusRequestEntityTooLarge
		p.Detail = fmt.Sprintf("body: larger than %d MiB", tooBig.Limit>>20)
	case errors.As(err, &de):
		p.Code = de.Code
		p.Status = statusOf[de.Code]
		p.Detail = de.Message
	case errors.As(err, &he):
		p.Status = he.Code
		if msg, ok := he.Message.(string); ok {
			p.Detail = msg
		}
	}
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	switch {
	case p.Status == http.StatusServiceUnavailable:
		// A dependency is slow or away: nobody's fault, retry shortly.
		s.log.Warn("dependency unavailable", "err", err, "method", c.Request().Method,
			"path", c.Path(), "request_id", p.RequestID)
		if c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", retryAfter)
		}
	case p.Status >= 500:
		s.log.Error("request failed", "err", err, "method", c.Request().Method,
			"path", c.Path(), "request_id", p.RequestID)
		p.Detail = "internal error; quote the request id when reporting it"
	}
	var wc *messaging.WindowClosedError
	if errors.As(err, &wc) {
		p.WindowExpiresAt = &windowEnd{wc.ExpiresAt}
	}
	p.Title = http.StatusText(p.Status)
	p.Type = "about:blank"
	if p.Code != "" {
		p.Type = "https://wam.dev/problems/" + strings.ReplaceAll(p.Code, "_", "-")
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	_ = jsonEncode(c.Response(), p)
}
