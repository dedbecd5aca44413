package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/streams"
)

// MaxWebhookBytes is the largest webhook body accepted. Meta batches up to
// about 3 MB into one POST.
const MaxWebhookBytes = 3 << 20

// VerifyWebhook answers Meta's subscription check for wam's own Meta app.
func (s handlers) VerifyWebhook(c echo.Context, p apigen.VerifyWebhookParams) error {
	return verifyChallenge(c, []string{s.cfg.VerifyToken}, string(deref(p.HubMode)), deref(p.HubVerifyToken), deref(p.HubChallenge))
}

// VerifyTenantWebhook answers it for a tenant's own Meta app.
func (s handlers) VerifyTenantWebhook(c echo.Context, tenant uuid.UUID, p apigen.VerifyTenantWebhookParams) error {
	secrets, err := s.tenantWebhookSecrets(c.Request().Context(), tenant)
	if err != nil {
		return err
	}
	return verifyChallenge(c, secrets.verifyTokens, string(deref(p.HubMode)), deref(p.HubVerifyToken), deref(p.HubChallenge))
}

// verifyChallenge echoes the challenge back when the verify token is one of
// tokens.
func verifyChallenge(c echo.Context, tokens []string, mode, token, challenge string) error {
	if mode == "subscribe" {
		for _, t := range tokens {
			if t != "" && subtle.ConstantTimeCompare([]byte(token), []byte(t)) == 1 {
				return c.String(http.StatusOK, challenge)
			}
		}
	}
	return domain.Errorf(domain.ErrForbidden, "verify token does not match")
}

// webhookSecrets are a tenant's own Meta app's secrets, for tenants that
// bring their own app and point it at /api/webhook/{tenant_id}.
type webhookSecrets struct {
	appSecrets, verifyTokens []string
}

func (s *Server) tenantWebhookSecrets(ctx context.Context, tenant uuid.UUID) (webhookSecrets, error) {
	var out webhookSecrets
	rows, err := s.q.TenantWebhookSecrets(ctx, tenant)
	if err != nil {
		return out, domain.Errorf(domain.ErrUnavailable, "cannot read the tenant's app secrets; retry later")
	}
	for _, r := range rows {
		for _, sec := range []struct {
			field string
			enc   []byte
			dst   *[]string
		}{{"app_secret", r.AppSecretEnc, &out.appSecrets}, {"verify_token", r.VerifyTokenEnc, &out.verifyTokens}} {
			if sec.enc == nil {
				continue
			}
			plain, err := s.keys.Decrypt(r.SecretKeyID, sec.enc, SecretAAD(tenant, r.PhoneNumberID, sec.field))
			if err != nil {
				s.log.Error("tenant webhook secret undecryptable", "tenant_id", tenant, "phone_number_id", r.PhoneNumberID, "err", err)
				continue
			}
			*sec.dst = append(*sec.dst, string(plain))
		}
	}
	return out, nil
}

// ReceiveWebhook takes Meta's webhooks for wam's own Meta app.
func (s handlers) ReceiveWebhook(c echo.Context, _ apigen.ReceiveWebhookParams) error {
	return s.receiveWebhook(c, uuid.Nil)
}

// ReceiveTenantWebhook takes them for a tenant's own Meta app.
func (s handlers) ReceiveTenantWebhook(c echo.Context, tenant uuid.UUID, _ apigen.ReceiveTenantWebhookParams) error {
	return s.receiveWebhook(c, tenant)
}

