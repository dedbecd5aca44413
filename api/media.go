package api

import (
	"cmp"
	"context"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/media"
)

// Media is the application layer of media files (media.Service).
type Media interface {
	Upload(ctx context.Context, who media.Uploader, form *multipart.Reader) (media.Info, error)
	Open(ctx context.Context, tenant, id uuid.UUID) (*media.Object, error)
}

// MaxUploadBytes bounds the body of a media upload: the largest file Meta
// takes and room for the rest of the form.
const MaxUploadBytes = domain.MaxMediaBytes + 1<<20

func (s handlers) mediaService() (Media, error) {
	if s.cfg.Media == nil {
		return nil, domain.Errorf(domain.ErrUnavailable, "media files are not kept by this server")
	}
	return s.cfg.Media, nil
}

// UploadMedia stores a file to send (media.Service.Upload).
func (s handlers) UploadMedia(c echo.Context) error {
	m, err := s.mediaService()
	if err != nil {
		return err
	}
	form, err := c.Request().MultipartReader()
	if err != nil {
		return domain.Errorf(domain.ErrInvalid, "body: multipart/form-data with the part file expected")
	}
	mc := caller(c)
	in, err := m.Upload(c.Request().Context(), media.Uploader{Tenant: mc.Tenant, UserID: mc.UserID, Actor: mc.Actor, RequestID: mc.RequestID}, form)
	if err != nil {
		return err
	}
	out := apigen.MediaFile{Id: in.ID, Type: apigen.MediaFileType(in.Type), MimeType: in.MimeType, Size: in.Size,
		Sha256: in.SHA256, Status: apigen.MediaFileStatus(domain.MediaStatusStored)}
	if in.Filename != "" {
		out.Filename = &in.Filename
	}
	if in.Animated {
		out.Animated = &in.Animated
	}
	return c.JSON(http.StatusCreated, out)
}

// GetMedia serves one of the tenant's files, with Range requests.
func (s handlers) GetMedia(c echo.Context, id uuid.UUID) error {
	m, err := s.mediaService()
	if err != nil {
		return err
	}
	obj, err := m.Open(c.Request().Context(), principal(c).TenantID, id)
	if err != nil {
		return err
	}
	defer obj.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, cmp.Or(obj.MimeType, "application/octet-stream"))
	// Documents, and anything that is not plainly a picture or a sound
	// (a customer's file has the type Meta said), are attachments: whatever
	// they hold is not shown from wam's origin.
	disposition := "attachment"
	if obj.Type != domain.TypeDocument && inlineMIME(obj.MimeType) {
		disposition = "inline"
	}
	if obj.Filename != "" {
		if d := mime.FormatMediaType(disposition, map[string]string{"filename": obj.Filename}); d != "" {
			disposition = d
		}
	}
	h.Set("Content-Disposition", disposition)
	h.Set("Cache-Control", "private, max-age=86400")
	if obj.SHA256 != "" {
		h.Set("ETag", `"`+obj.SHA256+`"`)
	}
	http.ServeContent(c.Response(), c.Request(), "", obj.ModTime, obj)
	return nil
}

// inlineMIME reports whether files of mimeType may be shown inline.
func inlineMIME(mimeType string) bool {
	base, _, _ := mime.ParseMediaType(mimeType)
	return strings.HasPrefix(base, "image/") && base != "image/svg+xml" ||
		strings.HasPrefix(base, "audio/") || strings.HasPrefix(base, "video/")
}

// mediaOf is a message's file as the read model keeps it.
func mediaOf(raw []byte) *apigen.MessageMedia {
	if len(raw) == 0 {
		return nil
	}
	var m apigen.MessageMedia
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return &m
}
