// Package messaging holds the rules of sending that the API, the CLI, the
// demo and (later) campaigns share: validate, authorize, check the 24-hour
// window and idempotency, publish. Delivering to Meta is the sender's
// (sender/); this package only records what is asked, as events.
package messaging

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
	"github.com/wam-project/wam/streams"
)

// Publisher appends events to the stream.
type Publisher interface {
	Publish(ctx context.Context, e streams.Event) (uint64, error)
}

// Caller is who asks: a user of the tenant with a role, or an API key
// (which acts as an admin).
type Caller struct {
	Tenant    uuid.UUID
	UserID    *uuid.UUID // nil: an API key
	Role      string     // owner, admin, agent
	Actor     string     // for the event envelope: user:<id>, api_key:<id>
	RequestID string
}

// Roles that may send anywhere in their tenant; agents may send in
// conversations assigned to them or to nobody.
const roleAgent = "agent"

// Checks are rules of other areas a send must pass: the template it
// names exists and is approved with matching parameters, the media it
// names is the tenant's. Nil checks pass.
type Checks struct {
	// Template checks t against what the send's number's WABA has under
	// its name and language, as read with the rest of the send's context.
	Template func(found NamedTemplate, t *domain.OutTemplate) error
	Media    func(ctx context.Context, q *db.Queries, tenant uuid.UUID, mediaID string, t domain.MessageType) error
}

// NamedTemplate is what the read model holds of the template a send
// names, for the sending number's WABA.
type NamedTemplate struct {
	WABA       string // '' when the number was connected without one
	Found      bool
	Status     string
	Deleted    bool
	SyncedAt   *time.Time // nil: known only from status updates, never listed
	Components []byte
}

// Service records send requests.
type Service struct {
	pool   *pgxpool.Pool
	q      *db.Queries
	pub    Publisher
	now    func() time.Time
	checks Checks
}

// New returns a Service reading the tenant's read models from pool and
// publishing to pub.
func New(pool *pgxpool.Pool, pub Publisher, checks Checks, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{pool: pool, q: db.New(pool), pub: pub, now: now, checks: checks}
}

// SendRequest is a message to send: to a recipient (To, an E.164 number or
// a wa_id, from PhoneNumberID or the tenant's one number) or in a
// conversation.
type SendRequest struct {
	To             string
	ConversationID *uuid.UUID
	PhoneNumberID  string
	Message        domain.Outbound
	// IdempotencyKey, when set, makes a repeat of the request answer the
	// message of the first; the same key with another request is refused.
	IdempotencyKey string
}

// MaxIdempotencyKey is the longest Idempotency-Key taken.
const MaxIdempotencyKey = 255

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 48 * time.Hour

