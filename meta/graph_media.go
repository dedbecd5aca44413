package meta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// MediaInfo is what GET /{media-id} tells of a media object. URL lives
// about 5 minutes and needs the access token (DownloadMedia).
type MediaInfo struct {
	ID       string
	URL      string
	MimeType string
	SHA256   string // as Meta gives it: hex here; webhooks carry base64 (see SHA256Matches)
	FileSize int64
}

// UploadMedia uploads data (of mimeType, named filename) for phone number
// phoneNumberID and returns the media id to send it by. The upload is
// streamed, not held in memory.
func (c *Client) UploadMedia(ctx context.Context, phoneNumberID, token, mimeType, filename string, data io.Reader) (string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeUpload(mw, mimeType, filename, data))
	}()
	defer pr.Close() // ends the writer when the request stops reading early
	var answer struct {
		ID string `json:"id"`
	}
	err := c.call(ctx, http.MethodPost, url.PathEscape(phoneNumberID)+"/media", nil, token, mw.FormDataContentType(), pr, &answer)
	if err != nil {
		return "", err
	}
	if answer.ID == "" {
		return "", fmt.Errorf("graph api: %s/media answered without a media id", phoneNumberID)
	}
	return answer.ID, nil
}

// writeUpload writes the form Meta's media upload takes: messaging_product,
// type and the file itself.
func writeUpload(mw *multipart.Writer, mimeType, filename string, data io.Reader) error {
	if err := mw.WriteField("messaging_product", "whatsapp"); err != nil {
		return err
	}
	if err := mw.WriteField("type", mimeType); err != nil {
		return err
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, filename)))
	h.Set("Content-Type", mimeType)
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, data); err != nil {
		return err
	}
	return mw.Close()
}

// Media looks up media object mediaID: its temporary URL, type, hash and
// size.
func (c *Client) Media(ctx context.Context, mediaID, token string) (MediaInfo, error) {
	var answer struct {
		ID       string    `json:"id"`
		URL      string    `json:"url"`
		MimeType string    `json:"mime_type"`
		SHA256   string    `json:"sha256"`
		FileSize flexInt64 `json:"file_size"`
	}
	if err := c.get(ctx, url.PathEscape(mediaID), nil, token, &answer); err != nil {
		return MediaInfo{}, err
	}
	return MediaInfo{ID: answer.ID, URL: answer.URL, MimeType: answer.MimeType, SHA256: answer.SHA256, FileSize: int64(answer.FileSize)}, nil
}

// DeleteMedia deletes media object mediaID from Meta's storage.
func (c *Client) DeleteMedia(ctx context.Context, mediaID, token string) error {
	var answer struct {
		Success bool `json:"success"`
	}
	if err := c.call(ctx, http.MethodDelete, url.PathEscape(mediaID), nil, token, "", nil, &answer); err != nil {
		return err
	}
	if !answer.Success {
		return fmt.Errorf("graph api: deleting media %s did not succeed", mediaID)
	}
	return nil
}

// ErrMediaTooLarge is returned by DownloadMedia for a file over its limit.
var ErrMediaTooLarge = errors.New("graph api: media larger than allowed")

// DownloadMedia writes the file at mediaURL (from Media or a webhook) to w,
// at most maxBytes of it, and returns how many bytes it wrote. The bearer
// token goes with the request only when mediaURL's host is the base URL's
// (the simulator serves its media there) or, over HTTPS, one of the media
// hosts (WithMediaHosts; by default Meta's lookaside.fbsbx.com); any other
// URL is refused without a request. A redirect elsewhere does not carry
// the token (net/http drops Authorization on redirects to other domains).
// On an error w may hold part of the file.
func (c *Client) DownloadMedia(ctx context.Context, mediaURL, token string, w io.Writer, maxBytes int64) (int64, error) {
	u, err := url.Parse(mediaURL)
	if err != nil || u.Host == "" {
		return 0, errors.New("graph api: media URL is not an absolute URL")
	}
	if !c.mayGetToken(u) {
		return 0, fmt.Errorf("graph api: media URL host %q is neither the Graph API's nor a media host; the token is not sent there", u.Host)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("graph api: %w", err)
	}
	resp, err := c.do(req, token)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
			return 0, answerError(resp.StatusCode, b, token)
		}
		return 0, &Error{Status: resp.StatusCode, Message: "media download: " + http.StatusText(resp.StatusCode)}
	}
	if resp.ContentLength > maxBytes {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrMediaTooLarge, resp.ContentLength, maxBytes)
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, maxBytes))
	if err != nil {
		return n, fmt.Errorf("graph api: media download: %w", redact(err, token))
	}
	if extra, _ := io.ReadAtLeast(resp.Body, make([]byte, 1), 1); extra > 0 {
		return n, fmt.Errorf("%w: more than %d bytes", ErrMediaTooLarge, maxBytes)
	}
	return n, nil
}

// mayGetToken reports whether u may be sent the access token: the base
// URL's scheme and host, or HTTPS to a media host.
func (c *Client) mayGetToken(u *url.URL) bool {
	host := strings.ToLower(u.Host)
	if u.Scheme == c.baseURL.Scheme && host == strings.ToLower(c.baseURL.Host) {
		return true
	}
	return u.Scheme == "https" && c.mediaHosts[host]
}

// SHA256Matches reports whether claimed, a SHA-256 as Meta writes it (hex in
// media lookups, standard base64 in webhooks), is the hash of data.
func SHA256Matches(data []byte, claimed string) bool {
	sum := sha256.Sum256(data)
	if b, err := hex.DecodeString(claimed); err == nil && len(b) == len(sum) {
		return bytes.Equal(b, sum[:])
	}
	b, err := base64.StdEncoding.DecodeString(claimed)
	return err == nil && bytes.Equal(b, sum[:])
}

// flexInt64 reads a JSON number or a string of digits: Meta's answers give
// file_size as a number, its own OpenAPI description says a string.
type flexInt64 int64

func (f *flexInt64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("file_size %s is not a whole number", b)
	}
	*f = flexInt64(n)
	return nil
}
