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
	var p PhoneNumber
	err := c.get(ctx, url.PathEscape(id), url.Values{"fields": {"display_phone_number,verified_name"}}, token, &p)
	return p, err
}

// maxPhoneNumberPages bounds WABAPhoneNumbers: Meta lets a WABA have a few
// dozen numbers at most, so a longer listing is an answer gone wrong.
const maxPhoneNumberPages = 100

// WABAPhoneNumbers lists the phone numbers of the WhatsApp Business Account
// waba as token sees them (GET /{waba}/phone_numbers), every page of them.
// Meta answers an error when the WABA does not exist or the token may not
// read it.
func (c *Client) WABAPhoneNumbers(ctx context.Context, waba, token string) ([]PhoneNumber, error) {
	var all []PhoneNumber
	q := url.Values{"fields": {"id,display_phone_number,verified_name"}}
	for range maxPhoneNumberPages {
		var page struct {
			Data   []PhoneNumber `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := c.get(ctx, url.PathEscape(waba)+"/phone_numbers", q, token, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		// A page without "next" is the last one, cursors or not. The next
		// page is asked for with the cursor rather than by following that
		// URL, so that the token only ever goes to the configured base.
		if page.Paging.Next == "" || page.Paging.Cursors.After == "" {
			return all, nil
		}
		q.Set("after", page.Paging.Cursors.After)
	}
	return nil, fmt.Errorf("graph api: %s/phone_numbers lists more than %d pages", waba, maxPhoneNumberPages)
}

// get reads path (below the version, escaped by the caller) with query and
// token into out; an error answer of the Graph API is an *Error.
func (c *Client) get(ctx context.Context, path string, query url.Values, token string, out any) error {
	u := c.base + "/" + c.version + "/" + path + "?" + query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL is ours and holds no token, so the error may be shown.
		return fmt.Errorf("graph api: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error Error }
		if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
			e.Error.Message = http.StatusText(resp.StatusCode)
		}
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("graph api: %w", err)
	}
	return nil
}