// Send validates r, checks that c may send it and that the conversation's
// 24-hour window allows it, and publishes the send request. It returns the
// message as queued, or, for a repeat of an idempotent request, the message
// of the first as it stands now.
//
// Errors: ErrInvalid naming the field; ErrNotFound (no such conversation or
// number in the tenant); ErrForbidden (an agent outside their
// conversations); ErrWindowClosed (*WindowClosedError: a free-form message
// outside the window); ErrKeyReused (an Idempotency-Key reused for another
// request); ErrUnavailable (PostgreSQL or JetStream away).
func (s *Service) Send(ctx context.Context, c Caller, r SendRequest) (db.Message, error) {
	if err := r.Message.Validate(); err != nil {
		return db.Message{}, err
	}
	if err := checkIdempotencyKey(r.IdempotencyKey); err != nil {
		return db.Message{}, err
	}
	// No transaction: every query names the tenant, the decision is read
	// in one round trip, and the key's record is one atomic statement. A
	// send is the hottest write of the API, and each round trip to
	// PostgreSQL is most of its cost.
	hash := requestHash(r)
	if r.IdempotencyKey != "" {
		prev, err := s.q.GetIdempotency(ctx, db.GetIdempotencyParams{TenantID: c.Tenant, Key: r.IdempotencyKey})
		switch {
		case err == nil && s.now().Sub(prev.CreatedAt) < IdempotencyTTL:
			return s.repeat(ctx, c, prev, hash)
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return db.Message{}, dberr.Translate(err)
		}
	}
	ev, err := s.prepare(ctx, c, r)
	if err != nil {
		return db.Message{}, dberr.Translate(err)
	}
	if r.IdempotencyKey != "" {
		body, err := json.Marshal(ev)
		if err != nil {
			return db.Message{}, err
		}
		if _, err := s.q.PutIdempotency(ctx, db.PutIdempotencyParams{
			TenantID: c.Tenant, Key: r.IdempotencyKey, RequestHash: hash, MessageID: ev.MessageID, Event: body,
			Before: s.now().Add(-IdempotencyTTL),
		}); errors.Is(err, pgx.ErrNoRows) {
			// A concurrent request with the same key won.
			return db.Message{}, domain.Errorf(domain.ErrConflict, "Idempotency-Key: a request with this key is being handled; retry")
		} else if err != nil {
			return db.Message{}, dberr.Translate(err)
		}
	}
	if err := s.publish(ctx, c, ev); err != nil {
		return db.Message{}, err
	}
	if r.IdempotencyKey != "" {
		// Best effort: a repeat finds it published in the read model anyway.
		_ = s.q.MarkIdempotencyPublished(ctx, db.MarkIdempotencyPublishedParams{TenantID: c.Tenant, Key: r.IdempotencyKey})
	}
	return queued(c.Tenant, ev), nil
}

// repeat answers a request whose Idempotency-Key was used within the TTL:
// the same request gets the original message, another is refused.
func (s *Service) repeat(ctx context.Context, c Caller, prev db.GetIdempotencyRow, hash []byte) (db.Message, error) {
	if !bytes.Equal(prev.RequestHash, hash) {
		return db.Message{}, domain.Errorf(domain.ErrKeyReused, "Idempotency-Key: used already for another request")
	}
	m, err := s.q.GetMessage(ctx, db.GetMessageParams{TenantID: c.Tenant, ID: prev.MessageID})
	switch {
	case err == nil:
		return m, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return db.Message{}, dberr.Translate(err)
	}
	// The first request's message is not in the read model (yet): it may
	// not have been stored. Publishing it again is safe: the same message
	// id, and the sender sends a message id once.
	var ev domain.SendRequested
	if err := json.Unmarshal(prev.Event, &ev); err != nil {
		return db.Message{}, fmt.Errorf("idempotency: stored request: %w", err)
	}
	if err := s.publish(ctx, c, ev); err != nil {
		return db.Message{}, err
	}
	return queued(c.Tenant, ev), nil
}

