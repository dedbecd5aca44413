package media

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
)

// Uploader is who uploads: a tenant's user or API key.
type Uploader struct {
	Tenant    uuid.UUID
	UserID    *uuid.UUID // nil: an API key
	Actor     string     // for the event envelope: user:<id>, api_key:<id>
	RequestID string
}

// Upload stores the file of form, a multipart/form-data body with the
// part `file` and optionally `type` (the message type it is for: image,
// audio, video, document, sticker), and records it (media.uploaded). The
// file streams into the object store; its MIME type (the part's, or
// sniffed when the part says none or application/octet-stream) and size
// must be what Meta takes for its message type (domain.CheckMedia).
//
// Errors: ErrInvalid naming the field (file, type); an
// *http.MaxBytesError when the body is over its bound; unavailable NATS.
func (s *Service) Upload(ctx context.Context, who Uploader, form *multipart.Reader) (Info, error) {
	var (
		declared domain.MessageType
		in       *Info
	)
	fail := func(err error) (Info, error) {
		if in != nil {
			s.deleteObject(who.Tenant, in.ID)
		}
		return Info{}, err
	}
	for {
		part, err := form.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(formError(err))
		}
		switch name := part.FormName(); name {
		case "type":
			b, err := io.ReadAll(io.LimitReader(part, 33))
			if err != nil {
				return fail(formError(err))
			}
			declared = domain.MessageType(strings.TrimSpace(string(b)))
			if !domain.IsMedia(declared) {
				return fail(domain.Errorf(domain.ErrInvalid, "type: one of image, audio, video, document, sticker"))
			}
			if in != nil && in.Type != declared {
				return fail(domain.Errorf(domain.ErrInvalid, "type: a %s file is sent as %s, not %s", in.MimeType, in.Type, declared))
			}
		case "file":
			if in != nil {
				return fail(domain.Errorf(domain.ErrInvalid, "file: one file per upload"))
			}
			got, err := s.storeUpload(ctx, who.Tenant, part, declared)
			if err != nil {
				return fail(err)
			}
			in = &got
		case "messaging_product": // Meta's form has it; nothing to say here
			_, _ = io.Copy(io.Discard, io.LimitReader(part, 64))
		default:
			return fail(domain.Errorf(domain.ErrInvalid, "%s: unknown field (the form has file and type)", domain.StorableText(name)))
		}
	}
	if in == nil {
		return Info{}, domain.Errorf(domain.ErrInvalid, "file: required")
	}
	now := s.opts.Now().UTC()
	body, _ := json.Marshal(domain.MediaUploaded{MediaID: in.ID, Type: in.Type, MimeType: in.MimeType, Filename: in.Filename,
		Size: in.Size, SHA256: in.SHA256, Animated: in.Animated, ActorUserID: who.UserID, At: now})
	if err := s.publish(ctx, who.Tenant, domain.EventMediaUploaded, "media-uploaded-"+in.ID.String(), who.Actor, who.RequestID, now, body); err != nil {
		return fail(&domain.Error{Code: domain.ErrUnavailable, Message: "the event store is unavailable; upload again later", Cause: err})
	}
	return *in, nil
}

// formError is a broken form as the caller sees it: over its bound (kept
// as it is, for a 413), or not multipart/form-data.
func formError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return err
	}
	return domain.Errorf(domain.ErrInvalid, "body: not a multipart/form-data body with the part file (%v)", err)
}

// errTooLarge ends an upload at its limit.
var errTooLarge = errors.New("file over its limit")

// storeUpload streams the file part into the object store under a new id,
// checking its type and size as it goes.
func (s *Service) storeUpload(ctx context.Context, tenant uuid.UUID, part *multipart.Part, declared domain.MessageType) (Info, error) {
	head := make([]byte, 512)
	n, err := io.ReadFull(part, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Info{}, formError(err)
	}
	head = head[:n]
	if n == 0 {
		return Info{}, domain.Errorf(domain.ErrInvalid, "file: empty")
	}
	mimeType := strings.TrimSpace(part.Header.Get("Content-Type"))
	sniffed := http.DetectContentType(head)
	if mimeType == "" || strings.HasPrefix(mimeType, "application/octet-stream") {
		mimeType = sniffed
	}
	t, base, ok := domain.MediaTypeOf(mimeType)
	switch {
	case !ok:
		return Info{}, domain.Errorf(domain.ErrInvalid, "file: %s files cannot be sent on WhatsApp (images: JPEG, PNG; video: MP4, 3GPP; audio: AAC, AMR, MP3, MP4, Ogg Opus; stickers: WebP; documents: text, PDF, Office)", domain.StorableText(cmp.Or(base, mimeType)))
	case declared != "" && declared != t:
		return Info{}, domain.Errorf(domain.ErrInvalid, "type: a %s file is sent as %s, not %s", base, t, declared)
	case strings.HasPrefix(base, "image/") && !strings.HasPrefix(sniffed, base):
		// Images are served inline: their bytes must be what they say.
		return Info{}, domain.Errorf(domain.ErrInvalid, "file: the content is not %s (it looks like %s)", base, sniffed)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Info{}, err
	}
	in := Info{ID: id, Type: t, MimeType: mimeType, Filename: cleanFilename(part.FileName()), Animated: t == domain.TypeSticker && domain.WebPAnimated(head)}
	limit := domain.MediaLimit(t, in.Animated)
	h := sha256.New()
	body := io.TeeReader(&capReader{r: io.MultiReader(bytes.NewReader(head), part), left: limit}, h)
	o, err := s.store.Put(ctx, in.objectMeta(tenant), body)
	var be *bodyError
	switch {
	case errors.Is(err, errTooLarge):
		return Info{}, domain.Errorf(domain.ErrInvalid, "file: %v", domain.CheckMedia(t, mimeType, limit+1, in.Animated))
	case errors.As(err, &be):
		return Info{}, formError(be.err) // the body broke off, or went over its bound
	case err != nil:
		return Info{}, fmt.Errorf("store the upload: %w", err)
	}
	in.Size, in.SHA256 = int64(o.Size), hex.EncodeToString(h.Sum(nil))
	return in, nil
}

// capReader reads at most left bytes, and fails with errTooLarge beyond;
// the body's own errors come as *bodyError, told apart from the object
// store's.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, errTooLarge
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = &bodyError{err}
	}
	return n, err
}

// bodyError is a failure to read the request's body.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "read the upload: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// cleanFilename is the last element of a client's file name, storable and
// bounded.
func cleanFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, domain.StorableText(name))
	if len(name) > domain.MaxFilename {
		name = name[:domain.MaxFilename]
	}
	return strings.ToValidUTF8(name, "")
}
