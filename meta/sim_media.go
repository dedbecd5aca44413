package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// simMedia is a media object: uploaded by the business or sent by a
// customer.
type simMedia struct {
	id, number, waba string
	mime, filename   string
	data             []byte
	sum              [sha256.Size]byte
	expires          time.Time // Meta keeps uploads 30 days, customers' media 7
}

const (
	uploadedMediaLife = 30 * 24 * time.Hour
	inboundMediaLife  = 7 * 24 * time.Hour
	// mediaURLLife is how long a URL from GET /{media-id} works.
	mediaURLLife = 5 * time.Minute
	// mediaDownloadPath is where the simulator serves media, as Meta's
	// lookaside.fbsbx.com does.
	mediaDownloadPath = "whatsapp_business/attachments"
)

// mediaLimits are the largest files Meta takes, by MIME type (without
// parameters). Stickers may be 500 KB when animated, 100 KB otherwise;
// the simulator cannot tell and allows 500 KB.
var mediaLimits = map[string]int64{
	"image/jpeg": 5 << 20, "image/png": 5 << 20, "image/webp": 500 << 10,
	"audio/aac": 16 << 20, "audio/amr": 16 << 20, "audio/mpeg": 16 << 20, "audio/mp4": 16 << 20, "audio/ogg": 16 << 20,
	"video/mp4": 16 << 20, "video/3gpp": 16 << 20,
	"text/plain": 100 << 20, "application/pdf": 100 << 20, "application/msword": 100 << 20,
	"application/vnd.ms-excel": 100 << 20, "application/vnd.ms-powerpoint": 100 << 20,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   100 << 20,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         100 << 20,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 << 20,
}

// uploadMedia answers POST /{phone-number-id}/media, a multipart form of
// messaging_product, type and file.
func (s *Simulator) uploadMedia(w http.ResponseWriter, r *http.Request, pnid, token string) {
	s.mu.Lock()
	n, e := s.number(pnid, token, http.MethodPost)
	s.mu.Unlock()
	if e != nil {
		s.reject(e).write(w)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 100<<20+1<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.reject(metaErr(CodeMediaUpload, "The file is larger than 100 MB")).write(w)
			return
		}
		s.reject(errParam("The request must be multipart/form-data with messaging_product, type and file")).write(w)
		return
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	if r.FormValue("messaging_product") != "whatsapp" {
		s.reject(errParam("Param messaging_product must be \"whatsapp\"")).write(w)
		return
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		s.reject(errParam("Param file is required")).write(w)
		return
	}
	defer f.Close()
	typ := r.FormValue("type")
	if typ == "" {
		typ = fh.Header.Get("Content-Type")
	}
	base, _, _ := mime.ParseMediaType(typ)
	limit, ok := mediaLimits[base]
	if !ok {
		s.reject(metaErr(CodeMediaUpload, fmt.Sprintf("Param type %q is not a media type WhatsApp supports", typ))).write(w)
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		s.reject(metaErr(CodeMediaUpload, "The file could not be read")).write(w)
		return
	}
	if int64(len(data)) > limit {
		s.reject(metaErr(CodeMediaUpload, fmt.Sprintf("A %s file may be at most %d bytes; this one is larger", base, limit))).write(w)
		return
	}
	if len(data) == 0 {
		s.reject(metaErr(CodeMediaUpload, "The file is empty")).write(w)
		return
	}
	s.mu.Lock()
	id := s.storeMedia(n, typ, fh.Filename, data, uploadedMediaLife)
	s.stats.mediaUploaded++
	s.mu.Unlock()
	writeJSON(w, map[string]string{"id": id})
}

// storeMedia keeps data as a new media object of number n; s.mu held.
func (s *Simulator) storeMedia(n *simNumber, mimeType, filename string, data []byte, life time.Duration) string {
	m := &simMedia{id: s.numericID(), number: n.ID, waba: n.waba, mime: mimeType, filename: filename,
		data: data, sum: sha256.Sum256(data), expires: s.now().Add(life)}
	s.media[m.id] = m
	return m.id
}