// prepare resolves the request into its send_requested event, enforcing
// who may send where and the 24-hour window.
func (s *Service) prepare(ctx context.Context, c Caller, r SendRequest) (domain.SendRequested, error) {
	ev := domain.SendRequested{Message: r.Message, ActorUserID: c.UserID, At: s.now().UTC()}
	p := db.SendContextParams{TenantID: c.Tenant, ConversationID: r.ConversationID, PhoneNumberID: r.PhoneNumberID}
	switch {
	case r.ConversationID != nil && r.To != "":
		return ev, domain.Errorf(domain.ErrInvalid, "to: give to or conversation_id, not both")
	case r.ConversationID != nil:
	case r.To != "":
		phone, err := domain.NormalizePhone(r.To)
		if err != nil {
			return ev, domain.Errorf(domain.ErrInvalid, "to: not a phone number (E.164, such as +16505551234) or a wa_id")
		}
		p.Phone, p.ToWaID = phone, strings.TrimPrefix(phone, "+")
	default:
		return ev, domain.Errorf(domain.ErrInvalid, "to: required (or conversation_id)")
	}
	if t := r.Message.Template; t != nil {
		p.TemplateName, p.TemplateLanguage = t.Name, t.Language.Code
	}
	sc, err := s.q.SendContext(ctx, p)
	if err != nil {
		return ev, err
	}
	found := sc.ConversationID != nil
	switch {
	case r.ConversationID != nil && !found:
		return ev, domain.Errorf(domain.ErrNotFound, "conversation not found")
	case r.ConversationID != nil:
		if r.PhoneNumberID != "" && r.PhoneNumberID != sc.NumberID {
			return ev, domain.Errorf(domain.ErrInvalid, "phone_number_id: the conversation is with number %s", sc.NumberID)
		}
		ev.PhoneNumberID, ev.ToPhone = sc.NumberID, deref(sc.ConversationPhone)
		ev.To = firstNonEmpty(deref(sc.ConversationWaID), strings.TrimPrefix(ev.ToPhone, "+"))
	case sc.NumberID == "" && r.PhoneNumberID != "":
		return ev, domain.Errorf(domain.ErrInvalid, "phone_number_id: not a number of this tenant")
	case sc.NumberID == "" && sc.NumberCount == 0:
		return ev, domain.Errorf(domain.ErrInvalid, "phone_number_id: the tenant has no number connected")
	case sc.NumberID == "":
		return ev, domain.Errorf(domain.ErrInvalid, "phone_number_id: required, the tenant has %d numbers", sc.NumberCount)
	default:
		ev.PhoneNumberID, ev.ToPhone = sc.NumberID, p.Phone
		ev.To = firstNonEmpty(sc.KnownWaID, p.ToWaID)
	}
	ev.ConversationID = domain.ConversationID(c.Tenant.String(), ev.To, ev.PhoneNumberID)
	if found && *sc.ConversationID != ev.ConversationID {
		ev.ConversationID = *sc.ConversationID
	}
	if c.Role == roleAgent && found && sc.AssigneeID != nil && (c.UserID == nil || *sc.AssigneeID != *c.UserID) {
		return ev, domain.Errorf(domain.ErrForbidden, "the conversation is assigned to someone else")
	}
	if r.Message.Type != domain.TypeTemplate && !domain.WindowOpen(sc.WindowExpiresAt, s.now()) {
		return ev, &WindowClosedError{ExpiresAt: sc.WindowExpiresAt}
	}
	if err := s.references(ctx, c.Tenant, ev.ConversationID, &ev.Message); err != nil {
		return ev, err
	}
	if t := ev.Message.Template; t != nil && s.checks.Template != nil {
		found := NamedTemplate{WABA: sc.WabaID, Found: sc.TemplateStatus != nil, Status: deref(sc.TemplateStatus),
			Deleted: sc.TemplateDeleted != nil && *sc.TemplateDeleted, SyncedAt: sc.TemplateSyncedAt, Components: sc.TemplateComponents}
		if err := s.checks.Template(found, t); err != nil {
			return ev, err
		}
	}
	if md := ev.Message.Media(); md != nil && md.ID != "" && s.checks.Media != nil {
		if err := s.checks.Media(ctx, s.q, c.Tenant, md.ID, ev.Message.Type); err != nil {
			return ev, err
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return ev, err
	}
	ev.MessageID = id
	return ev, nil
}

// references turns wam message ids named by a reply's context or a
// reaction into the wamids Meta knows them by.
func (s *Service) references(ctx context.Context, tenant, conv uuid.UUID, m *domain.Outbound) error {
	resolve := func(field string, ref *string) error {
		id, err := uuid.Parse(*ref)
		if err != nil {
			return nil // a wamid
		}
		row, err := s.q.MessageRef(ctx, db.MessageRefParams{TenantID: tenant, ID: id})
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return domain.Errorf(domain.ErrInvalid, "%s: no such message", field)
		case err != nil:
			return err
		case row.ConversationID != conv:
			return domain.Errorf(domain.ErrInvalid, "%s: a message of another conversation", field)
		case row.Wamid == "":
			return domain.Errorf(domain.ErrConflict, "%s: Meta has not accepted that message yet", field)
		}
		*ref = row.Wamid
		return nil
	}
	if m.Context != nil {
		if err := resolve("context.message_id", &m.Context.MessageID); err != nil {
			return err
		}
	}
	if m.Reaction != nil {
		return resolve("reaction.message_id", &m.Reaction.MessageID)
	}
	return nil
}

