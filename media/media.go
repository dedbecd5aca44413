// Package media keeps wam's media files: customers' images, voice notes,
// videos, documents and stickers, downloaded from Meta as soon as their
// webhook is projected, and files the tenants upload to send. The bytes
// live in the JetStream object store (streams.MediaBucket, one object per
// file named <tenant>/<media id>); the media read model (projected from
// webhooks and media.* events) says which are pending, stored or failed.
//
// The Service is the application layer of media for the API (Upload,
// Open), the rules of sending (Check, for messaging.Checks.Media), the
// sender (MetaMediaID, which uploads a file to a number once) and the
// download worker (Run).
package media

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/singleflight"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/numbers"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Graph is the part of Meta's Graph API media needs.
type Graph interface {
	Media(ctx context.Context, mediaID, token string) (meta.MediaInfo, error)
	DownloadMedia(ctx context.Context, mediaURL, token string, w io.Writer, maxBytes int64) (int64, error)
	UploadMedia(ctx context.Context, phoneNumberID, token, mimeType, filename string, data io.Reader) (string, error)
}

// Publisher appends events to the stream.
type Publisher interface {
	Publish(ctx context.Context, e streams.Event) (uint64, error)
}

// Options tune a Service; the zero value is the production setting.
type Options struct {
	// MaxAttempts is how many times a customer's file is tried before it
	// is recorded failed; default 10. A file that is not the one Meta
	// announced (SHA-256) or is too large fails at once.
	MaxAttempts int
	// RetryBase and RetryMax bound the backoff between attempts (full
	// jitter); defaults 500ms and 10m.
	RetryBase, RetryMax time.Duration
	// AttemptTimeout bounds one attempt: lookup, download and store;
	// default 5m.
	AttemptTimeout time.Duration
	// MaxDownloadBytes is the largest customer's file taken; default
	// domain.MaxMediaBytes (100 MB).
	MaxDownloadBytes int64
	// Workers is how many files are downloaded at once; default 4.
	Workers int
	// Poll is how often the downloader looks for work it was not told
	// about; default 5s. It is told of new files by the projector's live
	// notices on Live.
	Poll time.Duration
	// Live, when set, is the connection the projector's notices arrive on.
	Live *nats.Conn
	// MetaUploadLife is how long Meta keeps an uploaded file (30 days);
	// an upload is reused until a day before.
	MetaUploadLife time.Duration
	Logger         *slog.Logger
	Now            func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.RetryBase, 500*time.Millisecond)
	def(&o.RetryMax, 10*time.Minute)
	def(&o.AttemptTimeout, 5*time.Minute)
	def(&o.Poll, 5*time.Second)
	def(&o.MetaUploadLife, 30*24*time.Hour)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.MaxDownloadBytes <= 0 {
		o.MaxDownloadBytes = domain.MaxMediaBytes
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Service is wam's media. See the package doc.
type Service struct {
	pool    *pgxpool.Pool
	q       *db.Queries
	store   jetstream.ObjectStore
	pub     Publisher
	graph   Graph
	creds   *numbers.Credentials
	opts    Options
	log     *slog.Logger
	uploads singleflight.Group // uploads to Meta under way, by tenant, file and number
}

// New returns the Service over the object store (streams.EnsureMediaStore),
// reading and writing the read model in pool, publishing to pub, calling
// Meta through graph with the numbers' tokens, decrypted with keys.
func New(pool *pgxpool.Pool, store jetstream.ObjectStore, pub Publisher, graph Graph, keys *auth.KeyRing, o Options) *Service {
	o = o.withDefaults()
	q := db.New(pool)
	return &Service{pool: pool, q: q, store: store, pub: pub, graph: graph, creds: numbers.NewCredentials(q, keys),
		opts: o, log: o.Logger.With("worker", "media")}
}

// Info is what wam knows of a stored file.
type Info struct {
	ID       uuid.UUID
	Type     domain.MessageType // the message type it is sent as
	MimeType string
	Filename string
	Size     int64
	SHA256   string // hex
	Animated bool   // of a sticker
}

// Object metadata keys: what a file is, kept with its bytes, so that the
// object store alone can serve and send it.
const (
	metaType     = "type"
	metaMIME     = "mime_type"
	metaFilename = "filename"
	metaAnimated = "animated"
)

func (i Info) objectMeta(tenant uuid.UUID) jetstream.ObjectMeta {
	m := map[string]string{metaType: string(i.Type), metaMIME: i.MimeType}
	if i.Filename != "" {
		m[metaFilename] = i.Filename
	}
	if i.Animated {
		m[metaAnimated] = "true"
	}
	return jetstream.ObjectMeta{Name: streams.MediaObject(tenant.String(), i.ID.String()), Metadata: m}
}

func infoOf(id uuid.UUID, o *jetstream.ObjectInfo) Info {
	m := o.Metadata
	animated, _ := strconv.ParseBool(m[metaAnimated])
	// The object store hashes every object with SHA-256 as it stores it.
	sum, _ := jetstream.DecodeObjectDigest(o.Digest)
	return Info{ID: id, Type: domain.MessageType(m[metaType]), MimeType: m[metaMIME], Filename: m[metaFilename],
		Size: int64(o.Size), SHA256: hex.EncodeToString(sum), Animated: animated}
}

// errNotStored: no such file of the tenant in the object store.
var errNotStored = errors.New("media file not stored")

// info is tenant's stored file id.
func (s *Service) info(ctx context.Context, tenant, id uuid.UUID) (Info, *jetstream.ObjectInfo, error) {
	o, err := s.store.GetInfo(ctx, streams.MediaObject(tenant.String(), id.String()))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return Info{}, nil, errNotStored
	}
	if err != nil {
		return Info{}, nil, fmt.Errorf("media %s: %w", id, err)
	}
	return infoOf(id, o), o, nil
}

