package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// formPart is one part of a multipart/form-data upload.
type formPart struct {
	name, filename, contentType string
	body                        io.Reader
}

func fileOf(contentType, filename string, data []byte) formPart {
	return formPart{"file", filename, contentType, bytes.NewReader(data)}
}

func field(name, value string) formPart { return formPart{name: name, body: strings.NewReader(value)} }

// upload posts parts as multipart/form-data to POST /api/media, streamed
// (not built in memory first).
func (e *env) upload(key string, parts ...formPart) *httptest.ResponseRecorder {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, p := range parts {
			h := textproto.MIMEHeader{}
			disp := fmt.Sprintf(`form-data; name=%q`, p.name)
			if p.filename != "" {
				disp += fmt.Sprintf(`; filename=%q`, p.filename)
			}
			h.Set("Content-Disposition", disp)
			if p.contentType != "" {
				h.Set("Content-Type", p.contentType)
			}
			w, err := mw.CreatePart(h)
			if err == nil {
				_, err = io.Copy(w, p.body)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	req := httptest.NewRequest(http.MethodPost, "/api/media", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+key)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	_, _ = io.Copy(io.Discard, pr) // a refused upload leaves the writer waiting
	return rec
}

type mediaFile struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	MimeType string `json:"mime_type"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Filename string `json:"filename"`
	Animated bool   `json:"animated"`
}

func mustUploaded(t *testing.T, rec *httptest.ResponseRecorder) mediaFile {
	t.Helper()
	var f mediaFile
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &f) != nil || f.ID == "" {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	return f
}

// Files whose first bytes say what they are, of n bytes in all.
func jpegOf(n int) []byte { return padded([]byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"), n) }
func pngOf(n int) []byte  { return padded([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), n) }
func pdfOf(n int) []byte  { return padded([]byte("%PDF-1.7\n"), n) }

// webpOf is a WebP file with an extended header, animated or not.
func webpOf(n int, animated bool) []byte {
	flags := byte(0)
	if animated {
		flags = 0x02
	}
	return padded(append([]byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00"), flags), n)
}

func padded(head []byte, n int) []byte {
	b := make([]byte, n)
	copy(b, head)
	for i := len(head); i < n; i++ {
		b[i] = byte(i * 7)
	}
	return b
}

// zeros reads n zero bytes without holding them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// TestMediaUploadLimits: an upload must be a file Meta takes, within
// Meta's limit for its type; each refusal is a 400 naming the field, and
// nothing refused is kept.
func TestMediaUploadLimits(t *testing.T) {
	e := newEnv(t)
	tn := e.mustTenant("100", "111")
	for name, tc := range map[string]struct {
		parts []formPart
		field string
		says  string
	}{
		"image over 5 MB":           {[]formPart{fileOf("image/jpeg", "big.jpg", jpegOf(5<<20+1))}, "file", "5 MB"},
		"video over 16 MB":          {[]formPart{{"file", "v.mp4", "video/mp4", &zeros{16<<20 + 1}}}, "file", "16 MB"},
		"still sticker over 100 KB": {[]formPart{fileOf("image/webp", "s.webp", webpOf(100<<10+1, false))}, "file", "100 KB"},
		"animated sticker over 500 KB": {[]formPart{fileOf("image/webp", "s.webp", webpOf(500<<10+1, true))}, "file",
			"500 KB"},
		"document over 100 MB":      {[]formPart{{"file", "d.pdf", "application/pdf", io.MultiReader(strings.NewReader("%PDF-1.7\n"), &zeros{100 << 20})}}, "file", "100 MB"},
		"a type Meta does not take": {[]formPart{fileOf("application/zip", "a.zip", []byte("PK\x03\x04 zipped"))}, "file", "application/zip"},
		"audio/ogg not Opus":        {[]formPart{fileOf("audio/ogg; codecs=vorbis", "a.ogg", []byte("OggS vorbis"))}, "file", "audio/ogg"},
		"unknown bytes":             {[]formPart{fileOf("", "x", []byte{0, 1, 2, 3, 4, 5})}, "file", "application/octet-stream"},
		"an image that is not one":  {[]formPart{fileOf("image/png", "x.png", []byte("<html><script>alert(1)</script>"))}, "file", "not image/png"},
		"empty file":                {[]formPart{fileOf("image/png", "x.png", nil)}, "file", "empty"},
		"no file":                   {[]formPart{field("type", "image")}, "file", "required"},
		"type not a media type":     {[]formPart{field("type", "text"), fileOf("image/png", "x.png", pngOf(100))}, "type", "one of"},
		"type before the file":      {[]formPart{field("type", "video"), fileOf("image/png", "x.png", pngOf(100))}, "type", "sent as image"},
		"type after the file":       {[]formPart{fileOf("image/png", "x.png", pngOf(100)), field("type", "document")}, "type", "sent as image"},
		"two files":                 {[]formPart{fileOf("image/png", "x.png", pngOf(100)), fileOf("image/png", "y.png", pngOf(100))}, "file", "one file"},
		"unknown field":             {[]formPart{field("colour", "blue"), fileOf("image/png", "x.png", pngOf(100))}, "colour", "unknown"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := e.upload(tn.APIKey, tc.parts...)
			if d := problemDetail(t, rec); rec.Code != http.StatusBadRequest || !strings.HasPrefix(d, tc.field+":") || !strings.Contains(d, tc.says) {
				t.Errorf("%d %q, want 400 naming %s and saying %q", rec.Code, d, tc.field, tc.says)
			}
		})
	}
	if n := e.objects(t); n != 0 {
		t.Errorf("%d refused files kept in the object store", n)
	}

	// Within the limits: stored, with what wam knows of them.
	for _, tc := range []struct {
		part formPart
		want mediaFile
	}{
		{fileOf("image/jpeg", "photo.jpg", jpegOf(5<<20)), mediaFile{Type: "image", MimeType: "image/jpeg", Size: 5 << 20, Filename: "photo.jpg"}},
		{fileOf("image/webp", "s.webp", webpOf(500<<10, true)), mediaFile{Type: "sticker", MimeType: "image/webp", Size: 500 << 10, Animated: true, Filename: "s.webp"}},
		{fileOf("", `C:\docs\spec.pdf`, pdfOf(1000)), mediaFile{Type: "document", MimeType: "application/pdf", Size: 1000, Filename: "spec.pdf"}},
		{fileOf("audio/ogg; codecs=opus", "v.ogg", []byte("OggS opus")), mediaFile{Type: "audio", MimeType: "audio/ogg; codecs=opus", Size: 9, Filename: "v.ogg"}},
	} {
		f := mustUploaded(t, e.upload(tn.APIKey, tc.part))
		data, _ := io.ReadAll(fileBytes(tc.part))
		sum := sha256.Sum256(data)
		tc.want.ID, tc.want.SHA256 = f.ID, hex.EncodeToString(sum[:])
		if f != tc.want {
			t.Errorf("uploaded %+v, want %+v", f, tc.want)
		}
	}
}

// fileBytes is the body of a fileOf part again.
func fileBytes(p formPart) io.Reader {
	r := p.body.(*bytes.Reader)
	_, _ = r.Seek(0, io.SeekStart)
	return r
}

// TestMediaUploadBodyBounded: an upload's body is bounded at its own limit
// (the largest file and the form), a 413 beyond, and not held in memory.
func TestMediaUploadBodyBounded(t *testing.T) {
	e := newEnv(t)
	tn := e.mustTenant("100", "111")
	rec := e.upload(tn.APIKey, formPart{"messaging_product", "", "", &zeros{102 << 20}}, fileOf("image/png", "x.png", pngOf(100)))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("102 MiB form: %d %s", rec.Code, rec.Body)
	}
	// Not multipart at all.
	if rec := e.send(http.MethodPost, "/api/media", tn.APIKey, map[string]string{"file": "x"}); rec.Code != http.StatusBadRequest || !strings.HasPrefix(problemDetail(t, rec), "body:") {
		t.Errorf("JSON body: %d %s", rec.Code, rec.Body)
	}
}

// TestMediaServedToItsTenant: an upload is served to its tenant with its
// type, Range requests answered 206, documents as attachments; another
// tenant gets 404 for it.
func TestMediaServedToItsTenant(t *testing.T) {
	e := newEnv(t)
	tn, other := e.mustTenant("100", "111"), e.mustTenant("200", "222")
	data := pngOf(300 << 10)
	f := mustUploaded(t, e.upload(tn.APIKey, fileOf("image/png", "blue.png", data)))

	rec := e.get("/api/media/"+f.ID, tn.APIKey)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), data) || rec.Header().Get("Content-Type") != "image/png" ||
		rec.Header().Get("ETag") != `"`+f.SHA256+`"` || !strings.HasPrefix(rec.Header().Get("Content-Disposition"), "inline") {
		t.Errorf("GET: %d %d bytes, headers %v", rec.Code, rec.Body.Len(), rec.Header())
	}
	for _, rg := range []struct {
		header     string
		start, end int
	}{{"bytes=0-99", 0, 100}, {"bytes=200000-", 200000, len(data)}, {"bytes=-10", len(data) - 10, len(data)}, {"bytes=131070-131080", 131070, 131081}} {
		req := httptest.NewRequest(http.MethodGet, "/api/media/"+f.ID, nil)
		req.Header.Set("Authorization", "Bearer "+tn.APIKey)
		req.Header.Set("Range", rg.header)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		want := fmt.Sprintf("bytes %d-%d/%d", rg.start, rg.end-1, len(data))
		if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), data[rg.start:rg.end]) || rec.Header().Get("Content-Range") != want {
			t.Errorf("Range %s: %d %d bytes, Content-Range %q, want %q", rg.header, rec.Code, rec.Body.Len(), rec.Header().Get("Content-Range"), want)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/api/media/"+f.ID, nil)
	req.Header.Set("Authorization", "Bearer "+tn.APIKey)
	req.Header.Set("Range", "bytes=900000-")
	rec = httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("a range past the end: %d", rec.Code)
	}

	if rec := e.get("/api/media/"+f.ID, other.APIKey); rec.Code != http.StatusNotFound {
		t.Errorf("another tenant: %d %.200s", rec.Code, rec.Body)
	}
	if rec := e.get("/api/media/"+f.ID, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d", rec.Code)
	}

	doc := mustUploaded(t, e.upload(tn.APIKey, fileOf("application/pdf", "Prix été.pdf", pdfOf(2000))))
	rec = e.get("/api/media/"+doc.ID, tn.APIKey)
	if d := rec.Header().Get("Content-Disposition"); rec.Code != 200 || !strings.HasPrefix(d, "attachment;") || !strings.Contains(d, "filename*=utf-8''Prix%20%C3%A9t%C3%A9.pdf") {
		t.Errorf("document: %d, Content-Disposition %q", rec.Code, d)
	}
}

// TestSendChecksMedia: a message names a wam media file of its tenant, of
// a type it may carry; otherwise a 400 names the field.
func TestSendChecksMedia(t *testing.T) {
	e := newEnv(t)
	tn, other := e.mustTenant("100", "111"), e.mustTenant("200", "222")
	in := recentText("100", "111", "wamid.in.m", "16505551234")
	if rec := e.post(in, sign(in)); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	e.project(t)
	img := mustUploaded(t, e.upload(tn.APIKey, fileOf("image/png", "x.png", pngOf(100))))
	theirs := mustUploaded(t, e.upload(other.APIKey, fileOf("image/png", "x.png", pngOf(100))))
	to := `"to":"+16505551234"`
	for body, want := range map[string]string{
		`{` + to + `,"type":"image","image":{"id":"` + theirs.ID + `"}}`:    "image.id: no stored media",
		`{` + to + `,"type":"audio","audio":{"id":"` + img.ID + `"}}`:       "audio.id: a image/png file is sent as image",
		`{` + to + `,"type":"sticker","sticker":{"id":"4490709327614419"}}`: "sticker.id: not the id of a media file of wam",
	} {
		rec := e.sendMsg("/api/messages", tn.APIKey, "", body)
		if d := problemDetail(t, rec); rec.Code != http.StatusBadRequest || !strings.HasPrefix(d, want) {
			t.Errorf("%s: %d %q, want 400 %q", body, rec.Code, d, want)
		}
	}
	decodeSent(t, e.sendMsg("/api/messages", tn.APIKey, "", `{`+to+`,"type":"image","image":{"id":"`+img.ID+`","caption":"blue"}}`))
}

// objects counts the files in the media bucket.
func (e *env) objects(t *testing.T) int {
	t.Helper()
	list, err := e.store.List(context.Background())
	if err != nil && err != jetstream.ErrNoObjectsFound {
		t.Fatal(err)
	}
	return len(list)
}