// publish stores the send request; the message id is its Nats-Msg-Id, so
// a repeat within the duplicate window is stored once.
func (s *Service) publish(ctx context.Context, c Caller, ev domain.SendRequested) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	e := streams.Event{Tenant: c.Tenant.String(), Type: domain.EventSendRequested, OccurredAt: ev.At,
		RequestID: c.RequestID, Actor: c.Actor, MsgID: ev.MessageID.String(), Data: body}
	if _, err := s.pub.Publish(ctx, e); err != nil {
		return &domain.Error{Code: domain.ErrUnavailable, Message: "the event store is unavailable; retry later (with the same Idempotency-Key)", Cause: err}
	}
	return nil
}

// queued is the message of ev as the read model will hold it once
// projected.
func queued(tenant uuid.UUID, ev domain.SendRequested) db.Message {
	content, _ := json.Marshal(ev.Message)
	statuses, _ := json.Marshal(map[string]string{string(domain.StatusQueued): ev.At.Format(time.RFC3339)})
	m := db.Message{
		ID: ev.MessageID, TenantID: tenant, ConversationID: ev.ConversationID, Direction: "outbound",
		Type: string(ev.Message.Type), Content: content, Preview: ev.Message.Preview(), Status: string(domain.StatusQueued),
		StatusRank: int16(domain.StatusRank(domain.StatusQueued)), Statuses: statuses, Timestamp: ev.At,
		CreatedAt: ev.At, UpdatedAt: ev.At, SentBy: ev.ActorUserID,
	}
	if ev.Message.Context != nil {
		m.ReplyTo = ev.Message.Context.MessageID
	}
	return m
}

// requestHash identifies a request for its Idempotency-Key: the same
// recipient and message hash alike, whatever the JSON's spacing or order.
func requestHash(r SendRequest) []byte {
	canon, _ := json.Marshal(struct {
		To             string          `json:"to"`
		ConversationID *uuid.UUID      `json:"conversation_id"`
		PhoneNumberID  string          `json:"phone_number_id"`
		Message        domain.Outbound `json:"message"`
	}{r.To, r.ConversationID, r.PhoneNumberID, r.Message})
	sum := sha256.Sum256(canon)
	return sum[:]
}

func checkIdempotencyKey(k string) error {
	if len(k) > MaxIdempotencyKey {
		return domain.Errorf(domain.ErrInvalid, "Idempotency-Key: at most %d characters", MaxIdempotencyKey)
	}
	for _, c := range k {
		if c < 0x21 || c > 0x7e {
			return domain.Errorf(domain.ErrInvalid, "Idempotency-Key: printable ASCII without spaces")
		}
	}
	return nil
}

// WindowClosedError refuses a free-form message outside the 24-hour
// customer-service window: only templates may be sent then.
type WindowClosedError struct {
	ExpiresAt *time.Time // when the window closed; nil: the customer never wrote
}

func (e *WindowClosedError) Error() string {
	if e.ExpiresAt == nil {
		return "window_closed: the customer has not written yet; send a template"
	}
	return "window_closed: the 24-hour customer-service window closed at " + e.ExpiresAt.UTC().Format(time.RFC3339) + "; send a template"
}

// Unwrap makes it a domain ErrWindowClosed.
func (e *WindowClosedError) Unwrap() error {
	return domain.Errorf(domain.ErrWindowClosed, "%s", strings.TrimPrefix(e.Error(), "window_closed: "))
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
