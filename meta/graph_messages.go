package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// SendResult is what POST /{phone-number-id}/messages answers: Meta has
// accepted the message, which says nothing of its delivery yet (that comes
// by webhook).
type SendResult struct {
	WaID          string // contacts[0].wa_id: the recipient's WhatsApp id
	Input         string // contacts[0].input: the "to" as sent
	MessageID     string // messages[0].id, the wamid
	MessageStatus string // messages[0].message_status: accepted, held_for_quality_assessment or paused; "" when absent
}

// SendMessage sends body, a Cloud API message object as JSON
// (messaging_product, recipient_type, to, type, the object of that type,
// context, biz_opaque_callback_data), from phone number phoneNumberID.
func (c *Client) SendMessage(ctx context.Context, phoneNumberID, token string, body []byte) (SendResult, error) {
	var answer struct {
		Contacts []struct {
			Input string `json:"input"`
			WaID  string `json:"wa_id"`
		} `json:"contacts"`
		Messages []struct {
			ID            string `json:"id"`
			MessageStatus string `json:"message_status"`
		} `json:"messages"`
	}
	if err := c.postJSON(ctx, url.PathEscape(phoneNumberID)+"/messages", token, body, &answer); err != nil {
		return SendResult{}, err
	}
	if len(answer.Messages) == 0 || answer.Messages[0].ID == "" {
		return SendResult{}, fmt.Errorf("graph api: %s/messages answered without a message id", phoneNumberID)
	}
	r := SendResult{MessageID: answer.Messages[0].ID, MessageStatus: answer.Messages[0].MessageStatus}
	if len(answer.Contacts) > 0 {
		r.WaID, r.Input = answer.Contacts[0].WaID, answer.Contacts[0].Input
	}
	return r, nil
}

// MarkRead marks the user's message wamid as read (blue ticks) and, when
// typing is set, shows the user a typing indicator for up to 25 s or until
// the next message.
func (c *Client) MarkRead(ctx context.Context, phoneNumberID, token, wamid string, typing bool) error {
	req := map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
	if typing {
		req["typing_indicator"] = map[string]string{"type": "text"}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var answer struct {
		Success bool `json:"success"`
	}
	if err := c.postJSON(ctx, url.PathEscape(phoneNumberID)+"/messages", token, body, &answer); err != nil {
		return err
	}
	if !answer.Success {
		return fmt.Errorf("graph api: marking %s read did not succeed", wamid)
	}
	return nil
}
