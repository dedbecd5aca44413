package media

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// MetaMediaID is the Meta media id to send tenant's file mediaID by from
// number phoneNumberID (sender.Media): uploaded there once (POST
// /{phone-number-id}/media with token) and reused while Meta keeps it.
// Concurrent sends of one file from one number share one upload.
//
// Errors: a *domain.Error for what sending again will not mend (no such
// file, Meta refused the file), which fails the message; others (Meta or
// NATS away) are worth another try.
func (s *Service) MetaMediaID(ctx context.Context, tenant uuid.UUID, phoneNumberID, token, mediaID string) (string, error) {
	id, err := uuid.Parse(mediaID)
	if err != nil {
		return "", domain.Errorf(domain.ErrInvalid, "media %q is not a file of wam", mediaID)
	}
	key := tenant.String() + "/" + id.String() + "/" + phoneNumberID
	v, err, _ := s.uploads.Do(key, func() (any, error) { return s.metaUpload(ctx, tenant, id, phoneNumberID, token) })
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func (s *Service) metaUpload(ctx context.Context, tenant, id uuid.UUID, pnid, token string) (string, error) {
	now := s.opts.Now()
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	prev, err := s.q.MetaUpload(qctx, db.MetaUploadParams{TenantID: tenant, MediaID: id, PhoneNumberID: pnid})
	cancel()
	switch {
	case err == nil && now.Add(24*time.Hour).Before(prev.ExpiresAt):
		return prev.MetaMediaID, nil
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return "", fmt.Errorf("read the uploads of media %s: %w", id, err)
	}
	in, _, err := s.info(ctx, tenant, id)
	if errors.Is(err, errNotStored) {
		return "", domain.Errorf(domain.ErrInvalid, "media %s is not stored", id)
	}
	if err != nil {
		return "", err
	}
	obj, err := s.store.Get(ctx, streams.MediaObject(tenant.String(), id.String()))
	if err != nil {
		return "", fmt.Errorf("read media %s: %w", id, err)
	}
	defer obj.Close()
	metaID, err := s.graph.UploadMedia(ctx, pnid, token, in.MimeType, cmp.Or(in.Filename, id.String()), obj)
	var ge *meta.Error
	if errors.As(err, &ge) && domain.ClassifySendError(ge.Code, ge.Status) == domain.SendPermanent {
		return "", &domain.Error{Code: domain.ErrInvalid, Message: "Meta refused the media file: " + ge.Message, Cause: err}
	}
	if err != nil {
		return "", fmt.Errorf("upload media %s to number %s: %w", id, pnid, err)
	}
	qctx, cancel = context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.q.SaveMetaUpload(qctx, db.SaveMetaUploadParams{TenantID: tenant, MediaID: id, PhoneNumberID: pnid,
		MetaMediaID: metaID, UploadedAt: now, ExpiresAt: now.Add(s.opts.MetaUploadLife)}); err != nil {
		// Sent by this id all the same; the next send uploads again.
		s.log.Warn("record an upload to Meta", "media_id", id, "err", err)
	}
	s.log.Info("media uploaded to Meta", "media_id", id, "phone_number_id", pnid)
	return metaID, nil
}
