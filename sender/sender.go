// Package sender delivers send requests to Meta's Graph API: it consumes
// message.send_requested (and message.read_requested) events, keeps Meta's
// limits, records each attempt before it calls Meta and the outcome after,
// as events the inbox projector applies.
//
// No double sends: the attempt is recorded (message.attempted, and the
// sender's own state in a JetStream key-value bucket) before Meta is
// called. A request found attempted but without an outcome (the process
// died in between, or the call timed out after it was sent) waits for a
// status webhook naming the message, which settles it, for SettleWait before
// it is sent again.
//
// One sender is active at a time across processes (a lock in PostgreSQL,
// as for projectors); the others wait to take over. So the limits kept in
// memory hold for the whole installation.
package sender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/numbers"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Graph is the part of Meta's Graph API the sender calls.
type Graph interface {
	SendMessage(ctx context.Context, phoneNumberID, token string, body []byte) (meta.SendResult, error)
	MarkRead(ctx context.Context, phoneNumberID, token, wamid string, typing bool) error
}

// Media gives the Meta media id to send a wam media upload by, from a
// number (uploading it there first if needed).
type Media interface {
	MetaMediaID(ctx context.Context, tenant uuid.UUID, phoneNumberID, token, mediaID string) (string, error)
}

// Publisher appends events to the stream.
type Publisher interface {
	Publish(ctx context.Context, e streams.Event) (uint64, error)
}

