// Package ingest receives Meta's webhooks: it checks their signatures,
// routes them to the tenants that own the numbers they name and stores them
// in the stream before anyone says OK, and it adopts into their owners'
// histories the webhooks that could not be routed when they came. The HTTP
// handlers and the workers of `wam serve` call it; it is written once here.
//
// Storing never needs PostgreSQL: routing answers from its cache when the
// database is slow or away, and what it cannot answer is kept unrouted and
// adopted later. The only reason to refuse a signed webhook is that
// JetStream did not take it.
package ingest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/streams"
)

// Publisher appends events to the stream.
type Publisher interface {
	Publish(ctx context.Context, e streams.Event) (uint64, error)
}

// Receiver stores webhooks: Receive says OK only once JetStream holds every
// part of the delivery.
type Receiver struct {
	router    *Router
	secrets   *Secrets
	pub       Publisher
	appSecret string
	now       func() time.Time
	// Published, when set, is told how long each publish took.
	Published func(time.Duration)
}

// NewReceiver returns a Receiver checking signatures of wam's own Meta app
// with appSecret, and of tenants' own apps with secrets.
func NewReceiver(router *Router, secrets *Secrets, pub Publisher, appSecret string, now func() time.Time) *Receiver {
	if now == nil {
		now = time.Now
	}
	return &Receiver{router: router, secrets: secrets, pub: pub, appSecret: appSecret, now: now}
}

// Delivery is one POST of Meta's.
type Delivery struct {
	Body      []byte
	Signature string    // X-Hub-Signature-256
	Tenant    uuid.UUID // uuid.Nil: wam's own Meta app; else the tenant's own app
	RequestID string
}

// What became of a stored delivery, for metrics: the first of these that
// applies to one of its parts.
const (
	OutcomeStored      = "stored"
	OutcomeUnrouted    = "unrouted"    // nobody owns a number it names (yet)
	OutcomeDeferred    = "deferred"    // routing or the signature is checked later
	OutcomeUndecodable = "undecodable" // not JSON, kept unrouted
)

// Receive checks d's signature, routes it and publishes its parts with
// their envelope. ErrUnauthorized: the signature does not match;
// ErrUnavailable: JetStream did not take every part (Meta delivers again).
// ctx bounds the whole of it.
func (r *Receiver) Receive(ctx context.Context, d Delivery) (outcome string, err error) {
	secrets, only := []string{r.appSecret}, ""
	var events []streams.Event
	if d.Tenant != uuid.Nil {
		only = d.Tenant.String()
		ts, err := r.secrets.Get(ctx, d.Tenant)
		switch {
		case errors.Is(err, errSecretsUnavailable):
			// Nothing to check the signature with: kept unrouted with it,
			// and checked when it is adopted.
			e := unrouted(d.Body, only, true)
			e.Header.Set(streams.HeaderSignature, d.Signature)
			events = []streams.Event{e}
		case err != nil:
			return "", err
		default:
			secrets = ts.AppSecrets
		}
	}
	if events == nil {
		if !ValidSignature(d.Signature, d.Body, secrets) {
			return "", domain.Errorf(domain.ErrUnauthorized, "X-Hub-Signature-256 is missing or does not match the body")
		}
		if events, err = route(ctx, r.router, d.Body, only, false); err != nil {
			return "", err
		}
	}
	received := r.now()
	for _, e := range events {
		e.Type = streams.TypeWebhookMeta
		e.OccurredAt = received
		e.RequestID = d.RequestID
		e.Actor = "meta"
		if err := r.publish(ctx, e); err != nil {
			return "", err
		}
	}
	return outcomeOf(events), nil
}

// publish stores e, or fails with ErrUnavailable.
func (r *Receiver) publish(ctx context.Context, e streams.Event) error {
	start := time.Now()
	if _, err := r.pub.Publish(ctx, e); err != nil {
		return &domain.Error{Code: domain.ErrUnavailable, Message: "event store unavailable, retry later", Cause: err}
	}
	if r.Published != nil {
		r.Published(time.Since(start))
	}
	return nil
}

// VerifyTokens are the tokens a subscription check may present: wam's own
// for tenant Nil, else the tenant's own app's. ErrUnavailable when the
// tenant's cannot be read.
func (r *Receiver) VerifyTokens(ctx context.Context, tenant uuid.UUID, own string) ([]string, error) {
	if tenant == uuid.Nil {
		return []string{own}, nil
	}
	s, err := r.secrets.Get(ctx, tenant)
	if err != nil {
		return nil, domain.Errorf(domain.ErrUnavailable, "cannot read the tenant's verify tokens; retry later")
	}
	return s.VerifyTokens, nil
}

// Forget drops cached owners and secrets, for callers that just changed
// numbers.
func (r *Receiver) Forget() {
	r.router.Forget()
	r.secrets.Forget()
}

func outcomeOf(events []streams.Event) string {
	outcome := OutcomeStored
	for _, e := range events {
		switch {
		case e.Header.Get(streams.HeaderUndecodable) != "":
			return OutcomeUndecodable
		case e.Header.Get(streams.HeaderRouting) == streams.RoutingDeferred:
			outcome = OutcomeDeferred
		case e.Tenant == streams.Unrouted && outcome == OutcomeStored:
			outcome = OutcomeUnrouted
		}
	}
	return outcome
}

// ValidSignature reports whether header (X-Hub-Signature-256) signs body
// with one of secrets.
func ValidSignature(header string, body []byte, secrets []string) bool {
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
