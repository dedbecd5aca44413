package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls Meta's Graph API.
type Client struct {
	base    string // e.g. https://graph.facebook.com
	version string // e.g. v23.0
	http    *http.Client
}

// NewClient returns a Client for the Graph API at base (META_API_BASE_URL)
// and version (META_API_VERSION).
func NewClient(base, version string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), version: version, http: &http.Client{Timeout: 15 * time.Second}}
}

// Error is an error answer of the Graph API.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
	Subcode int    `json:"error_subcode"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("graph api: %s (code %d, HTTP %d)", e.Message, e.Code, e.Status)
}

// PhoneNumber is what the Graph API tells of a phone number.
type PhoneNumber struct {
	ID                 string `json:"id"`
	DisplayPhoneNumber string `json:"display_phone_number"`
	VerifiedName       string `json:"verified_name"`
}

// PhoneNumber looks up phone number id with token, which proves the token
// may act for that number.
func (c *Client) PhoneNumber(ctx context.Context, id, token string) (PhoneNumber, error) {
	u := c.base + "/" + c.version + "/" + url.PathEscape(id) + "?fields=display_phone_number,verified_name"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return PhoneNumber{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL is ours and holds no token, so the error may be shown.
		return PhoneNumber{}, fmt.Errorf("graph api: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return PhoneNumber{}, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error Error }
		if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
			e.Error.Message = http.StatusText(resp.StatusCode)
		}
		e.Error.Status = resp.StatusCode
		return PhoneNumber{}, &e.Error
	}
	var p PhoneNumber
	if err := json.Unmarshal(body, &p); err != nil {
		return PhoneNumber{}, fmt.Errorf("graph api: %w", err)
	}
	return p, nil
}