// Options tune a Sender; the zero value is the production setting.
type Options struct {
	// SettleWait is how long an attempt without an outcome waits for a
	// status webhook to settle it before the message is sent again;
	// default 60s.
	SettleWait time.Duration
	// MaxInFlight bounds the calls to Meta at once; default 256.
	MaxInFlight int
	// PairInterval and PairBurst are Meta's pair rate: one message to a
	// recipient from a number every PairInterval after a burst of
	// PairBurst; defaults 6s and 45.
	PairInterval time.Duration
	PairBurst    int
	// RetryBase and RetryMax bound the backoff between retries; defaults
	// 500ms and 1m. Retries of Meta's "unknown"/"unavailable" errors stop
	// after BoundedRetries (default 5), of others after MaxRetries
	// (default 20); the message is then failed with the last error.
	RetryBase, RetryMax        time.Duration
	BoundedRetries, MaxRetries int
	// CallTimeout bounds one call to Meta; default 20s.
	CallTimeout time.Duration
	// TokenPoll is how often a held number looks for a new token; 5s.
	TokenPoll time.Duration
	Logger    *slog.Logger
	Now       func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SettleWait, time.Minute)
	def(&o.PairInterval, 6*time.Second)
	def(&o.RetryBase, 500*time.Millisecond)
	def(&o.RetryMax, time.Minute)
	def(&o.CallTimeout, 20*time.Second)
	def(&o.TokenPoll, 5*time.Second)
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 256
	}
	if o.PairBurst <= 0 {
		o.PairBurst = 45
	}
	if o.BoundedRetries <= 0 {
		o.BoundedRetries = 5
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Sender delivers send requests. See the package doc.
type Sender struct {
	pool   *pgxpool.Pool
	q      *db.Queries
	js     jetstream.JetStream
	pub    Publisher
	graph  Graph
	creds  *numbers.Credentials
	media  Media
	limits *Limits
	opts   Options
	log    *slog.Logger

	inflight chan struct{}

	mu    sync.Mutex
	lanes map[uuid.UUID]*lane // by conversation
	nums  map[string]*number  // by phone number id

	stats  Stats
	active atomic.Bool // this sender holds the lock and takes requests
}

// Stats are the sender's counters, for /metrics and the operators.
// Retries counts the retries scheduled after Meta refused a send for now
// (throughput, pair rate, unavailable) or could not be reached; Resent the
// sends made again after an attempt whose outcome never came.
type Stats struct {
	Accepted, Failed, Retries, Resent atomic.Int64
	Pending                           atomic.Int64 // requests received, not yet settled
}

// Counters are a Sender's Stats at one moment, and whether it is the active
// sender of the installation (the one holding the lock; the counters of
// one waiting to take over stay as its last session left them).
type Counters struct {
	Active                                     bool
	Accepted, Failed, Retries, Resent, Pending int64
}

// New returns a Sender. media may be nil (sends naming wam media uploads
// then fail).
func New(pool *pgxpool.Pool, js jetstream.JetStream, pub Publisher, graph Graph, keys *auth.KeyRing, media Media, o Options) *Sender {
	o = o.withDefaults()
	return &Sender{
		pool: pool, q: db.New(pool), js: js, pub: pub, graph: graph, creds: numbers.NewCredentials(db.New(pool), keys), media: media, opts: o,
		log:      o.Logger.With("worker", "sender"),
		limits:   NewLimits(1/o.PairInterval.Seconds(), o.PairBurst),
		inflight: make(chan struct{}, o.MaxInFlight),
		lanes:    map[uuid.UUID]*lane{},
		nums:     map[string]*number{},
	}
}

// Stats are the sender's counters.
func (s *Sender) Stats() *Stats { return &s.stats }

// Counters are the sender's counters now, since the process started.
func (s *Sender) Counters() Counters {
	return Counters{Active: s.active.Load(), Accepted: s.stats.Accepted.Load(), Failed: s.stats.Failed.Load(),
		Retries: s.stats.Retries.Load(), Resent: s.stats.Resent.Load(), Pending: s.stats.Pending.Load()}
}

// ConsumerName is the sender's durable JetStream consumer.
const ConsumerName = "sender"

// ackWait is how long a request taken by a sender that died waits before
// it is delivered again.
const ackWait = 20 * time.Second

// stateBucket is the key-value bucket of the sender's attempts.
const stateBucket = "wam_sender"

// Run delivers until ctx ends. It waits for the sender lock first.
func (s *Sender) Run(ctx context.Context) {
	wait := time.Second
	for ctx.Err() == nil {
		err := s.session(ctx)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("sender session ended; starting over", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (s *Sender) session(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = lock.Close(context.Background()) }()
	// Losing the lock's connection (PostgreSQL restarted) ends the session:
	// another sender may be active now.
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			err := lock.Ping(pctx)
			pcancel()
			if err != nil && ctx.Err() == nil {
				s.log.Warn("sender lock lost", "err", err)
				cancel()
				return
			}
		}
	}()
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	kv, err := s.js.CreateOrUpdateKeyValue(sctx, jetstream.KeyValueConfig{
		Bucket: stateBucket, Description: "the sender's attempts, by message id", History: 1,
		TTL: 7 * 24 * time.Hour, Storage: jetstream.FileStorage,
	})
	if err != nil {
		scancel()
		return fmt.Errorf("sender state bucket: %w", err)
	}
	cons, err := s.js.CreateOrUpdateConsumer(sctx, streams.StreamName, jetstream.ConsumerConfig{
		Durable:        ConsumerName,
		Description:    "send and read requests, for the sender",
		FilterSubjects: []string{streams.Subject("*", domain.EventSendRequested), streams.Subject("*", domain.EventReadRequested)},
		AckPolicy:      jetstream.AckExplicitPolicy,
		// A request a dead sender had taken is delivered again after this;
		// the live one keeps its own alive with InProgress (keepAlive).
		AckWait:       ackWait,
		MaxAckPending: 20000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	scancel()
	if err != nil {
		return fmt.Errorf("sender consumer: %w", err)
	}
	// The sender before this one may have sent up to its numbers' rates
	// in the last second, which this one's limits do not know of: wait
	// that second out first, and a little more for its last answers.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Second + 50*time.Millisecond):
	}
	s.log.Info("sender active")
	s.active.Store(true)
	defer s.active.Store(false)
	work := &session{Sender: s, kv: kv, ctx: ctx}
	cc, err := cons.Consume(work.dispatch, jetstream.PullMaxMessages(1000),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if ctx.Err() == nil {
				s.log.Warn("sender consume", "err", err)
			}
		}))
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	<-ctx.Done()
	cc.Stop()
	work.wg.Wait()
	return ctx.Err()
}

