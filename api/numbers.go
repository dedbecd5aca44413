package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
)

// Graph is the part of Meta's Graph API that connecting a number needs.
type Graph interface {
	PhoneNumber(ctx context.Context, id, token string) (meta.PhoneNumber, error)
	WABAPhoneNumbers(ctx context.Context, waba, token string) ([]meta.PhoneNumber, error)
}

// numberOf is a connected number as the API shows it: its secrets only as
// "is there one".
func numberOf(n db.PhoneNumber) apigen.Number {
	return apigen.Number{Id: n.ID, PhoneNumberId: n.PhoneNumberID, DisplayPhoneNumber: n.DisplayPhoneNumber, WabaId: n.WabaID,
		VerifiedName: n.VerifiedName, MessagesPerSecond: n.MessagesPerSecond, HasAccessToken: n.AccessTokenEnc != nil,
		HasAppSecret: n.AppSecretEnc != nil, HasVerifyToken: n.VerifyTokenEnc != nil, CreatedAt: n.CreatedAt.UTC(),
		TokenStatus: apigen.NumberTokenStatus(n.TokenStatus), TokenError: n.TokenError}
}

// ConnectNumber stores a number's credentials after Meta confirmed that the
// access token may act for it and, when a waba_id is given, that the number
// is in that WABA: WABA-level webhooks (template updates) are routed by it,
// so an unchecked waba_id would let a tenant take another's.
func (s handlers) ConnectNumber(c echo.Context) error {
	p := principal(c)
	var r apigen.ConnectNumberRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	waba, appSecret, verifyToken := deref(r.WabaId), deref(r.AppSecret), deref(r.VerifyToken)
	if !domain.ValidMetaID(r.PhoneNumberId) {
		return domain.Errorf(domain.ErrInvalid, "phone_number_id: Meta's numeric phone number id")
	}
	if waba != "" && !domain.ValidMetaID(waba) {
		return domain.Errorf(domain.ErrInvalid, "waba_id: Meta's numeric WhatsApp Business Account id")
	}
	display, err := domain.NormalizePhone(r.DisplayPhoneNumber)
	if err != nil {
		return domain.Errorf(domain.ErrInvalid, "display_phone_number: not a phone number")
	}
	if n := len(r.AccessToken); n < 20 || n > 4096 || strings.ContainsAny(r.AccessToken, " \t\r\n") {
		return domain.Errorf(domain.ErrInvalid, "access_token: 20 to 4096 characters without spaces")
	}
	if len(appSecret) > 256 || len(verifyToken) > 256 {
		return domain.Errorf(domain.ErrInvalid, "app_secret and verify_token: at most 256 characters")
	}
	mps := int32(80)
	if r.MessagesPerSecond != nil {
		if mps = *r.MessagesPerSecond; mps < 1 || mps > 1000 {
			return domain.Errorf(domain.ErrInvalid, "messages_per_second: 1 to 1000")
		}
	}
	ctx := c.Request().Context()
	info, err := s.graph.PhoneNumber(ctx, r.PhoneNumberId, r.AccessToken)
	if err != nil {
		return s.graphRefusal(c, err, "phone_number_id")
	}
	if waba != "" {
		numbers, err := s.graph.WABAPhoneNumbers(ctx, waba, r.AccessToken)
		if err != nil {
			return s.graphRefusal(c, err, "waba_id")
		}
		if !slices.ContainsFunc(numbers, func(n meta.PhoneNumber) bool { return n.ID == r.PhoneNumberId }) {
			return domain.Errorf(domain.ErrInvalid, "waba_id: Meta does not list phone number %s in WhatsApp Business Account %s", r.PhoneNumberId, waba)
		}
	}
	row := db.ConnectNumberParams{
		ID: uuid.New(), TenantID: p.TenantID, PhoneNumberID: r.PhoneNumberId, DisplayPhoneNumber: display,
		WabaID: waba, VerifiedName: info.VerifiedName, MessagesPerSecond: mps,
	}
	for _, sec := range []struct {
		field, value string
		dst          *[]byte
	}{
		{"access_token", r.AccessToken, &row.AccessTokenEnc},
		{"app_secret", appSecret, &row.AppSecretEnc},
		{"verify_token", verifyToken, &row.VerifyTokenEnc},
	} {
		if sec.value == "" {
			continue
		}
		if row.SecretKeyID, *sec.dst, err = s.keys.Encrypt([]byte(sec.value), auth.CredentialAAD(p.TenantID, r.PhoneNumberId, sec.field)); err != nil {
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
	switch {
	case dberr.Is(err, pgerrcode.UniqueViolation):
		return domain.Errorf(domain.ErrConflict, "phone_number_id: already connected")
	case dberr.Is(err, pgerrcode.ExclusionViolation): // phone_numbers_waba_one_tenant, its only exclusion constraint
		return domain.Errorf(domain.ErrConflict, "waba_id: WhatsApp Business Account %s is connected by another tenant", waba)
	case err != nil:
		return err
	}
	s.numbersChanged()
	s.numberConnected(p.TenantID)
	return c.JSON(http.StatusCreated, numberOf(n))
}

// graphRefusal is the problem to answer when the Graph API refused a lookup
// of field's value with the caller's token, or could not be asked.
func (s handlers) graphRefusal(c echo.Context, err error, field string) error {
	var ge *meta.Error
	switch {
	case errors.As(err, &ge) && ge.Code == 190:
		return domain.Errorf(domain.ErrInvalid, "access_token: Meta rejected it (code 190: invalid or expired)")
	case errors.As(err, &ge):
		return domain.Errorf(domain.ErrInvalid, "%s: Meta refused the lookup (code %d: %s)", field, ge.Code, ge.Message)
	}
	s.log.Error("graph api unreachable", "err", err, "request_id", requestID(c))
	return domain.Errorf(domain.ErrUnavailable, "could not check the credentials with Meta's Graph API; try again")
}

// ListNumbers lists the tenant's numbers.
func (s handlers) ListNumbers(c echo.Context) error {
	p := principal(c)
	var rows []db.PhoneNumber
	err := s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		rows, err = q.ListNumbers(c.Request().Context(), p.TenantID)
		return err
	})
	if err != nil {
		return err
	}
	out := apigen.NumberList{Data: make([]apigen.Number, len(rows))}
	for i, n := range rows {
		out.Data[i] = numberOf(n)
	}
	return c.JSON(http.StatusOK, out)
}

