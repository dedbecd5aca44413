package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Agents' actions on conversations are events, like Meta's webhooks: they
// are stored in the stream before the answer, and the inbox projector
// applies them in order with everything else, so a rebuild keeps them. The
// answer is 202 with the events' stream sequences; the change shows in the
// read API (and live) once projected, a few milliseconds later.

// Accepted is the answer to an action: the events it became.
type Accepted struct {
	ConversationID uuid.UUID  `json:"conversation_id"`
	NoteID         *uuid.UUID `json:"note_id,omitempty"`
	Events         []uint64   `json:"events"`
}

type patchConversationRequest struct {
	AssigneeID   json.RawMessage `json:"assignee_id"` // absent: unchanged; null: unassign
	Status       *string         `json:"status"`
	SnoozedUntil *time.Time      `json:"snoozed_until"`
	Tags         *[]string       `json:"tags"`
}

func (s *Server) patchConversation(c echo.Context) error {
	p := principal(c)
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	var r patchConversationRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var events []domain.ConversationEvent
	var types []string
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		if _, err := q.GetConversation(ctx, db.GetConversationParams{TenantID: p.TenantID, ID: id}); err != nil {
			return notFound(err, "conversation")
		}
		if len(r.AssigneeID) > 0 {
			ev := domain.ConversationEvent{ConversationID: id}
			if string(r.AssigneeID) != "null" {
				var who uuid.UUID
				if err := json.Unmarshal(r.AssigneeID, &who); err != nil {
					return domain.Errorf(domain.ErrInvalid, "assignee_id: a user id or null")
				}
				if _, err := q.UserByID(ctx, db.UserByIDParams{TenantID: p.TenantID, ID: who}); err != nil {
					return domain.Errorf(domain.ErrInvalid, "assignee_id: no such user in this tenant")
				}
				ev.AssigneeID = &who
			}
			events, types = append(events, ev), append(types, domain.EventAssigned)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if r.Status != nil {
		ev := domain.ConversationEvent{ConversationID: id, Status: *r.Status}
		switch *r.Status {
		case domain.ConversationSnoozed:
			if r.SnoozedUntil == nil || !r.SnoozedUntil.After(s.now()) {
				return domain.Errorf(domain.ErrInvalid, "snoozed_until: a future time is required to snooze")
			}
			until := r.SnoozedUntil.UTC()
			ev.SnoozedUntil = &until
		case domain.ConversationOpen, domain.ConversationClosed:
			if r.SnoozedUntil != nil {
				return domain.Errorf(domain.ErrInvalid, "snoozed_until: only with status snoozed")
			}
		default:
			return domain.Errorf(domain.ErrInvalid, "status: open, closed or snoozed")
		}
		events, types = append(events, ev), append(types, domain.EventStatusChanged)
	} else if r.SnoozedUntil != nil {
		return domain.Errorf(domain.ErrInvalid, "snoozed_until: only with status snoozed")
	}
	if r.Tags != nil {
		tags, err := cleanTags(*r.Tags)
		if err != nil {
			return err
		}
		events, types = append(events, domain.ConversationEvent{ConversationID: id, Tags: tags}), append(types, domain.EventTagsSet)
	}
	if len(events) == 0 {
		return domain.Errorf(domain.ErrInvalid, "body: nothing to change (assignee_id, status, tags)")
	}
	out := Accepted{ConversationID: id}
	for i := range events {
		seq, err := s.publishConversation(c, types[i], events[i])
		if err != nil {
			return err
		}
		out.Events = append(out.Events, seq)
	}
	return c.JSON(http.StatusAccepted, out)
}

type noteRequest struct {
	Body string `json:"body"`
}

func (s *Server) addNote(c echo.Context) error {
	id, err := s.tenantConversation(c)
	if err != nil {
		return err
	}
	var r noteRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	r.Body = strings.TrimSpace(r.Body)
	if err := validText("body", r.Body, 10000); err != nil {
		return err
	}
	note := uuid.New()
	seq, err := s.publishConversation(c, domain.EventNoteAdded, domain.ConversationEvent{ConversationID: id, NoteID: &note, Body: r.Body})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, Accepted{ConversationID: id, NoteID: &note, Events: []uint64{seq}})
}

func (s *Server) markRead(c echo.Context) error {
	id, err := s.tenantConversation(c)
	if err != nil {
		return err
	}
	seq, err := s.publishConversation(c, domain.EventRead, domain.ConversationEvent{ConversationID: id})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, Accepted{ConversationID: id, Events: []uint64{seq}})
}

// Note is an internal note on a conversation.
type Note struct {
	ID        uuid.UUID  `json:"id"`
	AuthorID  *uuid.UUID `json:"author_id"`
	Body      string     `json:"body"`
	CreatedAt time.Time  `json:"created_at"`
}

func (s *Server) listNotes(c echo.Context) error {
	p := principal(c)
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var rows []db.Note
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		if _, err := q.GetConversation(ctx, db.GetConversationParams{TenantID: p.TenantID, ID: id}); err != nil {
			return notFound(err, "conversation")
		}
		var err error
		rows, err = q.ListNotes(ctx, db.ListNotesParams{TenantID: p.TenantID, ConversationID: id})
		return err
	})
	if err != nil {
		return err
	}
	out := make([]Note, len(rows))
	for i, n := range rows {
		out[i] = Note{ID: n.ID, AuthorID: n.AuthorID, Body: n.Body, CreatedAt: n.CreatedAt.UTC()}
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

// tenantConversation is the conversation named in the path, if the
// principal's tenant has it.
func (s *Server) tenantConversation(c echo.Context) (uuid.UUID, error) {
	p := principal(c)
	id, err := pathUUID(c, "id")
	if err != nil {
		return uuid.Nil, err
	}
	ctx := c.Request().Context()
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		_, err := q.GetConversation(ctx, db.GetConversationParams{TenantID: p.TenantID, ID: id})
		return notFound(err, "conversation")
	})
	return id, err
}

// publishConversation stores one conversation event and returns its
// stream sequence.
func (s *Server) publishConversation(c echo.Context, typ string, ev domain.ConversationEvent) (uint64, error) {
	p := principal(c)
	ev.At = s.now().UTC()
	actor := "api_key:" + p.APIKeyID.String()
	if p.UserID != uuid.Nil {
		u := p.UserID
		ev.ActorUserID = &u
		actor = "user:" + u.String()
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.PublishTimeout)
	defer cancel()
	seq, err := s.pub.Publish(ctx, streams.Event{
		Tenant: p.TenantID.String(), Type: typ, OccurredAt: ev.At, RequestID: requestID(c), Actor: actor,
		MsgID: uuid.NewString(), Data: data,
	})
	if err != nil {
		s.log.Error("conversation event not stored", "err", err, "request_id", requestID(c))
		return 0, domain.Errorf(domain.ErrUnavailable, "could not store the change; retry")
	}
	return seq, nil
}

// cleanTags trims, lower-cases and de-duplicates tags: at most 20, each 1
// to 50 characters.
func cleanTags(in []string) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || len([]rune(t)) > 50 {
			return nil, domain.Errorf(domain.ErrInvalid, "tags: each tag 1 to 50 characters")
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) > 20 {
		return nil, domain.Errorf(domain.ErrInvalid, "tags: at most 20")
	}
	return out, nil
}