// lock takes the sender lock on a connection of its own, waiting while
// another sender holds it.
func (s *Sender) lock(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect for the sender lock: %w", err)
	}
	h := fnv.New32a()
	h.Write([]byte("sender"))
	k1, k2 := int32(0x77616d00), int32(h.Sum32()&0x7fffffff)
	q := db.New(conn)
	ok, err := q.TryLockProjector(ctx, db.TryLockProjectorParams{Key1: k1, Key2: k2})
	if err == nil && !ok {
		s.log.Info("another sender is active; waiting to take over")
		err = q.LockProjector(ctx, db.LockProjectorParams{Key1: k1, Key2: k2})
	}
	if err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("take the sender lock: %w", err)
	}
	return conn, nil
}

// session is one active run of the sender.
type session struct {
	*Sender
	kv  jetstream.KeyValue
	ctx context.Context
	wg  sync.WaitGroup
}

// lane sends the requests of one conversation one after the other, in
// stream order.
type lane struct {
	queue []jetstream.Msg
}

// dispatch queues m in its conversation's lane, starting the lane when it
// is idle.
func (w *session) dispatch(m jetstream.Msg) {
	var head struct {
		ConversationID uuid.UUID `json:"conversation_id"`
	}
	_ = json.Unmarshal(m.Data(), &head) // a malformed request goes to the lane of uuid.Nil, and fails there
	w.mu.Lock()
	l, running := w.lanes[head.ConversationID]
	if !running {
		l = &lane{}
		w.lanes[head.ConversationID] = l
	}
	l.queue = append(l.queue, m)
	w.mu.Unlock()
	if !running {
		w.wg.Go(func() { w.runLane(head.ConversationID, l) })
	}
}

func (w *session) runLane(conv uuid.UUID, l *lane) {
	for {
		w.mu.Lock()
		if len(l.queue) == 0 || w.ctx.Err() != nil {
			// Requests not begun go back at once, to the sender that takes
			// over, rather than after the ack wait.
			for _, m := range l.queue {
				_ = m.Nak()
			}
			delete(w.lanes, conv)
			w.mu.Unlock()
			return
		}
		m := l.queue[0]
		l.queue = l.queue[1:]
		w.mu.Unlock()
		w.handle(m)
	}
}

// handle delivers one request; it acks it once it is settled, and leaves
// it unacknowledged (redelivered later) when the session ends first.
func (w *session) handle(m jetstream.Msg) {
	stop := w.keepAlive(m)
	defer stop()
	tenant, typ, _ := streams.ParseSubject(m.Subject())
	var err error
	switch typ {
	case domain.EventSendRequested:
		err = w.send(tenant, m)
	case domain.EventReadRequested:
		err = w.markRead(m)
	}
	if err != nil {
		if w.ctx.Err() != nil {
			_ = m.Nak() // the session ends: to the next sender at once
			return
		}
		w.log.Error("request not settled; it will be delivered again", "subject", m.Subject(), "err", err)
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	if err := m.Ack(); err != nil {
		w.log.Warn("ack", "err", err) // redelivered, and found settled
	}
}

// keepAlive tells JetStream m is being worked on while it waits (for a
// limit, a held number, a settling attempt), so that it is not delivered
// again meanwhile.
func (w *session) keepAlive(m jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = m.InProgress()
			}
		}
	}()
	return func() { close(done) }
}

// attemptState is what the sender remembers of a message between attempts.
type attemptState struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Done    bool      `json:"done"`
}

