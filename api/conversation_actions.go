package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Agents' actions on conversations are events, like Meta's webhooks: they
// are stored in the stream before the answer, and the inbox projector
// applies them in order with everything else, so a rebuild keeps them. The
// answer is 202 with the events' stream sequences; the change shows in the
// read API (and live) once projected, a few milliseconds later.

// PatchConversation assigns or unassigns (assignee_id absent: unchanged;
// null: unassign), opens, closes or snoozes, and sets tags.
func (s handlers) PatchConversation(c echo.Context, id uuid.UUID) error {
	p := principal(c)
	var r apigen.PatchConversationRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var events []domain.ConversationEvent
	var types []string
	err := s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		if _, err := q.GetConversation(ctx, db.GetConversationParams{TenantID: p.TenantID, ID: id}); err != nil {
			return notFound(err, "conversation")
		}
		if r.AssigneeId.IsSpecified() {
			ev := domain.ConversationEvent{ConversationID: id}
			if who, err := r.AssigneeId.Get(); err == nil {
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
		ev := domain.ConversationEvent{ConversationID: id, Status: string(*r.Status)}
		switch ev.Status {
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
	out := apigen.Accepted{ConversationId: id}
	for i := range events {
		seq, err := s.publishConversation(c, types[i], events[i])
		if err != nil {
			return err
		}
		out.Events = append(out.Events, seq)
	}
	return c.JSON(http.StatusAccepted, out)
}

// AddNote writes an internal note on a conversation.
func (s handlers) AddNote(c echo.Context, id uuid.UUID) error {
	if err := s.tenantConversation(c, id); err != nil {
		return err
	}
	var r apigen.NoteRequest
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
	return c.JSON(http.StatusAccepted, apigen.Accepted{ConversationId: id, NoteId: &note, Events: []uint64{seq}})
}

// MarkRead clears the conversation's unread count.
func (s handlers) MarkRead(c echo.Context, id uuid.UUID) error {
	if err := s.tenantConversation(c, id); err != nil {
		return err
	}
	seq, err := s.publishConversation(c, domain.EventRead, domain.ConversationEvent{ConversationID: id})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, apigen.Accepted{ConversationId: id, Events: []uint64{seq}})
}

// ListNotes lists a conversation's internal notes, oldest first.
func (s handlers) ListNotes(c echo.Context, id uuid.UUID) error {
	p := principal(c)
	ctx := c.Request().Context()
	var rows []db.Note
	err := s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
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
	out := apigen.NoteList{Data: make([]apigen.Note, len(rows))}
	for i, n := range rows {
		out.Data[i] = apigen.Note{Id: n.ID, AuthorId: null(n.AuthorID), Body: n.Body, CreatedAt: n.CreatedAt.UTC()}
	}
	return c.JSON(http.StatusOK, out)
}

// tenantConversation is a 404 unless the principal's tenant has the
// conversation id.
func (s *Server) tenantConversation(c echo.Context, id uuid.UUID) error {
	p := principal(c)
	ctx := c.Request().Context()
	return s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		_, err := q.GetConversation(ctx, db.GetConversationParams{TenantID: p.TenantID, ID: id})
		return notFound(err, "conversation")
	})
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
	e, err := streams.ConversationEvent(p.TenantID, typ, ev)
	if err != nil {
		return 0, err
	}
	e.RequestID, e.Actor, e.MsgID = requestID(c), actor, uuid.NewString()
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.PublishTimeout)
	defer cancel()
	seq, err := s.pub.Publish(ctx, e)
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
