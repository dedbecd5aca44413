package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/oapi-codegen/nullable"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
)

const (
	defaultLimit = 50
	maxLimit     = 200
)

// ListConversations lists the tenant's conversations, most recent first.
func (s handlers) ListConversations(c echo.Context, f apigen.ListConversationsParams) error {
	p := principal(c)
	limit, cur, err := pageParams(f.Limit, f.Cursor)
	if err != nil {
		return err
	}
	params := db.ListConversationsParams{
		TenantID: p.TenantID, After: cur != nil, CursorAt: cur.at(), CursorID: cur.uuid(), Lim: int32(limit) + 1,
	}
	if err := conversationFilters(f, p, &params); err != nil {
		return err
	}
	var rows []db.ListConversationsRow
	err = s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		rows, err = q.ListConversations(c.Request().Context(), params)
		return err
	})
	if err != nil {
		return err
	}
	page := apigen.ConversationPage{Data: make([]apigen.Conversation, 0, len(rows))}
	for i, r := range rows {
		if i == limit {
			last := rows[i-1]
			page.NextCursor = encodeCursor(last.SortAt, last.ID)
			break
		}
		page.Data = append(page.Data, conversationOf(db.ConversationViewRow{
			ID: r.ID, PhoneNumberID: r.PhoneNumberID, Status: r.Status, UnreadCount: r.UnreadCount,
			LastMessageAt: r.LastMessageAt, LastMessagePreview: r.LastMessagePreview, WindowExpiresAt: r.WindowExpiresAt,
			AssigneeID: r.AssigneeID, SnoozedUntil: r.SnoozedUntil, Tags: r.Tags,
			WaID: r.WaID, UserID: r.UserID, Phone: r.Phone, ProfileName: r.ProfileName,
		}))
	}
	return c.JSON(http.StatusOK, page)
}

// GetConversation is one conversation.
func (s handlers) GetConversation(c echo.Context, id uuid.UUID) error {
	p := principal(c)
	ctx := c.Request().Context()
	var r db.ConversationViewRow
	err := s.inTenant(ctx, p.TenantID, func(q *db.Queries) (err error) {
		r, err = q.ConversationView(ctx, db.ConversationViewParams{TenantID: p.TenantID, ID: id})
		return notFound(err, "conversation")
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conversationOf(r))
}

func conversationOf(r db.ConversationViewRow) apigen.Conversation {
	return apigen.Conversation{
		Id:                 r.ID,
		Contact:            apigen.Contact{WaId: r.WaID, UserId: r.UserID, Phone: r.Phone, Name: r.ProfileName},
		PhoneNumberId:      r.PhoneNumberID,
		UnreadCount:        r.UnreadCount,
		LastMessageAt:      null(utc(r.LastMessageAt)),
		LastMessagePreview: r.LastMessagePreview,
		WindowExpiresAt:    null(utc(r.WindowExpiresAt)),
		Status:             apigen.ConversationStatus(r.Status),
		SnoozedUntil:       null(utc(r.SnoozedUntil)),
		AssigneeId:         null(r.AssigneeID),
		Tags:               r.Tags,
	}
}

// conversationFilters reads the list's filters: status, assignee (me,
// unassigned or a user id), phone_number_id, tag, unread=true, and q (in the
// contact's name or phone number).
func conversationFilters(f apigen.ListConversationsParams, p Principal, params *db.ListConversationsParams) error {
	opt := func(v string) *string {
		if v != "" {
			return &v
		}
		return nil
	}
	params.Status = opt(string(deref(f.Status)))
	params.PhoneNumberID = opt(deref(f.PhoneNumberId))
	params.Tag = opt(strings.ToLower(deref(f.Tag)))
	switch a := deref(f.Assignee); a {
	case "":
	case "unassigned":
		params.Unassigned = true
	case "me":
		if p.UserID == uuid.Nil {
			return domain.Errorf(domain.ErrInvalid, "assignee: me needs a signed-in user, not an API key")
		}
		me := p.UserID
		params.Assignee = &me
	default:
		id, err := uuid.Parse(a)
		if err != nil {
			return domain.Errorf(domain.ErrInvalid, "assignee: me, unassigned or a user id")
		}
		params.Assignee = &id
	}
	params.UnreadOnly = deref(f.Unread)
	if q := strings.TrimSpace(deref(f.Q)); q != "" {
		// LIKE's wildcards in what the user typed are meant literally.
		q = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
		params.Search = &q
	}
	return nil
}

// ListMessages lists a conversation's messages, newest first.
func (s handlers) ListMessages(c echo.Context, convID uuid.UUID, f apigen.ListMessagesParams) error {
	p := principal(c)
	limit, cur, err := pageParams(f.Limit, f.Cursor)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var rows []db.Message
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		if _, err := q.GetConversation(ctx, db.GetConversationParams{TenantID: p.TenantID, ID: convID}); err != nil {
			return notFound(err, "conversation")
		}
		var err error
		rows, err = q.ListMessages(ctx, db.ListMessagesParams{
			TenantID: p.TenantID, ConversationID: convID,
			After: cur != nil, CursorAt: cur.at(), CursorThen: cur.then(), CursorID: cur.uuid(), Lim: int32(limit) + 1,
		})
		return err
	})
	if err != nil {
		return err
	}
	page := apigen.MessagePage{Data: make([]apigen.Message, 0, len(rows))}
	for i, r := range rows {
		if i == limit {
			page.NextCursor = encodeMessageCursor(rows[i-1])
			break
		}
		page.Data = append(page.Data, messageOf(r))
	}
	return c.JSON(http.StatusOK, page)
}