func (w *session) state(id uuid.UUID) (attemptState, error) {
	var st attemptState
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
	defer cancel()
	e, err := w.kv.Get(ctx, id.String())
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("sender state: %w", err)
	}
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return attemptState{}, nil // unreadable: as if never attempted, but see SettleWait below
	}
	return st, nil
}

func (w *session) putState(id uuid.UUID, st attemptState) error {
	b, _ := json.Marshal(st)
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
	defer cancel()
	if _, err := w.kv.Put(ctx, id.String(), b); err != nil {
		return fmt.Errorf("sender state: %w", err)
	}
	return nil
}

// send delivers one send request.
func (w *session) send(tenantText string, m jetstream.Msg) error {
	var req domain.SendRequested
	if err := json.Unmarshal(m.Data(), &req); err != nil || req.MessageID == uuid.Nil {
		w.log.Error("malformed send request dropped", "subject", m.Subject(), "err", err)
		return nil
	}
	tenant, err := uuid.Parse(tenantText)
	if err != nil {
		return nil
	}
	st, err := w.state(req.MessageID)
	if err != nil {
		return err
	}
	if st.Done {
		return nil // settled before; the ack was lost
	}
	w.stats.Pending.Add(1)
	defer w.stats.Pending.Add(-1)
	if st.Attempt > 0 {
		// Attempted without an outcome: Meta may have it.
		settled, err := w.settle(tenant, req, st)
		if settled || err != nil {
			return err
		}
		w.stats.Resent.Add(1)
	}
	retries := 0
	for {
		num, err := w.number(req.PhoneNumberID, tenant)
		if errors.Is(err, errNoNumber) {
			return w.fail(tenant, req, &domain.SendError{Code: 0, Title: "the number is not connected to wam"})
		}
		if err != nil {
			return err
		}
		if num.held.Load() {
			if err := w.sleep(w.opts.TokenPoll); err != nil {
				return err
			}
			w.forgetNumber(req.PhoneNumberID)
			continue
		}
		if err := w.limits.Wait(w.ctx, tenantText, num.perMinute, req.PhoneNumberID, num.perSecond, req.To); err != nil {
			return err
		}
		body, err := w.graphBody(tenant, req, num)
		if err != nil {
			var de *domain.Error
			if errors.As(err, &de) {
				return w.fail(tenant, req, &domain.SendError{Title: de.Message})
			}
			return err
		}
		st.Attempt++
		st.At = w.opts.Now().UTC()
		if err := w.putState(req.MessageID, st); err != nil {
			return err
		}
		if err := w.publishOutcome(tenant, domain.EventAttempted, fmt.Sprintf("attempt-%s-%d", req.MessageID, st.Attempt),
			domain.SendOutcome{MessageID: req.MessageID, ConversationID: req.ConversationID, Attempt: st.Attempt, At: st.At}); err != nil {
			return err
		}
		settle, err := w.limits.Depart(w.ctx, req.PhoneNumberID)
		if err != nil {
			return err
		}
		res, err := w.call(func(ctx context.Context) (meta.SendResult, error) {
			return w.graph.SendMessage(ctx, req.PhoneNumberID, num.token, body)
		})
		settle()
		if err == nil {
			return w.accept(tenant, req, res.MessageID, res.MessageStatus, res.WaID)
		}
		var ge *meta.Error
		if !errors.As(err, &ge) {
			if w.ctx.Err() != nil {
				return w.ctx.Err()
			}
			if !sent(err) {
				// It never reached Meta: try again.
				retries++
				if retries > w.opts.MaxRetries {
					return w.fail(tenant, req, &domain.SendError{Title: "Meta's Graph API could not be reached: " + err.Error()})
				}
				w.stats.Retries.Add(1)
				if err := w.sleep(w.backoff(retries)); err != nil {
					return err
				}
				continue
			}
			// It may have reached Meta (a timeout after sending): a status
			// webhook settles it, or it is sent again.
			w.log.Warn("send outcome unknown; waiting for a status", "message_id", req.MessageID, "err", err)
			settled, serr := w.settle(tenant, req, st)
			if settled || serr != nil {
				return serr
			}
			w.stats.Resent.Add(1)
			retries++
			continue
		}
		serr := &domain.SendError{Code: ge.Code, Title: ge.Message, Details: ge.Details, FBTraceID: ge.FBTraceID}
		retries++
		switch domain.ClassifySendError(ge.Code, ge.Status) {
		case domain.SendPermanent:
			return w.fail(tenant, req, serr)
		case domain.SendTokenInvalid:
			w.hold(req.PhoneNumberID, num, ge)
			retries = 0
			continue
		case domain.SendRetryBounded:
			if retries > w.opts.BoundedRetries {
				return w.fail(tenant, req, serr)
			}
		default:
			if retries > w.opts.MaxRetries {
				return w.fail(tenant, req, serr)
			}
		}
		wait := w.backoff(retries)
		if domain.ClassifySendError(ge.Code, ge.Status) == domain.SendPairRate {
			wait = min(time.Duration(1<<(2*min(retries, 6)))*time.Second, 10*time.Minute) // 4^n s
		}
		w.stats.Retries.Add(1)
		w.log.Info("send refused for now; retrying", "message_id", req.MessageID, "code", ge.Code, "retry_in", wait)
		if err := w.sleep(wait); err != nil {
			return err
		}
	}
}

