package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/meta"
)

// mediaMessage is a message as the API shows it, with its file.
type mediaMessage struct {
	ID      string `json:"id"`
	Wamid   string `json:"wamid"`
	Type    string `json:"type"`
	Content struct {
		SHA256   string `json:"sha256"`
		MimeType string `json:"mime_type"`
	} `json:"content"`
	Media *struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		MimeType string `json:"mime_type"`
		Size     int64  `json:"size"`
		Error    string `json:"error"`
	} `json:"media"`
}

// inbound is the rig's inbound message of Meta's wamid, once projected.
func (r *sendRig) inbound(t testing.TB, wamid string) (mediaMessage, bool) {
	t.Helper()
	var page struct{ Data []mediaMessage }
	if code, out := r.call(t, http.MethodGet, "/api/messages?direction=inbound&limit=100", "", nil); code == http.StatusOK {
		_ = json.Unmarshal(out, &page)
	}
	for _, m := range page.Data {
		if m.Wamid == wamid {
			return m, true
		}
	}
	return mediaMessage{}, false
}

// mediaSettled waits until the file of message wamid is stored or failed.
func (r *sendRig) mediaSettled(t testing.TB, wamid string) mediaMessage {
	t.Helper()
	var m mediaMessage
	await.Until(t, 60*time.Second, "the file of "+wamid+" stored or failed", func() bool {
		var ok bool
		m, ok = r.inbound(t, wamid)
		return ok && m.Media != nil && m.Media.Status != "pending"
	})
	return m
}

// getMedia fetches a file with key, optionally a Range of it.
func (r *sendRig) getMedia(t testing.TB, key, id, rng string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.base+"/api/media/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// otherTenant makes another tenant and returns its API key.
func (r *sendRig) otherTenant(t testing.TB) string {
	t.Helper()
	var k struct {
		APIKey string `json:"api_key"`
	}
	out := mustRun(t, r.env, "tenant", "create", "--name", "Other")
	if err := json.Unmarshal([]byte(lastLine(out)), &k); err != nil || k.APIKey == "" {
		t.Fatalf("tenant create printed %q", out)
	}
	return k.APIKey
}

// restart stops wam serve and starts it again on the same port (the
// simulator's webhooks go there).
func (r *sendRig) restart(t testing.TB, between func()) {
	t.Helper()
	if err := r.stop(); err != nil {
		t.Fatalf("stop serve: %v", err)
	}
	if between != nil {
		between()
	}
	u, _ := url.Parse(r.base)
	r.base, r.stop = startServe(t, r.env, "--port", u.Port())
}

// graphFaults breaks the simulator's media answers on purpose: failLookups
// media lookups (GET /{media-id}) answer 500 before they work again, and
// while corrupt is set downloads deliver their bytes with one changed.
type graphFaults struct {
	failLookups atomic.Int32
	corrupt     atomic.Bool
	lookups     atomic.Int32 // media lookups answered, failed or not
}

func (f *graphFaults) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
		switch {
		case req.Method == http.MethodGet && len(parts) == 2 && strings.HasPrefix(parts[0], "v") && parts[1] != simPNID && parts[1] != simPNID2:
			f.lookups.Add(1)
			if f.failLookups.Add(-1) >= 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = io.WriteString(w, `{"error":{"message":"Simulated failure of a media lookup","type":"OAuthException","code":131016}}`)
				return
			}
		case strings.HasPrefix(req.URL.Path, "/whatsapp_business/attachments") && f.corrupt.Load():
			w = &corrupting{ResponseWriter: w}
		}
		next.ServeHTTP(w, req)
	})
}

// corrupting changes the first byte of a body.
type corrupting struct {
	http.ResponseWriter
	done bool
}

func (c *corrupting) Write(b []byte) (int, error) {
	if !c.done && len(b) > 0 {
		c.done = true
		b = append([]byte{b[0] ^ 0xff}, b[1:]...)
	}
	return c.ResponseWriter.Write(b)
}

const simPNID2 = "300300301"

