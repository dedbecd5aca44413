package domain

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Types of the events of message templates, published as
// wam.<tenant>.template.<…> by the templates area and applied by the inbox
// projector with Meta's message_template_status_update webhooks, so that a
// rebuild gives the templates read model back.
const (
	// EventTemplateSynced is (a part of) a listing of a WABA's templates.
	EventTemplateSynced = "template.synced" // TemplateSynced
	// EventTemplateCreated is a template Meta took for review.
	EventTemplateCreated = "template.created" // TemplateCreated
	// EventTemplateDeleted is a template Meta deleted, in every language.
	EventTemplateDeleted = "template.deleted" // TemplateDeleted
)

// TemplateInfo is a template as Meta describes it (GET
// /{waba-id}/message_templates): the components are Meta's JSON as given.
type TemplateInfo struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Language       string          `json:"language"`
	Status         string          `json:"status"`
	Category       string          `json:"category"`
	RejectedReason string          `json:"rejected_reason,omitempty"`
	Components     json.RawMessage `json:"components,omitempty"`
}

// TemplateSynced is the body of a sync event: templates Meta listed for WABA
// WABAID when asked at At. A listing too large for one event is published
// in parts of one SyncID; the last part has Complete set and Listed, the ids
// of every template Meta listed: the WABA's other templates are gone as of
// At. Parts of a sync that did not complete only add what they list.
type TemplateSynced struct {
	WABAID    string         `json:"waba_id"`
	SyncID    uuid.UUID      `json:"sync_id"`
	Part      int            `json:"part"` // from 1
	Templates []TemplateInfo `json:"templates"`
	Complete  bool           `json:"complete"`
	Listed    []string       `json:"listed,omitempty"`
	At        time.Time      `json:"at"`
}

// TemplateCreated is the body of a creation: Template as submitted, with the
// id, status (PENDING while Meta reviews it) and category Meta answered.
type TemplateCreated struct {
	WABAID      string       `json:"waba_id"`
	Template    TemplateInfo `json:"template"`
	ActorUserID *uuid.UUID   `json:"actor_user_id,omitempty"`
	At          time.Time    `json:"at"`
}

// TemplateDeleted is the body of a deletion: Meta deleted template Name of
// WABA WABAID in every language at At.
type TemplateDeleted struct {
	WABAID      string     `json:"waba_id"`
	Name        string     `json:"name"`
	ActorUserID *uuid.UUID `json:"actor_user_id,omitempty"`
	At          time.Time  `json:"at"`
}

// Template statuses wam acts on (Meta has more: IN_APPEAL, LIMIT_EXCEEDED,
// ARCHIVED…).
const (
	TemplateStatusApproved        = "APPROVED"
	TemplateStatusPending         = "PENDING"
	TemplateStatusDeleted         = "DELETED"
	TemplateStatusPendingDeletion = "PENDING_DELETION"
)

// TemplateGoneStatus reports whether a template with status s is no more:
// Meta deleted it or is deleting it.
func TemplateGoneStatus(s string) bool {
	return s == TemplateStatusDeleted || s == TemplateStatusPendingDeletion
}
