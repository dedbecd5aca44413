package api

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/ingest"
)

// MaxWebhookBytes is the largest webhook body accepted. Meta batches up to
// about 3 MB into one POST.
const MaxWebhookBytes = 3 << 20

// VerifyWebhook answers Meta's subscription check for wam's own Meta app.
func (s handlers) VerifyWebhook(c echo.Context, p apigen.VerifyWebhookParams) error {
	return s.verifyChallenge(c, uuid.Nil, string(deref(p.HubMode)), deref(p.HubVerifyToken), deref(p.HubChallenge))
}

// VerifyTenantWebhook answers it for a tenant's own Meta app.
func (s handlers) VerifyTenantWebhook(c echo.Context, tenant uuid.UUID, p apigen.VerifyTenantWebhookParams) error {
	return s.verifyChallenge(c, tenant, string(deref(p.HubMode)), deref(p.HubVerifyToken), deref(p.HubChallenge))
}

// verifyChallenge echoes the challenge back when the verify token is one of
// the tenant's (wam's own for uuid.Nil).
func (s handlers) verifyChallenge(c echo.Context, tenant uuid.UUID, mode, token, challenge string) error {
	tokens, err := s.ingest.VerifyTokens(c.Request().Context(), tenant, s.cfg.VerifyToken)
	if err != nil {
		return err
	}
	if mode == "subscribe" {
		for _, t := range tokens {
			if t != "" && subtle.ConstantTimeCompare([]byte(token), []byte(t)) == 1 {
				return c.String(http.StatusOK, challenge)
			}
		}
	}
	return domain.Errorf(domain.ErrForbidden, "verify token does not match")
}

// ReceiveWebhook takes Meta's webhooks for wam's own Meta app.
func (s handlers) ReceiveWebhook(c echo.Context, _ apigen.ReceiveWebhookParams) error {
	return s.receiveWebhook(c, uuid.Nil)
}

// ReceiveTenantWebhook takes them for a tenant's own Meta app.
func (s handlers) ReceiveTenantWebhook(c echo.Context, tenant uuid.UUID, _ apigen.ReceiveTenantWebhookParams) error {
	return s.receiveWebhook(c, tenant)
}

// receiveWebhook stores what Meta sent before saying OK (ingest.Receiver):
// the 200 goes out only after JetStream acknowledged every part. Anything
// short of that is a 503, and Meta delivers again.
func (s *Server) receiveWebhook(c echo.Context, tenant uuid.UUID) error {
	req := c.Request()
	body, err := readBody(c.Response(), req, MaxWebhookBytes)
	if err != nil {
		s.metrics.webhooks.WithLabelValues("rejected").Inc()
		return err
	}
	rid := requestID(c)
	outcome, err := s.ingest.Receive(req.Context(), ingest.Delivery{
		Body: body, Signature: req.Header.Get("X-Hub-Signature-256"), Tenant: tenant, RequestID: rid,
	})
	switch code := domain.ErrorCode(err); {
	case code == domain.ErrUnauthorized:
		s.metrics.webhooks.WithLabelValues("rejected").Inc()
		return err
	case err != nil:
		s.metrics.webhooks.WithLabelValues("unavailable").Inc()
		s.log.Error("webhook not stored; asking Meta to retry", "err", err, "request_id", rid)
		return err
	}
	s.metrics.webhooks.WithLabelValues(outcome).Inc()
	if s.cfg.Load != nil {
		s.cfg.Load.hit()
	}
	return c.String(http.StatusOK, "EVENT_RECEIVED")
}

// readBody reads at most limit bytes of the request body; a larger body is a
// 413 and nothing of it is kept.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", limit))
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", limit))
	case err != nil:
		return nil, echo.NewHTTPError(http.StatusBadRequest, "could not read body: "+err.Error())
	}
	return buf.Bytes(), nil
}
