package streams

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
)

// ConversationEvent is the stream event of ev, a conversation event of type
// typ (domain.EventAssigned, …) in tenant: published on
// wam.<tenant>.conversation.<…>, occurred at ev.At, with ev as its JSON
// body. The API and the snooze waker both publish through it, so every
// conversation event has the same shape; the caller adds Actor, RequestID
// and MsgID.
func ConversationEvent(tenant uuid.UUID, typ string, ev domain.ConversationEvent) (Event, error) {
	if !strings.HasPrefix(typ, "conversation.") {
		return Event{}, fmt.Errorf("conversation event: type %q is not conversation.<…>", typ)
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return Event{}, fmt.Errorf("conversation event %s: %w", typ, err)
	}
	return Event{Tenant: tenant.String(), Type: typ, OccurredAt: ev.At, Data: data}, nil
}
