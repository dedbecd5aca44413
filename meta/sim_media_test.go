package meta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSimMediaLifecycle(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newSimEnv(t, SimOptions{Now: clock.Now})
	ctx := context.Background()
	data := bytes.Repeat([]byte("%PDF-1.7 wam "), 1000)
	id, err := e.client.UploadMedia(ctx, testNumber, testToken, "application/pdf", `in"voice.pdf`, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.client.Media(ctx, id, testToken)
	sum := sha256.Sum256(data)
	if err != nil || info.ID != id || info.MimeType != "application/pdf" || info.FileSize != int64(len(data)) || info.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("lookup: %+v, %v", info, err)
	}
	if !SHA256Matches(data, info.SHA256) || SHA256Matches([]byte("other"), info.SHA256) {
		t.Error("SHA256Matches does not check the hex hash")
	}
	if u, _ := url.Parse(info.URL); !strings.HasPrefix(info.URL, e.srv.URL+"/") || u.Query().Get("mid") != id {
		t.Errorf("media URL %s is not the simulator's", info.URL)
	}
	var got bytes.Buffer
	if n, err := e.client.DownloadMedia(ctx, info.URL, testToken, &got, 1<<20); err != nil || n != int64(len(data)) || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	if _, err := e.client.DownloadMedia(ctx, info.URL, testToken, &bytes.Buffer{}, 100); !errors.Is(err, ErrMediaTooLarge) {
		t.Errorf("download over the limit: %v", err)
	}
	get := func(u, token string) int {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(info.URL, ""); s != http.StatusUnauthorized {
		t.Errorf("download without the token: HTTP %d", s)
	}
	if s := get(strings.Replace(info.URL, "ext=", "ext=9", 1), testToken); s != http.StatusForbidden {
		t.Errorf("download with a longer life made up: HTTP %d", s)
	}
	clock.Advance(5 * time.Minute)
	if s := get(info.URL, testToken); s != http.StatusOK {
		t.Errorf("5 minutes on: HTTP %d", s)
	}
	clock.Advance(time.Second)
	if s := get(info.URL, testToken); s != http.StatusForbidden {
		t.Errorf("after 5 minutes the URL expires: HTTP %d", s)
	}
	if info, err = e.client.Media(ctx, id, testToken); err != nil {
		t.Fatal(err)
	}
	if s := get(info.URL, testToken); s != http.StatusOK {
		t.Errorf("a new lookup gives a new URL: HTTP %d", s)
	}
	if err := e.client.DeleteMedia(ctx, id, testToken); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Media(ctx, id, testToken); graphErr(t, err).Subcode != CodeUnsupportedOperation {
		t.Errorf("lookup after delete: %v", err)
	}
	if s := get(info.URL, testToken); s != http.StatusNotFound {
		t.Errorf("download after delete: HTTP %d", s)
	}
	st := e.sim.Stats().Media
	if st.Uploaded != 1 || st.Downloaded != 4 || st.Deleted != 1 {
		t.Errorf("media stats %+v", st)
	}
}

func TestSimMediaUploadRefused(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{})
	for _, tc := range []struct {
		name, mime string
		size       int
		code       int
	}{
		{"unsupported type", "application/x-msdownload", 10, CodeMediaUpload},
		{"image over 5 MB", "image/jpeg", 5<<20 + 1, CodeMediaUpload},
		{"sticker over 500 KB", "image/webp", 500<<10 + 1, CodeMediaUpload},
		{"empty file", "image/png", 0, CodeMediaUpload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.UploadMedia(context.Background(), testNumber, testToken, tc.mime, "f", bytes.NewReader(make([]byte, tc.size)))
			if ge := graphErr(t, err); ge.Code != tc.code || ge.Details == "" {
				t.Errorf("got %v, want %d", ge, tc.code)
			}
		})
	}
	// Media of another WABA may not be read.
	e.sim.AddNumber("other-waba", "888", "+1 555-000-0888", "Other", "EAAG-other")
	id, err := e.client.UploadMedia(context.Background(), "888", "EAAG-other", "image/png", "p.png", strings.NewReader("png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Media(context.Background(), id, testToken); graphErr(t, err).Subcode != CodeUnsupportedOperation {
		t.Errorf("another business's media: %v", err)
	}
	// A message naming media that does not exist is accepted, then fails.
	e.openWindow(t, testCustomer)
	r, err := e.send(t, msg("image", map[string]any{"id": "1234567890"}))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the failed status", func() bool { return len(e.hooks.statuses(r.MessageID)) == 1 })
	if e.sim.Stats().Failed["131053"] != 1 {
		t.Errorf("failed %v", e.sim.Stats().Failed)
	}
}

func TestClientSendsTokenOnlyToItsHosts(t *testing.T) {
	t.Parallel()
	c := NewClient("https://graph.facebook.com", "v23.0")
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://graph.facebook.com/whatsapp_business/attachments/?mid=1", true},
		{"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1", true},
		{"https://LOOKASIDE.fbsbx.com/x", true},
		{"http://lookaside.fbsbx.com/x", false}, // media hosts over HTTPS only
		{"https://evil.example/x", false},
		{"https://lookaside.fbsbx.com.evil.example/x", false},
		{"http://graph.facebook.com/x", false}, // not the base's scheme
	} {
		u, _ := url.Parse(tc.url)
		if got := c.mayGetToken(u); got != tc.ok {
			t.Errorf("%s: token sent %v, want %v", tc.url, got, tc.ok)
		}
	}
	if !NewClient("https://graph.facebook.com", "v23.0").WithMediaHosts("media.example:8443").mayGetToken(&url.URL{Scheme: "https", Host: "media.example:8443"}) {
		t.Error("a configured media host does not get the token")
	}
	_, err := c.DownloadMedia(context.Background(), "https://evil.example/x", "EAAG-secret", &bytes.Buffer{}, 10)
	if err == nil || strings.Contains(err.Error(), "EAAG-secret") {
		t.Errorf("download from another host: %v", err)
	}
}

func TestClientErrorsNeverShowTheToken(t *testing.T) {
	t.Parallel()
	const token = "EAAG-very-secret-token"
	// Something at the base that repeats what it was sent.
	srv := newEchoServer(t)
	c := NewClient(srv.URL, "v23.0")
	_, err := c.SendMessage(context.Background(), "1", token, []byte(`{}`))
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "[token]") {
		t.Errorf("error %v", err)
	}
}
