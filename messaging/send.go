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
	"github.com/wam-project/wam/sql/rls"
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
	Template func(ctx context.Context, q *db.Queries, tenant uuid.UUID, phoneNumberID string, t *domain.OutTemplate) error
	Media    func(ctx context.Context, q *db.Queries, tenant uuid.UUID, mediaID string, t domain.MessageType) error
}

// Service records send requests.
type Service struct {
	pool   *pgxpool.Pool
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
	return &Service{pool: pool, pub: pub, now: now, checks: checks}
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
	hash := requestHash(r)
	var (
		ev      domain.SendRequested
		replay  *db.GetIdempotencyRow
		current *db.Message
	)
	err := rls.InTenant(ctx, s.pool, c.Tenant, func(q *db.Queries) error {
		if r.IdempotencyKey != "" {
			prev, err := q.GetIdempotency(ctx, db.GetIdempotencyParams{TenantID: c.Tenant, Key: r.IdempotencyKey})
			switch {
			case err == nil && s.now().Sub(prev.CreatedAt) < IdempotencyTTL:
				if !bytes.Equal(prev.RequestHash, hash) {
					return domain.Errorf(domain.ErrKeyReused, "Idempotency-Key: used already for another request")
				}
				replay = &prev
				if m, err := q.GetMessage(ctx, db.GetMessageParams{TenantID: c.Tenant, ID: prev.MessageID}); err == nil {
					current = &m
				} else if !errors.Is(err, pgx.ErrNoRows) {
					return err
				}
				return nil
			case err != nil && !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		var err error
		if ev, err = s.prepare(ctx, q, c, r); err != nil {
			return err
		}
		if r.IdempotencyKey == "" {
			return nil
		}
		body, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		// An expired key is forgotten first, in the same transaction.
		if _, err := q.DeleteIdempotencyBefore(ctx, db.DeleteIdempotencyBeforeParams{TenantID: c.Tenant, Key: r.IdempotencyKey, Before: s.now().Add(-IdempotencyTTL)}); err != nil {
			return err
		}
		if _, err := q.InsertIdempotency(ctx, db.InsertIdempotencyParams{
			TenantID: c.Tenant, Key: r.IdempotencyKey, RequestHash: hash, MessageID: ev.MessageID, Event: body,
		}); errors.Is(err, pgx.ErrNoRows) {
			// A concurrent request with the same key won.
			return domain.Errorf(domain.ErrConflict, "Idempotency-Key: a request with this key is being handled; retry")
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return db.Message{}, dberr.Translate(err)
	}
	if replay != nil {
		if current != nil {
			return *current, nil
		}
		// The first request's message is not in the read model (yet): it
		// may not have been stored. Publishing it again is safe: the same
		// message id, and the sender sends a message id once.
		if err := json.Unmarshal(replay.Event, &ev); err != nil {
			return db.Message{}, fmt.Errorf("idempotency: stored request: %w", err)
		}
	}
	if err := s.publish(ctx, c, ev); err != nil {
		return db.Message{}, err
	}
	if r.IdempotencyKey != "" {
		// Best effort: a repeat finds it published in the read model anyway.
		_ = rls.InTenant(ctx, s.pool, c.Tenant, func(q *db.Queries) error {
			return q.MarkIdempotencyPublished(ctx, db.MarkIdempotencyPublishedParams{TenantID: c.Tenant, Key: r.IdempotencyKey})
		})
	}
	return queued(c.Tenant, ev), nil
}

// prepare resolves the request into its send_requested event, enforcing
// who may send where and the 24-hour window.
func (s *Service) prepare(ctx context.Context, q *db.Queries, c Caller, r SendRequest) (domain.SendRequested, error) {
	ev := domain.SendRequested{Message: r.Message, ActorUserID: c.UserID, At: s.now().UTC()}
	var target db.SendTargetRow
	var found bool
	switch {
	case r.ConversationID != nil && r.To != "":
		return ev, domain.Errorf(domain.ErrInvalid, "to: give to or conversation_id, not both")
	case r.ConversationID != nil:
		t, err := q.SendTarget(ctx, db.SendTargetParams{TenantID: c.Tenant, ID: *r.ConversationID})
		if errors.Is(err, pgx.ErrNoRows) {
			return ev, domain.Errorf(domain.ErrNotFound, "conversation not found")
		}
		if err != nil {
			return ev, err
		}
		if r.PhoneNumberID != "" && r.PhoneNumberID != t.PhoneNumberID {
			return ev, domain.Errorf(domain.ErrInvalid, "phone_number_id: the conversation is with number %s", t.PhoneNumberID)
		}
		target, found = t, true
		ev.PhoneNumberID, ev.To, ev.ToPhone = t.PhoneNumberID, firstNonEmpty(t.WaID, strings.TrimPrefix(t.Phone, "+")), t.Phone
	case r.To != "":
		phone, err := domain.NormalizePhone(r.To)
		if err != nil {
			return ev, domain.Errorf(domain.ErrInvalid, "to: not a phone number (E.164, such as +16505551234) or a wa_id")
		}
		pnid, err := s.number(ctx, q, c.Tenant, r.PhoneNumberID)
		if err != nil {
			return ev, err
		}
		waID, err := q.ContactWaIDByPhone(ctx, db.ContactWaIDByPhoneParams{TenantID: c.Tenant, Phone: phone})
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			waID = strings.TrimPrefix(phone, "+")
		case err != nil:
			return ev, err
		}
		ev.PhoneNumberID, ev.To, ev.ToPhone = pnid, waID, phone
		t, err := q.SendTarget(ctx, db.SendTargetParams{TenantID: c.Tenant, ID: domain.ConversationID(c.Tenant.String(), waID, pnid)})
		switch {
		case err == nil:
			target, found = t, true
		case !errors.Is(err, pgx.ErrNoRows):
			return ev, err
		}
	default:
		return ev, domain.Errorf(domain.ErrInvalid, "to: required (or conversation_id)")
	}
	ev.ConversationID = domain.ConversationID(c.Tenant.String(), ev.To, ev.PhoneNumberID)
	if found && target.ID != ev.ConversationID {
		ev.ConversationID = target.ID
	}
	if c.Role == roleAgent && found && target.AssigneeID != nil && (c.UserID == nil || *target.AssigneeID != *c.UserID) {
		return ev, domain.Errorf(domain.ErrForbidden, "the conversation is assigned to someone else")
	}
	var expires *time.Time
	if found {
		expires = target.WindowExpiresAt
	}
	if r.Message.Type != domain.TypeTemplate && !domain.WindowOpen(expires, s.now()) {
		return ev, &WindowClosedError{ExpiresAt: expires}
	}
	if err := s.references(ctx, q, c.Tenant, ev.ConversationID, &ev.Message); err != nil {
		return ev, err
	}
	if t := ev.Message.Template; t != nil && s.checks.Template != nil {
		if err := s.checks.Template(ctx, q, c.Tenant, ev.PhoneNumberID, t); err != nil {
			return ev, err
		}
	}
	if md := ev.Message.Media(); md != nil && md.ID != "" && s.checks.Media != nil {
		if err := s.checks.Media(ctx, q, c.Tenant, md.ID, ev.Message.Type); err != nil {
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

// number is the phone number to send from: pnid, which must be the
// tenant's, or the tenant's only number.
func (s *Service) number(ctx context.Context, q *db.Queries, tenant uuid.UUID, pnid string) (string, error) {
	nums, err := q.TenantPhoneNumberIDs(ctx, tenant)
	if err != nil {
		return "", err
	}
	switch {
	case pnid != "":
		for _, n := range nums {
			if n == pnid {
				return pnid, nil
			}
		}
		return "", domain.Errorf(domain.ErrInvalid, "phone_number_id: not a number of this tenant")
	case len(nums) == 1:
		return nums[0], nil
	case len(nums) == 0:
		return "", domain.Errorf(domain.ErrInvalid, "phone_number_id: the tenant has no number connected")
	}
	return "", domain.Errorf(domain.ErrInvalid, "phone_number_id: required, the tenant has %d numbers", len(nums))
}

// references turns wam message ids named by a reply's context or a
// reaction into the wamids Meta knows them by.
func (s *Service) references(ctx context.Context, q *db.Queries, tenant, conv uuid.UUID, m *domain.Outbound) error {
	resolve := func(field string, ref *string) error {
		id, err := uuid.Parse(*ref)
		if err != nil {
			return nil // a wamid
		}
		row, err := q.MessageRef(ctx, db.MessageRefParams{TenantID: tenant, ID: id})
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

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
