package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls Meta's Graph API. Every call takes a context and the client
// has a 15 s timeout of its own, so no call waits forever.
//
// An access token goes to the configured base URL only: calls build their
// URLs from it, next pages are asked for by cursor rather than by the URL
// Meta offers, and DownloadMedia sends the token to a media URL only when
// its host is the base's or one of the media hosts (see WithMediaHosts).
// Errors never contain a token.
type Client struct {
	base       string // e.g. https://graph.facebook.com
	baseURL    *url.URL
	version    string // e.g. v23.0
	http       *http.Client
	mediaHosts map[string]bool
}

// DefaultMediaHosts are the hosts besides the Graph API's own that serve
// media URLs of the Cloud API and get the access token: Meta's lookaside
// CDN.
var DefaultMediaHosts = []string{"lookaside.fbsbx.com"}

// NewClient returns a Client for the Graph API at base (META_API_BASE_URL)
// and version (META_API_VERSION), with DefaultMediaHosts.
func NewClient(base, version string) *Client {
	base = strings.TrimRight(base, "/")
	u, err := url.Parse(base)
	if err != nil {
		u = &url.URL{} // matches no media URL; every call fails on the bad base anyway
	}
	// Keep-alive connections for as many calls as a sender makes at once:
	// net/http keeps two per host by default, and every other call paid
	// a new connection (and, to Meta, a TLS handshake).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 512, 512
	c := &Client{base: base, baseURL: u, version: version, http: &http.Client{Timeout: 15 * time.Second, Transport: tr}}
	return c.WithMediaHosts(DefaultMediaHosts...)
}

// WithMediaHosts replaces the hosts (names, with a port when not the
// default) besides the base URL's to which DownloadMedia may send the access
// token, over HTTPS only, and returns c. Call it before the client is used.
func (c *Client) WithMediaHosts(hosts ...string) *Client {
	c.mediaHosts = make(map[string]bool, len(hosts))
	for _, h := range hosts {
		c.mediaHosts[strings.ToLower(h)] = true
	}
	return c
}

// Error is an error answer of the Graph API:
// {"error": {message, type, code, error_subcode, error_data: {details},
// fbtrace_id}}. Branch on Code (and Subcode, Details), never on Message.
type Error struct {
	Status    int    `json:"-"`
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"error_subcode"`
	Details   string `json:"-"`
	FBTraceID string `json:"fbtrace_id"`
}

// UnmarshalJSON reads Meta's error object, whose details sit in
// error_data.details.
func (e *Error) UnmarshalJSON(b []byte) error {
	type plain Error
	var v struct {
		plain
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Error(v.plain)
	e.Details = v.ErrorData.Details
	return nil
}

func (e *Error) Error() string {
	s := fmt.Sprintf("graph api: %s (code %d", e.Message, e.Code)
	if e.Subcode != 0 {
		s += fmt.Sprintf(", subcode %d", e.Subcode)
	}
	s += fmt.Sprintf(", HTTP %d)", e.Status)
	if e.Details != "" {
		s += ": " + e.Details
	}
	return s
}

// Error codes of the Cloud API that wam branches on (see META.md).
const (
	CodeInvalidParameter     = 100
	CodeAccessToken          = 190
	CodeThroughput           = 130429
	CodeUnknown              = 131000
	CodeServiceUnavailable   = 131016
	CodeUndeliverable        = 131026
	CodeReengagement         = 131047 // outside the 24-hour customer-service window
	CodeMediaUpload          = 131053
	CodePairRate             = 131056
	CodeTemplateParamCount   = 132000
	CodeTemplateMissing      = 132001
	CodeTemplatePaused       = 132015
	CodeTemplateDisabled     = 132016
	CodeUnsupportedOperation = 33 // subcode of 100: no such object, or no permission
)

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
	return allPages[PhoneNumber](ctx, c, url.PathEscape(waba)+"/phone_numbers",
		url.Values{"fields": {"id,display_phone_number,verified_name"}}, token, maxPhoneNumberPages)
}

// allPages reads every page of a Graph API listing at path, at most
// maxPages of them. A page without "next" is the last one, cursors or not.
// The next page is asked for with the cursor rather than by following that
// URL, so that the token only ever goes to the configured base.
func allPages[T any](ctx context.Context, c *Client, path string, q url.Values, token string, maxPages int) ([]T, error) {
	var all []T
	for range maxPages {
		var page struct {
			Data   []T `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := c.get(ctx, path, q, token, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if page.Paging.Next == "" || page.Paging.Cursors.After == "" {
			return all, nil
		}
		q.Set("after", page.Paging.Cursors.After)
	}
	return nil, fmt.Errorf("graph api: %s lists more than %d pages", path, maxPages)
}

// get reads path (below the version, escaped by the caller) with query and
// token into out; an error answer of the Graph API is an *Error.
func (c *Client) get(ctx context.Context, path string, query url.Values, token string, out any) error {
	return c.call(ctx, http.MethodGet, path, query, token, "", nil, out)
}

// postJSON sends body (JSON) to path and reads the answer into out.
func (c *Client) postJSON(ctx context.Context, path, token string, body []byte, out any) error {
	return c.call(ctx, http.MethodPost, path, nil, token, "application/json", bytes.NewReader(body), out)
}

// call makes one request to the Graph API below the configured version:
// path is escaped by the caller, body (of contentType) may be nil. A
// non-200 answer is an *Error.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, token, contentType string, body io.Reader, out any) error {
	u := c.base + "/" + c.version + "/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("graph api: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.do(req, token)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("graph api: %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return answerError(resp.StatusCode, b, token)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("graph api: %s %s: %w", method, path, err)
	}
	return nil
}

// do sends req with the bearer token. The request's URL is ours and holds
// no token, so a transport error may be shown as it is.
func (c *Client) do(req *http.Request, token string) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("graph api: %w", redact(err, token))
	}
	return resp, nil
}

// answerError makes an *Error of a non-200 answer. Meta does not repeat
// tokens in its errors, but whatever answers at the base URL might: a token
// found in the text is cut out.
func answerError(status int, body []byte, token string) error {
	var e struct{ Error Error }
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		e.Error = Error{Message: http.StatusText(status)}
	}
	e.Error.Status = status
	if token != "" {
		e.Error.Message = strings.ReplaceAll(e.Error.Message, token, "[token]")
		e.Error.Details = strings.ReplaceAll(e.Error.Details, token, "[token]")
	}
	return &e.Error
}

// redact replaces token in an error's text.
func redact(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), token, "[token]"))
}