// mediaObject finds media id for a request with token, which must reach
// the WABA of the media's number; s.mu held.
func (s *Simulator) mediaObject(id, token, method string) (*simMedia, *simError) {
	if token == "" || !s.knowsToken(token) {
		return nil, errInvalidToken()
	}
	m := s.media[id]
	if m == nil || !s.now().Before(m.expires) || !s.reachesWABA(token, m.waba) {
		return nil, errUnsupported(method, id)
	}
	return m, nil
}

// mediaUsable reports whether media id may be sent by a number of waba at
// now; s.mu held.
func (s *Simulator) mediaUsable(id, waba string, now time.Time) bool {
	m := s.media[id]
	return m != nil && m.waba == waba && now.Before(m.expires)
}

// mediaInfo answers GET /{media-id}: a URL that works for 5 minutes with
// the token, and the file's type, hash and size.
func (s *Simulator) mediaInfo(w http.ResponseWriter, r *http.Request, id, token string) {
	s.mu.Lock()
	m, e := s.mediaObject(id, token, http.MethodGet)
	var expires time.Time
	if e == nil {
		if p := r.URL.Query().Get("phone_number_id"); p != "" && p != m.number {
			e = errParam("Param phone_number_id: the media does not belong to phone number %s", p)
		}
		expires = s.now().Add(mediaURLLife)
	}
	s.mu.Unlock()
	if e != nil {
		s.reject(e).write(w)
		return
	}
	ext := strconv.FormatInt(expires.Unix(), 10)
	q := url.Values{"mid": {m.id}, "ext": {ext}, "hash": {s.mediaSignature(m.id, ext)}}
	writeJSON(w, map[string]any{
		"messaging_product": "whatsapp",
		"url":               s.publicURL(r) + "/" + mediaDownloadPath + "/?" + q.Encode(),
		"mime_type":         m.mime,
		"sha256":            hex.EncodeToString(m.sum[:]),
		"file_size":         len(m.data),
		"id":                m.id,
	})
}

// mediaSignature signs a media URL's id and expiry, so that a URL cannot be
// made to live longer.
func (s *Simulator) mediaSignature(mid, ext string) string {
	key := make([]byte, 8)
	binary.BigEndian.PutUint64(key, s.key)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(mid + "|" + ext))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}

// downloadMedia serves a media URL: with a token that reaches the media's
// WABA, before the URL expires.
func (s *Simulator) downloadMedia(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	mid, ext := q.Get("mid"), q.Get("ext")
	if !hmac.Equal([]byte(q.Get("hash")), []byte(s.mediaSignature(mid, ext))) {
		http.Error(w, "URL signature mismatch", http.StatusForbidden)
		return
	}
	expiry, _ := strconv.ParseInt(ext, 10, 64)
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	m, e := s.mediaObject(mid, token, http.MethodGet)
	expired := s.now().Unix() > expiry
	if e == nil && !expired {
		s.stats.mediaDownloaded++
	}
	s.mu.Unlock()
	switch {
	case e != nil && e.code == CodeAccessToken:
		e.write(w)
	case e != nil:
		http.NotFound(w, r)
	case expired:
		http.Error(w, "URL signature expired", http.StatusForbidden)
	default:
		w.Header().Set("Content-Type", m.mime)
		w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
		_, _ = w.Write(m.data)
	}
}

// deleteMedia answers DELETE /{media-id}.
func (s *Simulator) deleteMedia(w http.ResponseWriter, id, token string) {
	s.mu.Lock()
	_, e := s.mediaObject(id, token, http.MethodDelete)
	if e == nil {
		delete(s.media, id)
		s.stats.mediaDeleted++
	}
	s.mu.Unlock()
	if e != nil {
		s.reject(e).write(w)
		return
	}
	writeJSON(w, map[string]bool{"success": true})
}
