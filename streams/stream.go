package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamName is the one stream holding all of wam's events.
const StreamName = "WAM"

// DefaultDuplicateWindow is how long JetStream remembers Nats-Msg-Id values.
// It is deliberately short: Meta retries for days, so durable idempotency
// lives in the read models (unique per tenant and wamid), not here.
const DefaultDuplicateWindow = 2 * time.Minute

// StreamOptions configures the WAM stream.
type StreamOptions struct {
	DuplicateWindow time.Duration // 0: DefaultDuplicateWindow
	Replicas        int           // 0: 1
	Memory          bool          // memory storage, for benchmarks only
	// MaxAge is WAM_RETENTION: events older are deleted by JetStream. 0:
	// keep everything (the default); negative: keep what the stream has
	// (commands other than serve must not change it).
	MaxAge time.Duration
}

// EnsureStream creates the WAM stream or updates it to opts, and returns it.
func EnsureStream(ctx context.Context, js jetstream.JetStream, opts StreamOptions) (jetstream.Stream, error) {
	cfg := jetstream.StreamConfig{
		Name:        StreamName,
		Description: "wam events: raw Meta webhooks and commands, per tenant",
		Subjects:    StreamSubjects(),
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      opts.MaxAge, // 0: the stream is the source of truth, keep everything
		Duplicates:  opts.DuplicateWindow,
		Replicas:    opts.Replicas,
		MaxMsgSize:  8 << 20,
	}
	if cfg.Duplicates == 0 {
		cfg.Duplicates = DefaultDuplicateWindow
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if opts.Memory {
		cfg.Storage = jetstream.MemoryStorage
	}
	if opts.MaxAge < 0 {
		cfg.MaxAge = 0
		if s, err := js.Stream(ctx, StreamName); err == nil {
			cfg.MaxAge = s.CachedInfo().Config.MaxAge
		}
	}
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamNameInUse {
		s, err = js.Stream(ctx, StreamName)
	}
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", StreamName, err)
	}
	return s, nil
}