// GetMessage is one message.
func (s handlers) GetMessage(c echo.Context, id uuid.UUID) error {
	p := principal(c)
	var m db.Message
	err := s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		m, err = q.GetMessage(c.Request().Context(), db.GetMessageParams{TenantID: p.TenantID, ID: id})
		return notFound(err, "message")
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, messageOf(m))
}

func messageOf(r db.Message) apigen.Message {
	m := apigen.Message{
		Id:             r.ID,
		ConversationId: r.ConversationID,
		Wamid:          r.Wamid,
		Direction:      apigen.MessageDirection(r.Direction),
		Type:           r.Type,
		Status:         r.Status,
		Content:        r.Content,
		Preview:        r.Preview,
		Timestamp:      r.Timestamp.UTC(),
		Context:        r.Context,
		Referral:       r.Referral,
		Pricing:        r.Pricing,
		Edited:         r.Edited,
		RevokedAt:      utc(r.RevokedAt),
		ReplyTo:        nullable.NewNullNullable[string](),
		Statuses:       map[string]time.Time{},
		SentBy:         r.SentBy,
		Media:          mediaOf(r.Media),
	}
	if r.MessageStatus != "" {
		m.MessageStatus = &r.MessageStatus
	}
	if m.Content == nil {
		m.Content = json.RawMessage("null")
	}
	if r.ReplyTo != "" {
		m.ReplyTo.Set(r.ReplyTo)
	}
	if r.ErrorCode != nil {
		m.Error = &apigen.MessageError{Code: *r.ErrorCode, Title: deref(r.ErrorTitle), Details: deref(r.ErrorDetails)}
	}
	_ = json.Unmarshal(r.Statuses, &m.Statuses)
	for k, t := range m.Statuses {
		m.Statuses[k] = t.UTC()
	}
	return m
}

// cursor is a position in a list ordered by (time, id) descending.
type cursor struct {
	At time.Time
	// Then breaks ties of At before ID where a list orders by a second
	// time (messages: when wam received them); zero otherwise.
	Then time.Time
	ID   uuid.UUID
}

func (c *cursor) then() time.Time {
	if c == nil {
		return time.Time{}
	}
	return c.Then
}

func (c *cursor) at() time.Time {
	if c == nil {
		return time.Time{}
	}
	return c.At
}

func (c *cursor) uuid() uuid.UUID {
	if c == nil {
		return uuid.Nil
	}
	return c.ID
}

func encodeCursor(at time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id.String()))
}

// encodeMessageCursor is the cursor after message m: messages are ordered
// by their timestamp, then by when wam received them, then by id.
func encodeMessageCursor(m db.Message) string {
	return base64.RawURLEncoding.EncodeToString([]byte(m.Timestamp.UTC().Format(time.RFC3339Nano) + "|" + m.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + m.ID.String()))
}

func decodeCursor(s string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	ts, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return nil, errors.New("no separator")
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, err
	}
	var then time.Time
	if t, rest, ok := strings.Cut(id, "|"); ok {
		if then, err = time.Parse(time.RFC3339Nano, t); err != nil {
			return nil, err
		}
		id = rest
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, err
	}
	return &cursor{At: at, Then: then, ID: u}, nil
}

// pageParams checks a list's ?limit= and ?cursor=.
func pageParams(lim *int, cursorText *string) (int, *cursor, error) {
	limit := defaultLimit
	if lim != nil {
		if *lim < 1 || *lim > maxLimit {
			return 0, nil, domain.Errorf(domain.ErrInvalid, "limit: must be an integer from 1 to %d", maxLimit)
		}
		limit = *lim
	}
	var cur *cursor
	if v := deref(cursorText); v != "" {
		var err error
		if cur, err = decodeCursor(v); err != nil {
			return 0, nil, domain.Errorf(domain.ErrInvalid, "cursor: not a cursor this API returned")
		}
	}
	return limit, cur, nil
}

func notFound(err error, what string) error { return dberr.NotFound(err, what) }

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
