package domain

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Types of the events of sending, published as wam.<tenant>.message.<…>.
// The API publishes a send request; the sender records each attempt before
// it calls Meta and the outcome after; the inbox projector applies them all
// to the message's row.
const (
	EventSendRequested = "message.send_requested" // SendRequested
	EventAttempted     = "message.attempted"      // SendOutcome: Attempt
	EventAccepted      = "message.accepted"       // SendOutcome: WAMID, MessageStatus
	EventFailed        = "message.failed"         // SendOutcome: Error
	// EventReadRequested asks the sender to mark an inbound message read at
	// Meta, with the typing indicator when Typing is set.
	EventReadRequested = "message.read_requested" // ReadRequested
)

// SendRequested is the body of a send request: what to send, from which
// number, to whom, in which conversation.
type SendRequested struct {
	MessageID      uuid.UUID  `json:"message_id"`
	ConversationID uuid.UUID  `json:"conversation_id"`
	PhoneNumberID  string     `json:"phone_number_id"`
	To             string     `json:"to"`       // the recipient's wa_id
	ToPhone        string     `json:"to_phone"` // E.164, when To is a phone number
	ActorUserID    *uuid.UUID `json:"actor_user_id,omitempty"`
	Message        Outbound   `json:"message"`
	At             time.Time  `json:"at"`
}

// SendOutcome is the body of an attempt, an acceptance or a failure.
type SendOutcome struct {
	MessageID      uuid.UUID `json:"message_id"`
	ConversationID uuid.UUID `json:"conversation_id"`
	Attempt        int       `json:"attempt,omitempty"`
	WAMID          string    `json:"wamid,omitempty"`
	// MessageStatus is Meta's messages[].message_status: accepted,
	// held_for_quality_assessment or paused.
	MessageStatus string     `json:"message_status,omitempty"`
	WaID          string     `json:"wa_id,omitempty"` // the recipient as Meta names them
	Error         *SendError `json:"error,omitempty"`
	At            time.Time  `json:"at"`
}

// SendError is why Meta did not take a message, or why wam gave up.
type SendError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Details   string `json:"details,omitempty"`
	FBTraceID string `json:"fbtrace_id,omitempty"`
}

// ReadRequested is the body of a request to mark an inbound message read.
type ReadRequested struct {
	MessageID      uuid.UUID `json:"message_id"`
	ConversationID uuid.UUID `json:"conversation_id"`
	PhoneNumberID  string    `json:"phone_number_id"`
	WAMID          string    `json:"wamid"`
	Typing         bool      `json:"typing,omitempty"`
	At             time.Time `json:"at"`
}

// callbackPrefix marks the biz_opaque_callback_data wam puts on its sends,
// so that a status names the message even before its wamid is known.
const callbackPrefix = "wam:"

// CallbackData is the biz_opaque_callback_data of the send of message id.
func CallbackData(id uuid.UUID) string { return callbackPrefix + id.String() }

// CallbackMessage is the message a status's biz_opaque_callback_data names,
// when wam sent it.
func CallbackMessage(data string) (uuid.UUID, bool) {
	rest, ok := strings.CutPrefix(data, callbackPrefix)
	if !ok {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(rest)
	return id, err == nil
}

// WindowOpen reports whether the 24-hour customer-service window whose end
// is expires (nil: the customer never wrote) is open at now. Outside it
// only templates may be sent.
func WindowOpen(expires *time.Time, now time.Time) bool {
	return expires != nil && now.Before(*expires)
}
