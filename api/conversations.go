package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// Contact is a conversation's other party as the API shows it.
type Contact struct {
	WaID   string `json:"wa_id"`
	UserID string `json:"user_id,omitempty"`
	Phone  string `json:"phone"`
	Name   string `json:"name"`
}

// Conversation is a conversation as the API shows it.
type Conversation struct {
	ID                 uuid.UUID  `json:"id"`
	Contact            Contact    `json:"contact"`
	PhoneNumberID      string     `json:"phone_number_id"`
	UnreadCount        int32      `json:"unread_count"`
	LastMessageAt      *time.Time `json:"last_message_at"`
	LastMessagePreview string     `json:"last_message_preview"`
	WindowExpiresAt    *time.Time `json:"window_expires_at"`
	Status             string     `json:"status"`
	SnoozedUntil       *time.Time `json:"snoozed_until"`
	AssigneeID         *uuid.UUID `json:"assignee_id"`
	Tags               []string   `json:"tags"`
}

// Message is a message as the API shows it.
type Message struct {
	ID             uuid.UUID            `json:"id"`
	ConversationID uuid.UUID            `json:"conversation_id"`
	WAMID          string               `json:"wamid"`
	Direction      string               `json:"direction"`
	Type           string               `json:"type"`
	Status         string               `json:"status"`
	Content        json.RawMessage      `json:"content"`
	Preview        string               `json:"preview"`
	Timestamp      time.Time            `json:"timestamp"`
	ReplyTo        *string              `json:"reply_to"`
	Context        json.RawMessage      `json:"context,omitempty"`
	Referral       json.RawMessage      `json:"referral,omitempty"`
	Error          *MessageError        `json:"error,omitempty"`
	Statuses       map[string]time.Time `json:"statuses"`
	Pricing        json.RawMessage      `json:"pricing,omitempty"`
	Edited         json.RawMessage      `json:"edited,omitempty"`
	RevokedAt      *time.Time           `json:"revoked_at,omitempty"`
}

// MessageError is Meta's reason for a failed message.
type MessageError struct {
	Code    int32  `json:"code"`
	Title   string `json:"title"`
	Details string `json:"details,omitempty"`
}

// Page is one page of a list; NextCursor is empty on the last page.
type Page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

const (
	defaultLimit = 50
	maxLimit     = 200
)

func (s *Server) listConversations(c echo.Context) error {
	p := principal(c)
	limit, cur, err := pageParams(c)
	if err != nil {
		return err
	}
	params := db.ListConversationsParams{
		TenantID: p.TenantID, After: cur != nil, CursorAt: cur.at(), CursorID: cur.uuid(), Lim: int32(limit) + 1,
	}
	if err := conversationFilters(c, p, &params); err != nil {
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
	page := Page[Conversation]{Data: make([]Conversation, 0, len(rows))}
	for i, r := range rows {
		if i == limit {
			last := rows[i-1]
			page.NextCursor = encodeCursor(last.SortAt, last.ID)
			break
		}
		page.Data = append(page.Data, Conversation{
			ID:                 r.ID,
			Contact:            Contact{WaID: r.WaID, UserID: r.UserID, Phone: r.Phone, Name: r.ProfileName},
			PhoneNumberID:      r.PhoneNumberID,
			UnreadCount:        r.UnreadCount,
			LastMessageAt:      utc(r.LastMessageAt),
			LastMessagePreview: r.LastMessagePreview,
			WindowExpiresAt:    utc(r.WindowExpiresAt),
			Status:             r.Status,
			SnoozedUntil:       utc(r.SnoozedUntil),
			AssigneeID:         r.AssigneeID,
			Tags:               r.Tags,
		})
	}
	return c.JSON(http.StatusOK, page)
}

// conversationFilters reads the list's filters: status, assignee (me,
// unassigned or a user id), phone_number_id, tag, unread=true, and q (in the
// contact's name or phone number).
func conversationFilters(c echo.Context, p Principal, params *db.ListConversationsParams) error {
	opt := func(name string) *string {
		if v := c.QueryParam(name); v != "" {
			return &v
		}
		return nil
	}
	params.Status, params.PhoneNumberID, params.Tag = opt("status"), opt("phone_number_id"), opt("tag")
	if params.Tag != nil {
		t := strings.ToLower(*params.Tag)
		params.Tag = &t
	}
	switch a := c.QueryParam("assignee"); a {
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
	params.UnreadOnly = c.QueryParam("unread") == "true"
	if q := strings.TrimSpace(c.QueryParam("q")); q != "" {
		// LIKE's wildcards in what the user typed are meant literally.
		q = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
		params.Search = &q
	}
	return nil
}

func (s *Server) listMessages(c echo.Context) error {
	p := principal(c)
	convID, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	limit, cur, err := pageParams(c)
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
			After: cur != nil, CursorAt: cur.at(), CursorID: cur.uuid(), Lim: int32(limit) + 1,
		})
		return err
	})
	if err != nil {
		return err
	}
	page := Page[Message]{Data: make([]Message, 0, len(rows))}
	for i, r := range rows {
		if i == limit {
			last := rows[i-1]
			page.NextCursor = encodeCursor(last.Timestamp, last.ID)
			break
		}
		page.Data = append(page.Data, messageOf(r))
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) getMessage(c echo.Context) error {
	p := principal(c)
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	var m db.Message
	err = s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		m, err = q.GetMessage(c.Request().Context(), db.GetMessageParams{TenantID: p.TenantID, ID: id})
		return notFound(err, "message")
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, messageOf(m))
}

func messageOf(r db.Message) Message {
	m := Message{
		ID:             r.ID,
		ConversationID: r.ConversationID,
		WAMID:          r.Wamid,
		Direction:      r.Direction,
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
		Statuses:       map[string]time.Time{},
	}
	if m.Content == nil {
		m.Content = json.RawMessage("null")
	}
	if r.ReplyTo != "" {
		m.ReplyTo = &r.ReplyTo
	}
	if r.ErrorCode != nil {
		m.Error = &MessageError{Code: *r.ErrorCode, Title: deref(r.ErrorTitle), Details: deref(r.ErrorDetails)}
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
	ID uuid.UUID
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
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, err
	}
	return &cursor{At: at, ID: u}, nil
}

func pageParams(c echo.Context) (int, *cursor, error) {
	limit := defaultLimit
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return 0, nil, domain.Errorf(domain.ErrInvalid, "limit: must be an integer from 1 to %d", maxLimit)
		}
		limit = n
	}
	var cur *cursor
	if v := c.QueryParam("cursor"); v != "" {
		var err error
		if cur, err = decodeCursor(v); err != nil {
			return 0, nil, domain.Errorf(domain.ErrInvalid, "cursor: not a cursor this API returned")
		}
	}
	return limit, cur, nil
}

func pathUUID(c echo.Context, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, domain.Errorf(domain.ErrNotFound, "%s: no such id", name)
	}
	return id, nil
}

func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Errorf(domain.ErrNotFound, "%s not found", what)
	}
	return err
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
