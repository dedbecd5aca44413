package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/sql/db"
)

// Graph is the part of Meta's Graph API that connecting a number needs.
type Graph interface {
	PhoneNumber(ctx context.Context, id, token string) (meta.PhoneNumber, error)
}

// Number is a connected WhatsApp number as the API shows it: its secrets
// only as "is there one".
type Number struct {
	ID                 uuid.UUID `json:"id"`
	PhoneNumberID      string    `json:"phone_number_id"`
	DisplayPhoneNumber string    `json:"display_phone_number"`
	WABAID             string    `json:"waba_id"`
	VerifiedName       string    `json:"verified_name"`
	MessagesPerSecond  int32     `json:"messages_per_second"`
	HasAccessToken     bool      `json:"has_access_token"`
	HasAppSecret       bool      `json:"has_app_secret"`
	HasVerifyToken     bool      `json:"has_verify_token"`
	CreatedAt          time.Time `json:"created_at"`
}

func numberOf(n db.PhoneNumber) Number {
	return Number{ID: n.ID, PhoneNumberID: n.PhoneNumberID, DisplayPhoneNumber: n.DisplayPhoneNumber, WABAID: n.WabaID,
		VerifiedName: n.VerifiedName, MessagesPerSecond: n.MessagesPerSecond, HasAccessToken: n.AccessTokenEnc != nil,
		HasAppSecret: n.AppSecretEnc != nil, HasVerifyToken: n.VerifyTokenEnc != nil, CreatedAt: n.CreatedAt.UTC()}
}

type connectNumberRequest struct {
	PhoneNumberID      string `json:"phone_number_id"`
	DisplayPhoneNumber string `json:"display_phone_number"`
	WABAID             string `json:"waba_id"`
	AccessToken        string `json:"access_token"`
	AppSecret          string `json:"app_secret"`
	VerifyToken        string `json:"verify_token"`
	MessagesPerSecond  *int32 `json:"messages_per_second"`
}

// SecretAAD binds a stored secret to its row: the tenant, the number and
// which secret it is, so a ciphertext copied elsewhere does not decrypt.
func SecretAAD(tenant uuid.UUID, phoneNumberID, field string) []byte {
	return []byte(tenant.String() + "|" + phoneNumberID + "|" + field)
}

// connectNumber stores a number's credentials after Meta confirmed that the
// access token may act for it.
func (s *Server) connectNumber(c echo.Context) error {
	p := principal(c)
	var r connectNumberRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if !domain.ValidMetaID(r.PhoneNumberID) {
		return domain.Errorf(domain.ErrInvalid, "phone_number_id: Meta's numeric phone number id")
	}
	if r.WABAID != "" && !domain.ValidMetaID(r.WABAID) {
		return domain.Errorf(domain.ErrInvalid, "waba_id: Meta's numeric WhatsApp Business Account id")
	}
	display, err := domain.NormalizePhone(r.DisplayPhoneNumber)
	if err != nil {
		return domain.Errorf(domain.ErrInvalid, "display_phone_number: not a phone number")
	}
	if n := len(r.AccessToken); n < 20 || n > 4096 || strings.ContainsAny(r.AccessToken, " \t\r\n") {
		return domain.Errorf(domain.ErrInvalid, "access_token: 20 to 4096 characters without spaces")
	}
	if len(r.AppSecret) > 256 || len(r.VerifyToken) > 256 {
		return domain.Errorf(domain.ErrInvalid, "app_secret and verify_token: at most 256 characters")
	}
	mps := int32(80)
	if r.MessagesPerSecond != nil {
		if mps = *r.MessagesPerSecond; mps < 1 || mps > 1000 {
			return domain.Errorf(domain.ErrInvalid, "messages_per_second: 1 to 1000")
		}
	}
	ctx := c.Request().Context()
	info, err := s.graph.PhoneNumber(ctx, r.PhoneNumberID, r.AccessToken)
	var ge *meta.Error
	switch {
	case errors.As(err, &ge) && ge.Code == 190:
		return domain.Errorf(domain.ErrInvalid, "access_token: Meta rejected it (code 190: invalid or expired)")
	case errors.As(err, &ge):
		return domain.Errorf(domain.ErrInvalid, "phone_number_id: Meta refused the lookup (code %d: %s)", ge.Code, ge.Message)
	case err != nil:
		s.log.Error("graph api unreachable", "err", err, "request_id", requestID(c))
		return domain.Errorf(domain.ErrUnavailable, "could not reach Meta's Graph API to check the token; try again")
	}
	row := db.ConnectNumberParams{
		ID: uuid.New(), TenantID: p.TenantID, PhoneNumberID: r.PhoneNumberID, DisplayPhoneNumber: display,
		WabaID: r.WABAID, VerifiedName: info.VerifiedName, MessagesPerSecond: mps,
	}
	for _, sec := range []struct {
		field, value string
		dst          *[]byte
	}{
		{"access_token", r.AccessToken, &row.AccessTokenEnc},
		{"app_secret", r.AppSecret, &row.AppSecretEnc},
		{"verify_token", r.VerifyToken, &row.VerifyTokenEnc},
	} {
		if sec.value == "" {
			continue
		}
		if row.SecretKeyID, *sec.dst, err = s.keys.Encrypt([]byte(sec.value), SecretAAD(p.TenantID, r.PhoneNumberID, sec.field)); err != nil {
			return err
		}
	}
	var n db.PhoneNumber
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) (err error) {
		if n, err = q.ConnectNumber(ctx, row); err != nil {
			return err
		}
		return s.audit(ctx, q, c, p.TenantID, "number.connected", n.PhoneNumberID, map[string]any{"display_phone_number": n.DisplayPhoneNumber})
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return domain.Errorf(domain.ErrConflict, "phone_number_id: already connected")
	}
	if err != nil {
		return err
	}
	s.router.Forget()
	return c.JSON(http.StatusCreated, numberOf(n))
}

func (s *Server) listNumbers(c echo.Context) error {
	p := principal(c)
	var rows []db.PhoneNumber
	err := s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		rows, err = q.ListNumbers(c.Request().Context(), p.TenantID)
		return err
	})
	if err != nil {
		return err
	}
	out := make([]Number, len(rows))
	for i, n := range rows {
		out[i] = numberOf(n)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

func (s *Server) deleteNumber(c echo.Context) error {
	p := principal(c)
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		pnid, err := q.DeleteNumber(ctx, db.DeleteNumberParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "phone number")
		}
		return s.audit(ctx, q, c, p.TenantID, "number.deleted", pnid, nil)
	})
	if err != nil {
		return err
	}
	s.router.Forget()
	return c.NoContent(http.StatusNoContent)
}