// DeleteNumber disconnects a number and forgets its credentials.
func (s handlers) DeleteNumber(c echo.Context, id uuid.UUID) error {
	p := principal(c)
	ctx := c.Request().Context()
	err := s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		pnid, err := q.DeleteNumber(ctx, db.DeleteNumberParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "phone number")
		}
		return s.audit(ctx, q, c, p.TenantID, "number.deleted", pnid, nil)
	})
	if err != nil {
		return err
	}
	s.numbersChanged()
	return c.NoContent(http.StatusNoContent)
}

// ConnectNumberAlias is ConnectNumber at /api/phone-numbers, the path of
// the product wam replaces.
func (s handlers) ConnectNumberAlias(c echo.Context) error { return s.ConnectNumber(c) }

// ListNumbersAlias is ListNumbers at /api/phone-numbers.
func (s handlers) ListNumbersAlias(c echo.Context) error { return s.ListNumbers(c) }

// DeleteNumberAlias is DeleteNumber at /api/phone-numbers/{id}.
func (s handlers) DeleteNumberAlias(c echo.Context, id uuid.UUID) error { return s.DeleteNumber(c, id) }

// numbersChanged drops cached routes and secrets after a number was
// connected or deleted, and lets the Adopter look for webhooks it owns.
func (s *Server) numbersChanged() {
	s.ingest.Forget()
	if s.cfg.NumbersChanged != nil {
		s.cfg.NumbersChanged()
	}
}

// PatchNumber replaces a number's access token (checked with Meta first)
// or its rate. The number's secrets are sealed anew under the active key,
// and a hold after Meta refused the old token ends.
func (s handlers) PatchNumber(c echo.Context, id uuid.UUID) error {
	p := principal(c)
	var r apigen.PatchNumberRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var cur db.PhoneNumber
	err := s.inTenant(ctx, p.TenantID, func(q *db.Queries) (err error) {
		cur, err = q.GetNumber(ctx, db.GetNumberParams{TenantID: p.TenantID, ID: id})
		return notFound(err, "phone number")
	})
	if err != nil {
		return err
	}
	if r.AccessToken != nil {
		if strings.ContainsAny(*r.AccessToken, " \t\r\n") {
			return domain.Errorf(domain.ErrInvalid, "access_token: 20 to 4096 characters without spaces")
		}
		if _, err := s.graph.PhoneNumber(ctx, cur.PhoneNumberID, *r.AccessToken); err != nil {
			return s.graphRefusal(c, err, "access_token")
		}
	}
	set := db.ReplaceNumberCredentialsParams{TenantID: p.TenantID, ID: id, MessagesPerSecond: cur.MessagesPerSecond, SecretKeyID: s.keys.ActiveKey()}
	if r.MessagesPerSecond != nil {
		set.MessagesPerSecond = *r.MessagesPerSecond
	}
	for _, sec := range []struct {
		field string
		enc   []byte
		repl  *string
		dst   *[]byte
	}{
		{"access_token", cur.AccessTokenEnc, r.AccessToken, &set.AccessTokenEnc},
		{"app_secret", cur.AppSecretEnc, nil, &set.AppSecretEnc},
		{"verify_token", cur.VerifyTokenEnc, nil, &set.VerifyTokenEnc},
	} {
		aad := auth.CredentialAAD(p.TenantID, cur.PhoneNumberID, sec.field)
		var plain []byte
		switch {
		case sec.repl != nil:
			plain = []byte(*sec.repl)
		case sec.enc != nil:
			if plain, err = s.keys.Decrypt(cur.SecretKeyID, sec.enc, aad); err != nil {
				return err
			}
		default:
			continue
		}
		if _, *sec.dst, err = s.keys.Encrypt(plain, aad); err != nil {
			return err
		}
	}
	var n db.PhoneNumber
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) (err error) {
		if n, err = q.ReplaceNumberCredentials(ctx, set); err != nil {
			return notFound(err, "phone number")
		}
		detail := map[string]any{"messages_per_second": n.MessagesPerSecond, "access_token_replaced": r.AccessToken != nil}
		return s.audit(ctx, q, c, p.TenantID, "number.changed", n.PhoneNumberID, detail)
	})
	if err != nil {
		return err
	}
	s.numbersChanged()
	if r.AccessToken != nil {
		s.numberConnected(p.TenantID)
	}
	return c.JSON(http.StatusOK, numberOf(n))
}
