package messaging

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
	"github.com/wam-project/wam/sql/rls"
	"github.com/wam-project/wam/streams"
)

// MarkRead publishes a request that the sender mark inbound message id read
// at Meta (the customer sees blue ticks), with the typing indicator when
// typing is set. It returns the message's conversation and the request's
// stream sequence. Agents may only do so in their conversations, as for
// sending.
func (s *Service) MarkRead(ctx context.Context, c Caller, id uuid.UUID, typing bool) (uuid.UUID, uint64, error) {
	var ev domain.ReadRequested
	err := rls.InTenant(ctx, s.pool, c.Tenant, func(q *db.Queries) error {
		ref, err := q.MessageRef(ctx, db.MessageRefParams{TenantID: c.Tenant, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.Errorf(domain.ErrNotFound, "message not found")
		}
		if err != nil {
			return err
		}
		if ref.Direction != "inbound" || ref.Wamid == "" {
			return domain.Errorf(domain.ErrInvalid, "id: only a message the customer sent can be marked read")
		}
		t, err := q.SendTarget(ctx, db.SendTargetParams{TenantID: c.Tenant, ID: ref.ConversationID})
		if err != nil {
			return err
		}
		if c.Role == roleAgent && t.AssigneeID != nil && (c.UserID == nil || *t.AssigneeID != *c.UserID) {
			return domain.Errorf(domain.ErrForbidden, "the conversation is assigned to someone else")
		}
		ev = domain.ReadRequested{MessageID: id, ConversationID: ref.ConversationID, PhoneNumberID: t.PhoneNumberID,
			WAMID: ref.Wamid, Typing: typing, At: s.now().UTC()}
		return nil
	})
	if err != nil {
		return uuid.Nil, 0, dberr.Translate(err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return uuid.Nil, 0, err
	}
	seq, err := s.pub.Publish(ctx, streams.Event{Tenant: c.Tenant.String(), Type: domain.EventReadRequested, OccurredAt: ev.At,
		RequestID: c.RequestID, Actor: c.Actor, MsgID: uuid.NewString(), Data: body})
	if err != nil {
		return uuid.Nil, 0, &domain.Error{Code: domain.ErrUnavailable, Message: "the event store is unavailable; retry later", Cause: err}
	}
	return ev.ConversationID, seq, nil
}