// TestInboundMediaEndToEnd: a customer's photo and voice note are
// downloaded as soon as their webhooks are projected, the photo after two
// failed lookups (each attempt asks Meta for a fresh URL), and checked
// against the webhook's SHA-256; they are served to their tenant, whole
// or by ranges, and another tenant gets 404.
func TestInboundMediaEndToEnd(t *testing.T) {
	t.Parallel()
	var faults graphFaults
	r := newSendRigVia(t, meta.SimOptions{}, faults.wrap)
	faults.failLookups.Store(2)
	ctx := context.Background()
	photo, err := r.sim.CustomerSends(ctx, simPNID, "16505551234", "Kerry", meta.CustomerImage)
	if err != nil {
		t.Fatal(err)
	}
	voice, err := r.sim.CustomerSends(ctx, simPNID, "16505551234", "Kerry", meta.CustomerVoice)
	if err != nil {
		t.Fatal(err)
	}
	other := r.otherTenant(t)
	for _, wamid := range []string{photo, voice} {
		m := r.mediaSettled(t, wamid)
		if m.Media.Status != "stored" || m.Media.Size == 0 || m.Media.MimeType != m.Content.MimeType {
			t.Fatalf("%s: media %+v, want stored", m.Type, m.Media)
		}
		resp, body := r.getMedia(t, r.apiKey, m.Media.ID, "")
		sum := sha256.Sum256(body)
		if resp.StatusCode != http.StatusOK || int64(len(body)) != m.Media.Size || base64.StdEncoding.EncodeToString(sum[:]) != m.Content.SHA256 {
			t.Errorf("%s: GET %d, %d bytes, sha256 %x, want the webhook's %s", m.Type, resp.StatusCode, len(body), sum, m.Content.SHA256)
		}
		if ct := resp.Header.Get("Content-Type"); ct != m.Content.MimeType {
			t.Errorf("%s: Content-Type %q, want %q", m.Type, ct, m.Content.MimeType)
		}
		resp, part := r.getMedia(t, r.apiKey, m.Media.ID, "bytes=100-199")
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[100:200]) ||
			resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(body)) {
			t.Errorf("%s: Range: %d, %d bytes, Content-Range %q", m.Type, resp.StatusCode, len(part), resp.Header.Get("Content-Range"))
		}
		if resp, _ := r.getMedia(t, other, m.Media.ID, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: another tenant: %d, want 404", m.Type, resp.StatusCode)
		}
	}
	if st := r.sim.Stats(); st.Media.Downloaded != 2 || faults.lookups.Load() != 4 {
		t.Errorf("downloads %d (want one per file), media lookups %d (want 2 failed, then one per file)", st.Media.Downloaded, faults.lookups.Load())
	}
}

// TestInboundMediaSHA256Mismatch: a download whose bytes are not the ones
// the webhook announced is recorded failed at once, not stored, and not
// tried again.
func TestInboundMediaSHA256Mismatch(t *testing.T) {
	t.Parallel()
	var faults graphFaults
	r := newSendRigVia(t, meta.SimOptions{}, faults.wrap)
	faults.corrupt.Store(true)
	wamid, err := r.sim.CustomerSends(context.Background(), simPNID, "16505551234", "Kerry", meta.CustomerImage)
	if err != nil {
		t.Fatal(err)
	}
	m := r.mediaSettled(t, wamid)
	if m.Media.Status != "failed" || !strings.Contains(m.Media.Error, "SHA-256") {
		t.Fatalf("media %+v, want failed for its SHA-256", m.Media)
	}
	if resp, _ := r.getMedia(t, r.apiKey, m.Media.ID, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET the failed file: %d, want 404", resp.StatusCode)
	}
	if st := r.sim.Stats(); st.Media.Downloaded != 1 {
		t.Errorf("%d downloads, want 1", st.Media.Downloaded)
	}
}