// sent reports whether a failed call may have reached Meta: anything but a
// refused or failed connection may have.
func sent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return !strings.Contains(err.Error(), "connection refused")
}

// call runs fn within the call deadline and the bound on calls at once.
func (w *session) call(fn func(ctx context.Context) (meta.SendResult, error)) (meta.SendResult, error) {
	select {
	case w.inflight <- struct{}{}:
	case <-w.ctx.Done():
		return meta.SendResult{}, w.ctx.Err()
	}
	defer func() { <-w.inflight }()
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.CallTimeout)
	defer cancel()
	return fn(ctx)
}

// settle waits, up to SettleWait after the attempt, for the read model to
// show the message accepted (a status webhook naming it sets its wamid), and
// then records the acceptance. false: nothing came, send it again.
func (w *session) settle(tenant uuid.UUID, req domain.SendRequested, st attemptState) (bool, error) {
	deadline := st.At.Add(w.opts.SettleWait)
	for {
		ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
		row, err := w.q.SentState(ctx, db.SentStateParams{TenantID: tenant, ID: req.MessageID})
		cancel()
		switch {
		case err == nil && row.Wamid != "":
			return true, w.accept(tenant, req, row.Wamid, "", "")
		case err == nil && row.Status == string(domain.StatusFailed):
			return true, w.putState(req.MessageID, attemptState{Attempt: st.Attempt, At: st.At, Done: true})
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			w.log.Warn("read a message's state", "err", err)
		}
		if !w.opts.Now().Before(deadline) {
			return false, nil
		}
		if err := w.sleep(min(500*time.Millisecond, deadline.Sub(w.opts.Now()))); err != nil {
			return false, err
		}
	}
}

func (w *session) accept(tenant uuid.UUID, req domain.SendRequested, wamid, status, waID string) error {
	if err := w.publishOutcome(tenant, domain.EventAccepted, "accepted-"+req.MessageID.String(), domain.SendOutcome{
		MessageID: req.MessageID, ConversationID: req.ConversationID, WAMID: wamid, MessageStatus: status, WaID: waID, At: w.opts.Now().UTC(),
	}); err != nil {
		return err
	}
	w.stats.Accepted.Add(1)
	return w.putState(req.MessageID, attemptState{Done: true, At: w.opts.Now().UTC()})
}

