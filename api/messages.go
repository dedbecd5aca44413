package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/messaging"
	"github.com/wam-project/wam/sql/db"
)

// sendEnvelope is what every send body has besides the message.
type sendEnvelope struct {
	To             string     `json:"to"`
	ConversationID *uuid.UUID `json:"conversation_id"`
	PhoneNumberID  string     `json:"phone_number_id"`
}

// SendMessage sends a Cloud-API-shaped message (messaging.Service.Send).
func (s handlers) SendMessage(c echo.Context, p apigen.SendMessageParams) error {
	var body struct {
		sendEnvelope
		domain.Outbound
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	return s.send(c, body.sendEnvelope, body.Outbound, p.IdempotencyKey)
}

// SendText is SendMessage for a text, at the path of the product wam
// replaces.
func (s handlers) SendText(c echo.Context, p apigen.SendTextParams) error {
	var body struct {
		sendEnvelope
		Text       string                  `json:"text"`
		PreviewURL bool                    `json:"preview_url"`
		Context    *domain.OutboundContext `json:"context"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	m := domain.Outbound{Type: domain.TypeText, Text: &domain.OutText{Body: body.Text, PreviewURL: body.PreviewURL}, Context: body.Context}
	return s.send(c, body.sendEnvelope, m, p.IdempotencyKey)
}

// SendMedia is SendMessage for media, at the path of the product wam
// replaces.
func (s handlers) SendMedia(c echo.Context, p apigen.SendMediaParams) error {
	var body struct {
		sendEnvelope
		Type     domain.MessageType      `json:"type"`
		MediaID  string                  `json:"media_id"`
		Link     string                  `json:"link"`
		Caption  string                  `json:"caption"`
		Filename string                  `json:"filename"`
		Context  *domain.OutboundContext `json:"context"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	md := &domain.OutMedia{ID: body.MediaID, Link: body.Link, Caption: body.Caption, Filename: body.Filename}
	m := domain.Outbound{Type: body.Type, Context: body.Context}
	switch body.Type {
	case domain.TypeImage:
		m.Image = md
	case domain.TypeAudio:
		m.Audio = md
	case domain.TypeVideo:
		m.Video = md
	case domain.TypeDocument:
		m.Document = md
	case domain.TypeSticker:
		m.Sticker = md
	}
	return s.send(c, body.sendEnvelope, m, p.IdempotencyKey)
}

// SendTemplate is SendMessage for a template, at the path of the product
// wam replaces.
func (s handlers) SendTemplate(c echo.Context, p apigen.SendTemplateParams) error {
	var body struct {
		sendEnvelope
		Name       string                `json:"name"`
		Language   string                `json:"language"`
		Components []domain.OutComponent `json:"components"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	m := domain.Outbound{Type: domain.TypeTemplate, Template: &domain.OutTemplate{
		Name: body.Name, Language: domain.OutTemplateLanguage{Code: body.Language}, Components: body.Components,
	}}
	return s.send(c, body.sendEnvelope, m, p.IdempotencyKey)
}

func (s handlers) send(c echo.Context, env sendEnvelope, m domain.Outbound, key *string) error {
	msg, err := s.messaging.Send(c.Request().Context(), caller(c), messaging.SendRequest{
		To: env.To, ConversationID: env.ConversationID, PhoneNumberID: env.PhoneNumberID, Message: m, IdempotencyKey: deref(key),
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, messageOf(msg))
}

// MarkMessageRead asks Meta to show an inbound message read, and
// optionally the typing indicator.
func (s handlers) MarkMessageRead(c echo.Context, id uuid.UUID) error {
	var body apigen.MarkReadRequest
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
	}
	conv, seq, err := s.messaging.MarkRead(c.Request().Context(), caller(c), id, body.TypingIndicator != nil)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, apigen.Accepted{ConversationId: conv, Events: []uint64{seq}})
}

// ListTenantMessages lists the tenant's messages, newest first, filtered.
func (s handlers) ListTenantMessages(c echo.Context, f apigen.ListTenantMessagesParams) error {
	p := principal(c)
	limit, cur, err := pageParams(f.Limit, f.Cursor)
	if err != nil {
		return err
	}
	params := db.ListTenantMessagesParams{
		TenantID: p.TenantID, ConversationID: f.ConversationId,
		After: cur != nil, CursorAt: cur.at(), CursorThen: cur.then(), CursorID: cur.uuid(), Lim: int32(limit) + 1,
	}
	if f.Direction != nil {
		d := string(*f.Direction)
		params.Direction = &d
	}
	if f.Status != nil {
		st := string(*f.Status)
		params.Status = &st
	}
	ctx := c.Request().Context()
	var rows []db.Message
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) (err error) {
		rows, err = q.ListTenantMessages(ctx, params)
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

// caller is the principal as the application layer knows callers.
func caller(c echo.Context) messaging.Caller {
	p := principal(c)
	mc := messaging.Caller{Tenant: p.TenantID, Role: p.Role, Actor: "api_key:" + p.APIKeyID.String(), RequestID: requestID(c)}
	if p.UserID != uuid.Nil {
		u := p.UserID
		mc.UserID, mc.Actor = &u, "user:"+u.String()
	}
	return mc
}
