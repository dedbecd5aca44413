package domain

import (
	"encoding/json"
	"time"
)

// Webhook is one decoded POST from Meta: the changes of every entry, flattened
// in the order Meta sent them. Decoding never drops what it does not
// understand: unknown fields stay in the raw JSON kept on each part.
type Webhook struct {
	Object  string // "whatsapp_business_account" for every WhatsApp webhook
	Changes []Change
	// Problems lists what could not be decoded inside an otherwise valid
	// body, one line each, led by the JSON path of the part
	// (`entry[0].changes[1].value.messages[2].timestamp: "x" is not Unix
	// seconds`). Whatever else decoded is still in Changes; a non-empty list
	// means the decode was partial.
	Problems []string
}

// Partial reports whether some part of the body could not be decoded, so that
// callers can log decode_result "partial" and keep the raw body for a replay
// with a fixed decoder.
func (w Webhook) Partial() bool { return len(w.Problems) > 0 }

// Change is one entry[].changes[] element with the entry's WABA id attached.
// Messages, Statuses, Contacts, Errors and the metadata are filled only for
// the "messages" field, TemplateStatus only for
// "message_template_status_update"; every other field keeps Field and Value
// alone.
type Change struct {
	WABAID             string    // entry[].id
	EntryTime          time.Time // entry[].time, zero when absent: the only clock of template and account updates
	Field              string    // "messages", "message_template_status_update", …
	PhoneNumberID      string    // value.metadata.phone_number_id, empty for WABA-level changes
	DisplayPhoneNumber string    // value.metadata.display_phone_number, as Meta sent it
	Contacts           []Contact
	Messages           []InboundMessage
	Statuses           []Status
	Errors             []MetaError // value.errors (webhook-level errors)
	TemplateStatus     *TemplateStatusUpdate
	Value              json.RawMessage // the whole value object, byte-exact
}

// Contact is an element of value.contacts: who wrote to the business.
type Contact struct {
	WaID         string // wa_id, may be empty for username-only users
	UserID       string // user_id (business-scoped user id), when Meta sends one
	ParentUserID string // parent_user_id, only for businesses with linked portfolios
	Phone        string // E.164 form of wa_id, empty when it cannot be normalized
	ProfileName  string // profile.name
	Username     string // profile.username, for users who adopted a WhatsApp username
}

// Sender is the element of c.Contacts describing who sent m, matched by wa_id
// or by business-scoped user id (users with a username may come without a
// wa_id). Meta puts the profile name there, not on the message.
func (c Change) Sender(m InboundMessage) (Contact, bool) {
	for _, ct := range c.Contacts {
		if (m.From != "" && ct.WaID == m.From) || (m.FromUserID != "" && ct.UserID == m.FromUserID) {
			return ct, true
		}
	}
	return Contact{}, false
}

// MessageType is the "type" of an inbound message.
type MessageType string

// Message types Meta sends. Unknown types are kept as the string Meta sent.
const (
	TypeText        MessageType = "text"
	TypeImage       MessageType = "image"
	TypeAudio       MessageType = "audio"
	TypeVideo       MessageType = "video"
	TypeDocument    MessageType = "document"
	TypeSticker     MessageType = "sticker"
	TypeLocation    MessageType = "location"
	TypeContacts    MessageType = "contacts"
	TypeInteractive MessageType = "interactive"
	TypeButton      MessageType = "button"
	TypeOrder       MessageType = "order"
	TypeReaction    MessageType = "reaction"
	TypeSystem      MessageType = "system"
	TypeUnsupported MessageType = "unsupported" // also given to messages whose type is missing or not a string
	TypeEdit        MessageType = "edit"        // the user edited an earlier message (TargetWAMID)
	TypeRevoke      MessageType = "revoke"      // the user deleted an earlier message (TargetWAMID)
	TypeTemplate    MessageType = "template"    // outbound only
	TypeUnknown     MessageType = "unknown"     // placeholder rows: a status arrived before the message
)

// InboundMessage is an element of value.messages.
type InboundMessage struct {
	WAMID      string
	From       string // wa_id of the sender; empty when Meta sends only from_user_id
	FromUserID string
	FromPhone  string // E.164 of From, empty when From is empty or not a number
	Timestamp  time.Time
	Type       MessageType
	// Content is the typed payload as a JSON object, normalized per type
	// (see DecodeWebhook); it always includes every field Meta sent for
	// that type, and is never null.
	Content  json.RawMessage
	Context  *MessageContext
	Referral json.RawMessage // click-to-WhatsApp ad referral, as sent
	Errors   []MetaError
	// TargetWAMID is the message a reaction, edit or revoke refers to.
	TargetWAMID string
	// Preview is a short human text for inbox lists ("📷 Photo", the text body…).
	Preview string
	Raw     json.RawMessage // the message object byte-exact
}

// MessageContext is the context object of a message: a reply or a forward.
type MessageContext struct {
	From                string          `json:"from,omitempty"`
	ID                  string          `json:"id,omitempty"` // wamid replied to
	Forwarded           bool            `json:"forwarded,omitempty"`
	FrequentlyForwarded bool            `json:"frequently_forwarded,omitempty"`
	ReferredProduct     json.RawMessage `json:"referred_product,omitempty"`
}

// StatusKind is a delivery status of an outbound message.
type StatusKind string

// Delivery statuses in the order they may advance. Failed is terminal.
const (
	StatusQueued    StatusKind = "queued" // recorded by us, not yet accepted by Meta
	StatusAccepted  StatusKind = "accepted"
	StatusSent      StatusKind = "sent"
	StatusDelivered StatusKind = "delivered"
	StatusRead      StatusKind = "read"
	StatusPlayed    StatusKind = "played"
	StatusFailed    StatusKind = "failed"
	StatusReceived  StatusKind = "received" // inbound messages
)

// Status is an element of value.statuses.
type Status struct {
	WAMID                 string
	Status                StatusKind
	Timestamp             time.Time
	RecipientID           string // wa_id of the recipient, or a group id when RecipientType is "group"
	RecipientPhone        string // E.164 of RecipientID when it is a number
	RecipientUserID       string // recipient_user_id (business-scoped user id), when Meta sends one
	RecipientType         string // recipient_type: "group" for group messages, empty otherwise
	BizOpaqueCallbackData string
	Conversation          *StatusConversation
	Pricing               *Pricing
	Errors                []MetaError
	Raw                   json.RawMessage
}

// StatusConversation is the conversation object of a status.
type StatusConversation struct {
	ID                  string     `json:"id"`
	ExpirationTimestamp *time.Time `json:"expiration_timestamp,omitempty"`
	OriginType          string     `json:"origin_type,omitempty"`
}

// Pricing is the pricing object of a status.
type Pricing struct {
	PricingModel string `json:"pricing_model,omitempty"`
	Category     string `json:"category,omitempty"`
	Type         string `json:"type,omitempty"`
	Billable     *bool  `json:"billable,omitempty"`
}

// MetaError is an element of an errors[] array Meta sends.
type MetaError struct {
	Code    int    `json:"code"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"` // error_data.details
	Href    string `json:"href,omitempty"`
}

// TemplateStatusUpdate is the value of a message_template_status_update change.
type TemplateStatusUpdate struct {
	TemplateID       string // message_template_id, numeric in Meta's JSON, kept as its decimal text
	TemplateName     string
	TemplateLanguage string
	Event            string // APPROVED, REJECTED, PAUSED, DISABLED, …
	Reason           string // rejection reason; empty when Meta sends null
	Category         string // message_template_category: MARKETING, UTILITY, AUTHENTICATION
}
