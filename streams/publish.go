package streams

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Envelope headers carried by every event. Names starting with "Nats-" are
// reserved by NATS, so ours start with "Wam-".
const (
	HeaderType       = "Wam-Type"        // event type, e.g. webhook.meta
	HeaderSchema     = "Wam-Schema"      // schema version of the body
	HeaderTenant     = "Wam-Tenant"      // tenant id, or _unrouted
	HeaderOccurredAt = "Wam-Occurred-At" // RFC 3339 with nanoseconds, UTC
	HeaderRequestID  = "Wam-Request-Id"
	HeaderActor      = "Wam-Actor" // meta, user:<id>, api_key:<id>, system
	// HeaderUndecodable marks a webhook whose body is not valid JSON. It is
	// kept all the same: we never drop what Meta sent.
	HeaderUndecodable = "Wam-Undecodable"

	// Headers of unrouted webhooks that say what adopting them needs (see
	// ingest.Adopter), and of the copies adoption makes.

	// HeaderRouting is RoutingDeferred on a webhook whose owners could not
	// be looked up in time (PostgreSQL slow or away).
	HeaderRouting = "Wam-Routing"
	// HeaderRoutingTenant names the tenant whose own Meta app endpoint
	// received the webhook: nobody else may adopt it.
	HeaderRoutingTenant = "Wam-Routing-Tenant"
	// HeaderSignature keeps X-Hub-Signature-256 as received when the
	// tenant's app secret could not be read to check it: adoption checks it.
	HeaderSignature = "Wam-Signature"
	// HeaderAdoptedFrom is, on a webhook moved into a tenant's history by
	// adoption, the stream sequence of the unrouted original.
	HeaderAdoptedFrom = "Wam-Adopted-From"
)

// RoutingDeferred is the value of HeaderRouting on a webhook routed later.
const RoutingDeferred = "deferred"

// Event is one immutable fact to append to the stream.
type Event struct {
	Tenant     string
	Type       string // "webhook.meta", "conversation.assigned", …
	Schema     int    // 0: 1
	OccurredAt time.Time
	RequestID  string
	Actor      string
	// MsgID deduplicates publishes within the stream's duplicate window;
	// empty: derived from tenant, type and data.
	MsgID  string
	Data   []byte
	Header nats.Header // extra headers, may be nil
}

// Subject is where e is published.
func (e Event) Subject() string { return Subject(e.Tenant, e.Type) }

// Publisher appends events to the WAM stream and waits for JetStream's ack,
// so that a caller told "OK" knows the event is stored.
type Publisher struct {
	js   []jetstream.JetStream
	next atomic.Uint32
}

// NewPublisher returns a Publisher spreading its publishes over the given
// connections. The server reads each connection in one goroutine, so several
// let concurrent requests be parsed and stored in parallel.
func NewPublisher(js ...jetstream.JetStream) *Publisher { return &Publisher{js: js} }

// Publish stores e and returns its stream sequence. A duplicate within the
// window returns the sequence of the copy already stored.
func (p *Publisher) Publish(ctx context.Context, e Event) (uint64, error) {
	if !ValidTenantToken(e.Tenant) {
		return 0, fmt.Errorf("publish: tenant %q cannot stand in a subject", e.Tenant)
	}
	msg := e.message()
	js := p.js[int(p.next.Add(1))%len(p.js)]
	ack, err := js.PublishMsg(ctx, msg, jetstream.WithExpectStream(StreamName))
	if err != nil {
		return 0, fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	return ack.Sequence, nil
}

func (e Event) message() *nats.Msg {
	h := make(nats.Header, 8+len(e.Header))
	for k, v := range e.Header {
		h[k] = v
	}
	schema := e.Schema
	if schema == 0 {
		schema = 1
	}
	at := e.OccurredAt
	if at.IsZero() {
		at = time.Now()
	}
	id := e.MsgID
	if id == "" {
		sum := sha256.New()
		sum.Write([]byte(e.Tenant + "\x00" + e.Type + "\x00"))
		sum.Write(e.Data)
		id = hex.EncodeToString(sum.Sum(nil))
	}
	h.Set(HeaderType, e.Type)
	h.Set(HeaderSchema, strconv.Itoa(schema))
	h.Set(HeaderTenant, e.Tenant)
	h.Set(HeaderOccurredAt, at.UTC().Format(time.RFC3339Nano))
	if e.RequestID != "" {
		h.Set(HeaderRequestID, e.RequestID)
	}
	if e.Actor != "" {
		h.Set(HeaderActor, e.Actor)
	}
	h.Set(jetstream.MsgIDHeader, id)
	return &nats.Msg{Subject: e.Subject(), Header: h, Data: e.Data}
}

// Unavailable reports whether err says NATS or JetStream could not answer
// (in time) rather than refused: a deadline, a connection that is closed or
// reconnecting, no server listening, JetStream switched off. Such a call may
// work later.
func Unavailable(err error) bool {
	for _, target := range []error{
		context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders, nats.ErrConnectionClosed,
		nats.ErrConnectionDraining, nats.ErrConnectionReconnecting, nats.ErrDisconnected,
		jetstream.ErrNoStreamResponse, jetstream.ErrJetStreamNotEnabled, jetstream.ErrJetStreamNotEnabledForAccount,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
