package domain

import (
	"time"

	"github.com/google/uuid"
)

// Types of the events agents' actions on conversations become, published as
// wam.<tenant>.conversation.<…>.
const (
	EventAssigned      = "conversation.assigned"       // AssigneeID, nil: unassigned
	EventStatusChanged = "conversation.status_changed" // Status, SnoozedUntil
	EventTagsSet       = "conversation.tags_set"       // Tags, the whole set
	EventNoteAdded     = "conversation.note_added"     // NoteID, Body
	EventRead          = "conversation.read"           // unread back to 0
	// EventSnoozeExpired ends a snooze: published by the system when
	// SnoozedUntil (the snooze that ended) has passed. It reopens the
	// conversation only if that same snooze still holds, so a late or
	// repeated one changes nothing.
	EventSnoozeExpired = "conversation.snooze_expired" // SnoozedUntil
)

// Conversation statuses.
const (
	ConversationOpen    = "open"
	ConversationClosed  = "closed"
	ConversationSnoozed = "snoozed"
)

// ConversationEvent is the body of a conversation event.
type ConversationEvent struct {
	ConversationID uuid.UUID  `json:"conversation_id"`
	ActorUserID    *uuid.UUID `json:"actor_user_id,omitempty"` // nil: an API key acted
	AssigneeID     *uuid.UUID `json:"assignee_id,omitempty"`
	Status         string     `json:"status,omitempty"`
	SnoozedUntil   *time.Time `json:"snoozed_until,omitempty"`
	Tags           []string   `json:"tags,omitempty"`
	NoteID         *uuid.UUID `json:"note_id,omitempty"`
	Body           string     `json:"body,omitempty"`
	At             time.Time  `json:"at"`
}
