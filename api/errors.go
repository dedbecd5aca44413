package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/domain"
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
}

var statusOf = map[string]int{
	domain.ErrInvalid:      http.StatusBadRequest,
	domain.ErrUnauthorized: http.StatusUnauthorized,
	domain.ErrForbidden:    http.StatusForbidden,
	domain.ErrNotFound:     http.StatusNotFound,
	domain.ErrConflict:     http.StatusConflict,
	domain.ErrWindowClosed: http.StatusUnprocessableEntity,
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
	var de *domain.Error
	var he *echo.HTTPError
	switch {
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
	if p.Status >= 500 && p.Code != domain.ErrUnavailable {
		s.log.Error("request failed", "err", err, "method", c.Request().Method,
			"path", c.Path(), "request_id", p.RequestID)
		p.Detail = "internal error; quote the request id when reporting it"
	}
	p.Title = http.StatusText(p.Status)
	p.Type = "about:blank"
	if p.Code != "" {
		p.Type = "https://wam.dev/problems/" + p.Code
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	_ = jsonEncode(c.Response(), p)
}