// receiveWebhook stores what Meta sent before saying OK: the raw bytes are
// published to each owning tenant's subject and the 200 goes out only after
// JetStream acknowledged every part. Anything short of that is a 5xx, and
// Meta delivers again. A tenant's own app (tenant not Nil) signs with its
// app secret and may only speak for that tenant's numbers.
func (s *Server) receiveWebhook(c echo.Context, tenant uuid.UUID) error {
	req := c.Request()
	body, err := readBody(c.Response(), req, MaxWebhookBytes)
	if err != nil {
		s.metrics.webhooks.WithLabelValues("rejected").Inc()
		return err
	}
	secrets, only := []string{s.cfg.AppSecret}, ""
	if tenant != uuid.Nil {
		ts, err := s.tenantWebhookSecrets(req.Context(), tenant)
		if err != nil {
			return err
		}
		secrets, only = ts.appSecrets, tenant.String()
	}
	if !validSignature(req.Header.Get("X-Hub-Signature-256"), body, secrets) {
		s.metrics.webhooks.WithLabelValues("rejected").Inc()
		return domain.Errorf(domain.ErrUnauthorized, "X-Hub-Signature-256 is missing or does not match the body")
	}
	events, err := s.webhookEvents(req.Context(), body, only)
	if err != nil {
		s.metrics.webhooks.WithLabelValues("unavailable").Inc()
		return err
	}
	received := s.now()
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	ctx, cancel := context.WithTimeout(req.Context(), s.cfg.PublishTimeout)
	defer cancel()
	for _, e := range events {
		e.Type = streams.TypeWebhookMeta
		e.OccurredAt = received
		e.RequestID = rid
		e.Actor = "meta"
		start := time.Now()
		if _, err := s.pub.Publish(ctx, e); err != nil {
			s.metrics.webhooks.WithLabelValues("unavailable").Inc()
			s.log.Error("webhook not stored; asking Meta to retry", "err", err, "request_id", rid)
			c.Response().Header().Set("Retry-After", "5")
			return domain.Errorf(domain.ErrUnavailable, "event store unavailable, retry later")
		}
		s.metrics.publish.Observe(time.Since(start).Seconds())
	}
	s.metrics.webhooks.WithLabelValues(webhookOutcome(events)).Inc()
	if s.cfg.Load != nil {
		s.cfg.Load.hit()
	}
	return c.String(http.StatusOK, "EVENT_RECEIVED")
}

// webhookOutcome names what became of a stored webhook, for the metrics.
func webhookOutcome(events []streams.Event) string {
	for _, e := range events {
		switch {
		case e.Header.Get(streams.HeaderUndecodable) != "":
			return "undecodable"
		case e.Tenant == streams.Unrouted:
			return "unrouted"
		}
	}
	return "stored"
}

// validSignature reports whether header signs body with one of secrets.
func validSignature(header string, body []byte, secrets []string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if hmac.Equal(got, mac.Sum(nil)) {
			return true
		}
	}
	return false
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

// webhookEvents routes a signed body to its tenants: by each change's
// metadata.phone_number_id, or by the entry's WABA id for changes that name no
// number (template status updates). Bodies that are not JSON, or name nobody
// we know, go to the unrouted subject: kept, replayable, never dropped.
//
// only, when set, is the one tenant the body may be routed to (it came
// signed by that tenant's own Meta app): parts for other owners' numbers go
// to the unrouted subject instead.
func (s *Server) webhookEvents(ctx context.Context, body []byte, only string) ([]streams.Event, error) {
	routes, err := domain.WebhookRoutes(body)
	if err != nil {
		e := streams.Event{Tenant: streams.Unrouted, Data: body}
		if !json.Valid(body) {
			e.Header = nats.Header{streams.HeaderUndecodable: []string{"true"}}
		}
		return []streams.Event{e}, nil
	}
	// Every id the body names is looked up at once: a body may name tens of
	// thousands, and one query per id would let one webhook hold up the rest.
	var pnids, wabas []string
	for _, en := range routes {
		if len(en.PhoneNumberIDs) == 0 || slices.Contains(en.PhoneNumberIDs, "") {
			wabas = append(wabas, en.WABAID)
		}
		pnids = append(pnids, en.PhoneNumberIDs...)
	}
	found, err := s.router.Resolve(ctx, pnids, wabas)
	if err != nil {
		s.log.Error("webhook routing lookup failed", "err", err)
		return nil, domain.Errorf(domain.ErrUnavailable, "routing unavailable, retry later")
	}
	// owners[i][j] is the tenant of change j of entry i; entryOwner[i] the
	// tenant of an entry without changes.
	owners := make([][]string, len(routes))
	entryOwner := make([]string, len(routes))
	tenants := make(map[string]bool, 1)
	for i, en := range routes {
		if len(en.PhoneNumberIDs) == 0 {
			entryOwner[i] = owner(found, "", en.WABAID, only)
			tenants[entryOwner[i]] = true
		}
		owners[i] = make([]string, len(en.PhoneNumberIDs))
		for j, pnid := range en.PhoneNumberIDs {
			owners[i][j] = owner(found, pnid, en.WABAID, only)
			tenants[owners[i][j]] = true
		}
	}
	switch len(tenants) {
	case 0: // no entries at all: nothing to route by
		return []streams.Event{{Tenant: streams.Unrouted, Data: body}}, nil
	case 1:
		for t := range tenants {
			return []streams.Event{{Tenant: t, Data: body}}, nil
		}
	}
	return splitByTenant(body, owners, entryOwner)
}

