package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Template is a message template of a WhatsApp Business Account, as
// GET /{waba-id}/message_templates lists it.
type Template struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Language       string          `json:"language"`
	Status         string          `json:"status"`   // APPROVED, PENDING, REJECTED, PAUSED, DISABLED…
	Category       string          `json:"category"` // MARKETING, UTILITY, AUTHENTICATION
	RejectedReason string          `json:"rejected_reason,omitempty"`
	Components     json.RawMessage `json:"components"`
}

// TemplateCreate is a template to submit for review.
type TemplateCreate struct {
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Category   string          `json:"category"`
	Components json.RawMessage `json:"components"`
}

// maxTemplatePages bounds Templates: at 100 a page, 100 pages hold more
// templates than Meta lets a WABA have (250, or 6000 once verified).
const maxTemplatePages = 100

// templateListFields are the fields Templates asks for; rejected_reason is not
// among Meta's defaults.
const templateListFields = "id,name,language,status,category,rejected_reason,components"

// Templates lists every template of WABA wabaID, following
// paging.cursors.after over every page (a sync that reads only the first
// page misses templates).
func (c *Client) Templates(ctx context.Context, wabaID, token string) ([]Template, error) {
	return allPages[Template](ctx, c, url.PathEscape(wabaID)+"/message_templates",
		url.Values{"fields": {templateListFields}, "limit": {"100"}}, token, maxTemplatePages)
}

// CreateTemplate submits t for review and returns the new template's id,
// its status (PENDING while Meta reviews it; the verdict comes by a
// message_template_status_update webhook) and its category.
func (c *Client) CreateTemplate(ctx context.Context, wabaID, token string, t TemplateCreate) (id, status, category string, err error) {
	body, err := json.Marshal(t)
	if err != nil {
		return "", "", "", err
	}
	var answer struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Category string `json:"category"`
	}
	if err := c.postJSON(ctx, url.PathEscape(wabaID)+"/message_templates", token, body, &answer); err != nil {
		return "", "", "", err
	}
	if answer.ID == "" {
		return "", "", "", fmt.Errorf("graph api: %s/message_templates answered without a template id", wabaID)
	}
	return answer.ID, answer.Status, answer.Category, nil
}

// DeleteTemplate deletes the template name of WABA wabaID, in every
// language.
func (c *Client) DeleteTemplate(ctx context.Context, wabaID, token, name string) error {
	var answer struct {
		Success bool `json:"success"`
	}
	err := c.call(ctx, http.MethodDelete, url.PathEscape(wabaID)+"/message_templates", url.Values{"name": {name}}, token, "", nil, &answer)
	if err != nil {
		return err
	}
	if !answer.Success {
		return fmt.Errorf("graph api: deleting template %q did not succeed", name)
	}
	return nil
}
