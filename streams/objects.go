package streams

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// MediaBucket is the JetStream Object Store bucket holding every media
// file: customers' files as downloaded and the tenants' uploads. Objects
// are named MediaObject(tenant, id).
const MediaBucket = "wam_media"

// MediaObject is the name of a tenant's media file id in MediaBucket: the
// tenant leads, so one tenant's name never finds another's file.
func MediaObject(tenant, id string) string { return tenant + "/" + id }

// EnsureMediaStore creates the media bucket (file storage, kept for ever,
// replicas as given; 0 is 1) or updates it, and returns it.
func EnsureMediaStore(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.ObjectStore, error) {
	if replicas == 0 {
		replicas = 1
	}
	os, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      MediaBucket,
		Description: "wam media files: customers' downloads and tenants' uploads, by <tenant>/<media id>",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure object store %s: %w", MediaBucket, err)
	}
	return os, nil
}