// Check is the rule of sending a message of type t that names wam media
// file mediaID (messaging.Checks.Media): the file is the tenant's, stored,
// and of a type and size Meta takes in such a message. The error names
// the field, as <type>.id.
func (s *Service) Check(ctx context.Context, _ *db.Queries, tenant uuid.UUID, mediaID string, t domain.MessageType) error {
	field := string(t) + ".id"
	id, err := uuid.Parse(mediaID)
	if err != nil {
		return domain.Errorf(domain.ErrInvalid, "%s: not the id of a media file of wam (upload it with POST /api/media)", field)
	}
	in, _, err := s.info(ctx, tenant, id)
	if errors.Is(err, errNotStored) {
		return domain.Errorf(domain.ErrInvalid, "%s: no stored media file of this tenant has this id", field)
	}
	if err != nil {
		return err
	}
	if err := domain.CheckMedia(t, in.MimeType, in.Size, in.Animated); err != nil {
		return domain.Errorf(domain.ErrInvalid, "%s: %v", field, err)
	}
	return nil
}

// publish appends one media event of tenant; msgID deduplicates it.
func (s *Service) publish(ctx context.Context, tenant uuid.UUID, typ, msgID, actor, requestID string, at time.Time, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.pub.Publish(ctx, streams.Event{Tenant: tenant.String(), Type: typ, OccurredAt: at, Actor: actor,
		RequestID: requestID, MsgID: msgID, Data: body})
	if err != nil {
		return fmt.Errorf("publish %s: %w", typ, err)
	}
	return nil
}

// deleteObject removes a file that is not to be kept, within a deadline
// of its own (the request's may be what ended).
func (s *Service) deleteObject(tenant, id uuid.UUID) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.store.Delete(ctx, streams.MediaObject(tenant.String(), id.String())); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		s.log.Warn("delete a media file not kept", "media_id", id, "err", err)
	}
}