func (w *session) fail(tenant uuid.UUID, req domain.SendRequested, e *domain.SendError) error {
	if err := w.publishOutcome(tenant, domain.EventFailed, "failed-"+req.MessageID.String(), domain.SendOutcome{
		MessageID: req.MessageID, ConversationID: req.ConversationID, Error: e, At: w.opts.Now().UTC(),
	}); err != nil {
		return err
	}
	w.stats.Failed.Add(1)
	w.log.Info("send failed", "message_id", req.MessageID, "code", e.Code, "title", e.Title)
	return w.putState(req.MessageID, attemptState{Done: true, At: w.opts.Now().UTC()})
}

func (w *session) publishOutcome(tenant uuid.UUID, typ, msgID string, o domain.SendOutcome) error {
	body, err := json.Marshal(o)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
	defer cancel()
	if _, err := w.pub.Publish(ctx, streams.Event{Tenant: tenant.String(), Type: typ, OccurredAt: o.At, Actor: "system", MsgID: msgID, Data: body}); err != nil {
		return fmt.Errorf("publish %s: %w", typ, err)
	}
	return nil
}

// graphBody is the Cloud API request of req: the message with its envelope,
// wam's message id as biz_opaque_callback_data, and wam media uploads
// exchanged for Meta media ids of the sending number.
func (w *session) graphBody(tenant uuid.UUID, req domain.SendRequested, num *number) ([]byte, error) {
	msg := req.Message
	// A copy deep enough that the exchange does not change req.
	var cp domain.Outbound
	raw, _ := json.Marshal(msg)
	_ = json.Unmarshal(raw, &cp)
	for _, md := range cp.MediaRefs() {
		if md.ID == "" {
			continue
		}
		if w.media == nil {
			return nil, domain.Errorf(domain.ErrInvalid, "media uploads cannot be sent by this server")
		}
		ctx, cancel := context.WithTimeout(w.ctx, 2*time.Minute)
		id, err := w.media.MetaMediaID(ctx, tenant, req.PhoneNumberID, num.token, md.ID)
		cancel()
		if err != nil {
			return nil, err
		}
		md.ID = id
	}
	return json.Marshal(struct {
		MessagingProduct string `json:"messaging_product"`
		RecipientType    string `json:"recipient_type"`
		To               string `json:"to"`
		BizOpaque        string `json:"biz_opaque_callback_data"`
		domain.Outbound
	}{"whatsapp", "individual", req.To, domain.CallbackData(req.MessageID), cp})
}

// markRead asks Meta to show an inbound message read. It is tried a few
// times; a read receipt is not worth holding the lane for.
func (w *session) markRead(m jetstream.Msg) error {
	var req domain.ReadRequested
	if err := json.Unmarshal(m.Data(), &req); err != nil || req.WAMID == "" {
		return nil
	}
	tenantText, _, _ := streams.ParseSubject(m.Subject())
	tenant, _ := uuid.Parse(tenantText)
	for attempt := 1; attempt <= 3; attempt++ {
		num, err := w.number(req.PhoneNumberID, tenant)
		if err != nil {
			return nil
		}
		_, err = w.call(func(ctx context.Context) (meta.SendResult, error) {
			return meta.SendResult{}, w.graph.MarkRead(ctx, req.PhoneNumberID, num.token, req.WAMID, req.Typing)
		})
		if err == nil || w.ctx.Err() != nil {
			return nil
		}
		var ge *meta.Error
		if errors.As(err, &ge) && domain.ClassifySendError(ge.Code, ge.Status) == domain.SendPermanent {
			w.log.Info("mark read refused", "message_id", req.MessageID, "code", ge.Code)
			return nil
		}
		if err := w.sleep(w.backoff(attempt)); err != nil {
			return err
		}
	}
	return nil
}

// backoff is the wait before retry n: exponential with full jitter.
func (w *session) backoff(n int) time.Duration {
	d := w.opts.RetryBase << min(n, 20)
	d = min(d, w.opts.RetryMax)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, or until the session ends.
func (w *session) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}
