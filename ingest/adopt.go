package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Adopter moves unrouted webhooks into their owners' histories once they
// have owners: webhooks whose routing was deferred while PostgreSQL was
// slow or away, and webhooks for numbers that were connected after them.
//
// It finds them in the webhook log (the inbox projection of the unrouted
// subject), reads each from the stream, routes it again (a webhook that came
// to a tenant's own endpoint only to that tenant, and only once its
// signature checks out when it could not be checked on arrival), and
// publishes the owned parts to their tenants' subjects with their original
// received time and a Wam-Adopted-From header. Parts that still have no
// owner are published to the unrouted subject as a new, smaller webhook.
// Projecting a copy marks the original adopted, so it leaves the unrouted
// list, and a rebuild of the read models gives the same marks. A copy is
// published once per original and tenant (its Nats-Msg-Id), and logged once
// if two adopters raced past the duplicate window; applying a webhook twice
// changes no read model anyway.
type Adopter struct {
	q       *db.Queries
	js      jetstream.JetStream
	pub     Publisher
	router  *Router
	secrets *Secrets
	log     *slog.Logger
	opts    AdopterOptions

	nudge chan struct{}

	mu sync.Mutex
	// inflight are originals adopted by this process whose copies the
	// projector has not applied yet: original seq → last copy's seq.
	inflight map[uint64]uint64
}

// AdopterOptions tune an Adopter.
type AdopterOptions struct {
	// Checkpoint is the inbox projector's checkpoint: copies at or below it
	// have been applied. Required.
	Checkpoint func(ctx context.Context) (uint64, error)
	// Interval is how often the webhook log is looked through without being
	// nudged; default 5s, and every second for 30 s after a nudge.
	Interval time.Duration
	// Timeout bounds one pass; default 30s.
	Timeout time.Duration
}

// NewAdopter returns an Adopter. router and secrets are those of the
// Receiver, so that adoption and receiving share their caches.
func NewAdopter(q *db.Queries, js jetstream.JetStream, pub Publisher, router *Router, secrets *Secrets, logger *slog.Logger, o AdopterOptions) *Adopter {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Adopter{q: q, js: js, pub: pub, router: router, secrets: secrets, log: logger.With("worker", "adopter"),
		opts: o, nudge: make(chan struct{}, 1), inflight: map[uint64]uint64{}}
}

// Nudge asks for a pass soon: a number was connected, or routing works
// again. It never blocks.
func (a *Adopter) Nudge() {
	select {
	case a.nudge <- struct{}{}:
	default:
	}
}

// eagerFor is how long passes come every second after a nudge: the
// webhooks deferred during an outage reach the webhook log only once the
// projector has caught up.
const eagerFor = 30 * time.Second