// owner is the tenant owning phone number pnid, or when pnid is empty the
// WABA waba; streams.Unrouted when nobody does, or when only is set and
// names another tenant.
func owner(found Owners, pnid, waba, only string) string {
	t := found.PhoneNumber(pnid)
	if pnid == "" {
		t = found.WABA(waba)
	}
	if t == "" || (only != "" && t != only) {
		return streams.Unrouted
	}
	return t
}

// splitByTenant cuts a body that mixes several tenants' numbers into one
// body per tenant. Entries and changes are copied byte-exact; only the
// envelope around them is new.
func splitByTenant(body []byte, owners [][]string, entryOwner []string) ([]streams.Event, error) {
	var env struct {
		Object json.RawMessage   `json:"object"`
		Entry  []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Entry) != len(owners) {
		return nil, fmt.Errorf("split webhook: %v", err)
	}
	parts := map[string][][]byte{} // tenant → entries
	var order []string
	add := func(t string, entry []byte) {
		if _, ok := parts[t]; !ok {
			order = append(order, t)
		}
		parts[t] = append(parts[t], entry)
	}
	for i, raw := range env.Entry {
		if len(owners[i]) == 0 {
			add(entryOwner[i], raw)
			continue
		}
		if allSame(owners[i]) {
			add(owners[i][0], raw)
			continue
		}
		var en struct {
			ID      json.RawMessage   `json:"id"`
			Time    json.RawMessage   `json:"time"`
			Changes []json.RawMessage `json:"changes"`
		}
		if err := json.Unmarshal(raw, &en); err != nil || len(en.Changes) != len(owners[i]) {
			return nil, fmt.Errorf("split webhook entry %d: %v", i, err)
		}
		byTenant := map[string][]json.RawMessage{}
		var tOrder []string
		for j, ch := range en.Changes {
			t := owners[i][j]
			if _, ok := byTenant[t]; !ok {
				tOrder = append(tOrder, t)
			}
			byTenant[t] = append(byTenant[t], ch)
		}
		for _, t := range tOrder {
			// Built by hand: json.Marshal would HTML-escape the raw changes.
			var b bytes.Buffer
			b.WriteString(`{"id":`)
			if len(en.ID) == 0 {
				en.ID = json.RawMessage(`null`)
			}
			b.Write(en.ID)
			if len(en.Time) > 0 {
				b.WriteString(`,"time":`)
				b.Write(en.Time)
			}
			b.WriteString(`,"changes":[`)
			b.Write(joinRaw(byTenant[t]))
			b.WriteString(`]}`)
			add(t, b.Bytes())
		}
	}
	object := env.Object
	if len(object) == 0 {
		object = json.RawMessage(`"whatsapp_business_account"`)
	}
	events := make([]streams.Event, 0, len(order))
	for _, t := range order {
		var b bytes.Buffer
		b.WriteString(`{"object":`)
		b.Write(object)
		b.WriteString(`,"entry":[`)
		b.Write(bytes.Join(parts[t], []byte{','}))
		b.WriteString(`]}`)
		events = append(events, streams.Event{Tenant: t, Data: b.Bytes()})
	}
	return events, nil
}

func joinRaw(rs []json.RawMessage) []byte {
	bs := make([][]byte, len(rs))
	for i, r := range rs {
		bs[i] = r
	}
	return bytes.Join(bs, []byte{','})
}

func allSame(ss []string) bool {
	for _, s := range ss[1:] {
		if s != ss[0] {
			return false
		}
	}
	return true
}