// TestInboundMediaSurvivesRestartAndRebuild: a download still failing
// when wam stops is done after it starts again (the queue is in
// PostgreSQL); after a rebuild of the read models the file is stored
// again without being downloaded again.
func TestInboundMediaSurvivesRestartAndRebuild(t *testing.T) {
	t.Parallel()
	var faults graphFaults
	r := newSendRigVia(t, meta.SimOptions{}, faults.wrap)
	faults.failLookups.Store(1 << 30)
	wamid, err := r.sim.CustomerSends(context.Background(), simPNID, "16505551234", "Kerry", meta.CustomerImage)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), r.env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	attempts := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var n int
		_ = pool.QueryRow(ctx, `SELECT coalesce(max(attempts), 0) FROM media`).Scan(&n)
		return n
	}
	await.Until(t, 30*time.Second, "a failed attempt", func() bool { return attempts() >= 1 })
	if m, _ := r.inbound(t, wamid); m.Media == nil || m.Media.Status != "pending" {
		t.Fatalf("media %+v, want pending while Meta fails", m.Media)
	}
	r.restart(t, func() { faults.failLookups.Store(0) })
	if m := r.mediaSettled(t, wamid); m.Media.Status != "stored" {
		t.Fatalf("after the restart: media %+v, want stored", m.Media)
	}
	downloads := r.sim.Stats().Media.Downloaded

	// A rebuild: the read models dropped, the projector replays the
	// stream from the start.
	r.restart(t, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, `TRUNCATE messages, media; UPDATE projector_checkpoints SET last_seq = 0 WHERE name = 'inbox'`); err != nil {
			t.Fatal(err)
		}
	})
	if m := r.mediaSettled(t, wamid); m.Media.Status != "stored" {
		t.Fatalf("after the rebuild: media %+v, want stored", m.Media)
	}
	if got := r.sim.Stats().Media.Downloaded; got != downloads {
		t.Errorf("the rebuild downloaded again: %d downloads, had %d", got, downloads)
	}
}

// upload posts a file to POST /api/media and returns its id.
func (r *sendRig) upload(t testing.TB, contentType, filename string, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
	h.Set("Content-Type", contentType)
	w, _ := mw.CreatePart(h)
	_, _ = w.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, r.base+"/api/media", &buf)
	req.Header.Set("Authorization", "Bearer "+r.apiKey)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f struct{ ID string }
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(out, &f) != nil {
		t.Fatalf("upload: %d %s", resp.StatusCode, out)
	}
	return f.ID
}

// TestSendUploadedImage: an image uploaded to wam and sent by its id
// reaches the customer, uploaded to Meta once per sending number: a second
// send from the number reuses Meta's id, a send from another number
// uploads it there.
func TestSendUploadedImage(t *testing.T) {
	t.Parallel()
	o := meta.SimOptions{SentAfter: 20 * time.Millisecond, DeliveredAfter: 20 * time.Millisecond, ReadAfter: 20 * time.Millisecond}
	r := newSendRig(t, o)
	r.sim.AddNumber(simWABA, simPNID2, "+1 555-030-0301", "Acme", simToken)
	if code, body := r.call(t, http.MethodPost, "/api/waba/credentials", "", map[string]any{
		"phone_number_id": simPNID2, "display_phone_number": "+15550300301", "waba_id": simWABA, "access_token": simToken,
	}); code != http.StatusCreated {
		t.Fatalf("connect the second number: %d %s", code, body)
	}
	r.customer(t, "16505551234", "A photo of it?")
	if _, err := r.sim.CustomerWrites(context.Background(), simPNID2, "16505551234", "Kerry", "And here?"); err != nil {
		t.Fatal(err)
	}
	photo := append([]byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"), bytes.Repeat([]byte("blue"), 20000)...)
	id := r.upload(t, "image/jpeg", "blue.jpg", photo)
	// sendRead sends the image from number pnid and waits until the
	// customer has read it.
	sendRead := func(pnid string) {
		var m sentMsg
		body := fmt.Sprintf(`{"to":"16505551234","phone_number_id":%q,"type":"image","image":{"id":%q,"caption":"in blue"}}`, pnid, id)
		await.Until(t, 30*time.Second, "a send from "+pnid+" taken", func() bool {
			code, out := r.call(t, http.MethodPost, "/api/messages", "", body)
			return code == http.StatusAccepted && json.Unmarshal(out, &m) == nil
		})
		await.Until(t, 60*time.Second, "the image from "+pnid+" read", func() bool {
			got := r.message(t, m.ID)
			if got.Status == "failed" {
				t.Fatalf("the image from %s failed: %+v", pnid, got.Error)
			}
			return got.Status == "read"
		})
	}
	sendRead(simPNID)
	sendRead(simPNID)
	if n := r.sim.Stats().Media.Uploaded; n != 1 {
		t.Errorf("two sends from one number uploaded %d times, want once", n)
	}
	sendRead(simPNID2)
	if n := r.sim.Stats().Media.Uploaded; n != 2 {
		t.Errorf("uploads after a send from a second number: %d, want 2", n)
	}
}