// Run adopts until ctx ends.
func (a *Adopter) Run(ctx context.Context) {
	var eagerUntil time.Time
	for {
		if n, err := a.Pass(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("adoption pass failed; will try again", "err", err)
		} else if n > 0 {
			a.log.Info("adopted unrouted webhooks", "webhooks", n)
		}
		wait := a.opts.Interval
		if time.Now().Before(eagerUntil) {
			wait = min(wait, time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.nudge:
			eagerUntil = time.Now().Add(eagerFor)
		case <-t.C:
		}
		t.Stop()
	}
}

// adoptBatch is how many webhooks one query of a pass looks at.
const adoptBatch = 500

// Pass adopts every webhook adoptable now and returns how many it adopted.
func (a *Adopter) Pass(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	cp, err := a.opts.Checkpoint(ctx)
	if err != nil {
		return 0, fmt.Errorf("inbox checkpoint: %w", err)
	}
	a.mu.Lock()
	for orig, copySeq := range a.inflight {
		if copySeq <= cp {
			delete(a.inflight, orig)
		}
	}
	a.mu.Unlock()
	stream, err := a.js.Stream(ctx, streams.StreamName)
	if err != nil {
		return 0, fmt.Errorf("stream: %w", err)
	}
	adopted := 0
	for after := int64(0); ; {
		rows, err := a.q.AdoptableWebhooks(ctx, db.AdoptableWebhooksParams{After: after, Lim: adoptBatch})
		if err != nil {
			return adopted, fmt.Errorf("adoptable webhooks: %w", err)
		}
		for _, row := range rows {
			after = row.Seq
			a.mu.Lock()
			_, busy := a.inflight[uint64(row.Seq)]
			a.mu.Unlock()
			if busy {
				continue
			}
			ok, err := a.adopt(ctx, stream, row)
			if err != nil {
				return adopted, fmt.Errorf("adopt webhook %d: %w", row.Seq, err)
			}
			if ok {
				adopted++
			}
		}
		if len(rows) < adoptBatch {
			return adopted, nil
		}
	}
}

// adopt publishes the owned parts of the unrouted webhook of row, and the
// rest as a new unrouted one; false when none is owned (after all).
func (a *Adopter) adopt(ctx context.Context, stream jetstream.Stream, row db.AdoptableWebhooksRow) (bool, error) {
	seq := uint64(row.Seq)
	msg, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, a.refuse(ctx, row.Seq, "no longer in the stream")
	}
	if err != nil {
		return false, fmt.Errorf("read from the stream: %w", err)
	}
	only := msg.Header.Get(streams.HeaderRoutingTenant)
	if row.Unverified {
		ok, err := a.signed(ctx, msg, only)
		if err != nil || !ok {
			return false, err
		}
	}
	events, err := route(ctx, a.router, msg.Data, only, true)
	if err != nil {
		return false, err
	}
	owned := false
	for _, e := range events {
		owned = owned || e.Tenant != streams.Unrouted
	}
	if !owned {
		// Its owner went away between the query and now.
		return false, nil
	}
	at, err := time.Parse(time.RFC3339Nano, msg.Header.Get(streams.HeaderOccurredAt))
	if err != nil {
		at = msg.Time
	}
	for _, e := range events {
		e.Type = streams.TypeWebhookMeta
		e.OccurredAt = at
		e.RequestID = msg.Header.Get(streams.HeaderRequestID)
		e.Actor = "system"
		e.MsgID = fmt.Sprintf("adopt-%d-%s", seq, e.Tenant)
		if e.Header == nil {
			e.Header = nats.Header{}
		}
		e.Header.Set(streams.HeaderAdoptedFrom, strconv.FormatUint(seq, 10))
		copySeq, err := a.pub.Publish(ctx, e)
		if err != nil {
			return false, fmt.Errorf("publish: %w", err)
		}
		a.mu.Lock()
		a.inflight[seq] = max(a.inflight[seq], copySeq)
		a.mu.Unlock()
	}
	a.log.Debug("adopted webhook", "seq", seq, "parts", len(events))
	return true, nil
}

// signed checks the signature kept on a webhook that came to tenant only's
// own endpoint while its app secret could not be read; a webhook it does
// not sign is refused for good.
func (a *Adopter) signed(ctx context.Context, msg *jetstream.RawStreamMsg, only string) (bool, error) {
	tenant, err := uuid.Parse(only)
	if err != nil {
		return false, a.refuse(ctx, int64(msg.Sequence), "its signature cannot be checked: no tenant")
	}
	s, err := a.secrets.Get(ctx, tenant)
	if err != nil {
		return false, err
	}
	if !ValidSignature(msg.Header.Get(streams.HeaderSignature), msg.Data, s.AppSecrets) {
		a.log.Warn("unrouted webhook refused: its signature does not match the tenant's app secret", "seq", msg.Sequence, "tenant_id", only)
		return false, a.refuse(ctx, int64(msg.Sequence), "the signature does not match the tenant's app secret")
	}
	return true, nil
}

func (a *Adopter) refuse(ctx context.Context, seq int64, reason string) error {
	if err := a.q.RefuseWebhook(ctx, db.RefuseWebhookParams{Seq: seq, Reason: reason}); err != nil {
		return fmt.Errorf("refuse: %w", err)
	}
	return nil
}
