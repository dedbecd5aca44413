package live

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/wam-project/wam/sql/db"
)

// frame is one text frame for the clients of a tenant, encoded once for
// all of them.
type frame struct {
	tenant uuid.UUID
	seq    int64     // the row's last_seq; 0 for ephemeral frames (typing, presence)
	order  int       // of one seq: messages, then conversations, then notes
	from   uuid.UUID // typing: the user who types, who is not sent it
	text   []byte
}

// Event types of the protocol.
const (
	TypeMessageCreated      = "message.created"
	TypeMessageUpdated      = "message.updated"
	TypeConversationUpdated = "conversation.updated"
	TypeNoteAdded           = "note.added"
)

// event is a frame of a read-model row.
type event struct {
	Type           string     `json:"type"`
	Seq            int64      `json:"seq"`
	ConversationID *uuid.UUID `json:"conversation_id,omitempty"`
	Data           any        `json:"data"`
}

func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode live frame: %w", err)
	}
	return b, nil
}

// messageFrame is message.created for a row no later event has changed
// (its first version: created_at is updated_at), message.updated otherwise
// (statuses, media stored, edits, reactions, Meta's id).
func (h *Hub) messageFrame(m db.Message) (*frame, error) {
	typ := TypeMessageUpdated
	if m.CreatedAt.Equal(m.UpdatedAt) {
		typ = TypeMessageCreated
	}
	conv := m.ConversationID
	b, err := encode(event{Type: typ, Seq: m.LastSeq, ConversationID: &conv, Data: h.enc.Message(m)})
	if err != nil {
		return nil, err
	}
	return &frame{tenant: m.TenantID, seq: m.LastSeq, order: 0, text: b}, nil
}

func (h *Hub) conversationFrame(c db.LiveConversationsRow) (*frame, error) {
	b, err := encode(event{Type: TypeConversationUpdated, Seq: c.LastSeq, Data: h.enc.Conversation(c)})
	if err != nil {
		return nil, err
	}
	return &frame{tenant: c.TenantID, seq: c.LastSeq, order: 1, text: b}, nil
}

func (h *Hub) noteFrame(n db.Note) (*frame, error) {
	conv := n.ConversationID
	b, err := encode(event{Type: TypeNoteAdded, Seq: n.LastSeq, ConversationID: &conv, Data: h.enc.Note(n)})
	if err != nil {
		return nil, err
	}
	return &frame{tenant: n.TenantID, seq: n.LastSeq, order: 2, text: b}, nil
}
