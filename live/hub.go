// Package live is the live inbox's fan-out. After each projection commit
// the projector announces the rows it changed on core NATS
// (wam.<tenant>.live.<kind>); a Hub in every API process reads each
// announced row once, encodes it once, and hands it to every WebSocket
// client of that tenant connected to the process. A client that reconnects
// with the last sequence it saw is first sent what it missed, from the read
// models, by sequence. Typing and presence are ephemeral: they go through
// core NATS too, so that clients on every process see them.
//
// The protocol is described in docs/architecture.md ("Live inbox").
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Encoder gives the API's JSON object of each kind of row, so that a live
// event carries exactly what the REST API returns for that row.
type Encoder interface {
	Message(db.Message) any
	Conversation(db.LiveConversationsRow) any
	Note(db.Note) any
}

// Clock is the time the hub's timers (token expiry, account re-checks)
// follow; tests pass one they move by hand.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options tunes a Hub; the zero value is the production setting.
type Options struct {
	// SendBuffer is how many events may wait for one client; a client
	// with more is too slow and is closed with 4008. Default 1024.
	SendBuffer int
	// AuthTimeout is how long a new connection has to send its auth
	// frame; default 10 s.
	AuthTimeout time.Duration
	// PingInterval is the time between pings of an idle connection;
	// default 30 s. A ping unanswered within WriteTimeout ends it.
	PingInterval time.Duration
	// WriteTimeout bounds each write to a client; default 10 s.
	WriteTimeout time.Duration
	// Recheck is how often a connection's account is read again
	// (disabled, deleted, password changed: 4003; role changed); default
	// 1 min. It is also read at every re-authentication.
	Recheck time.Duration
	// QueryTimeout bounds each PostgreSQL query; default 5 s.
	QueryTimeout time.Duration
	// ResumeTimeout bounds a whole resume; default 5 min.
	ResumeTimeout time.Duration
	// ResumePage is how many rows of a table one resume query reads;
	// default 500.
	ResumePage int
	// Clock drives token expiry and re-checks; default the real time.
	Clock Clock
	// Logger; default none.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = 1024
	}
	def(&o.AuthTimeout, 10*time.Second)
	def(&o.PingInterval, 30*time.Second)
	def(&o.WriteTimeout, 10*time.Second)
	def(&o.Recheck, time.Minute)
	def(&o.QueryTimeout, 5*time.Second)
	def(&o.ResumeTimeout, 5*time.Minute)
	if o.ResumePage <= 0 {
		o.ResumePage = 500
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Hub fans the live events of one process out to its WebSocket clients.
type Hub struct {
	pool   *pgxpool.Pool
	nc     *nats.Conn
	tokens *auth.Tokens
	enc    Encoder
	opts   Options
	log    *slog.Logger
	server string // this process's id in presence announcements

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the hub's own goroutines
	conns  sync.WaitGroup // connections being served
	sub    *nats.Subscription

	notices chan notice

	mu      sync.RWMutex
	tenants map[uuid.UUID]map[*client]struct{}
	closed  bool

	presence *presence
	seen     seen // the loader's: latest seq sent per row

	stats struct {
		notices, reads, frames, overflows, lost atomic.Uint64
	}
}

// New returns a Hub reading rows from pool and notices from nc, verifying
// access tokens with tokens. Start it before serving connections.
func New(pool *pgxpool.Pool, nc *nats.Conn, tokens *auth.Tokens, enc Encoder, opts Options) *Hub {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		pool: pool, nc: nc, tokens: tokens, enc: enc, opts: opts, log: opts.Logger,
		server: uuid.NewString(), ctx: ctx, cancel: cancel,
		notices: make(chan notice, 1<<16),
		tenants: map[uuid.UUID]map[*client]struct{}{},
		seen:    newSeen(1 << 17),
	}
	h.presence = newPresence(h)
	return h
}

// Start subscribes to the live subjects of every tenant and starts the
// loader and the presence heartbeat.
func (h *Hub) Start() error {
	sub, err := h.nc.Subscribe(streams.LiveSubject("*", "*"), h.onLive)
	if err != nil {
		return fmt.Errorf("subscribe to live notices: %w", err)
	}
	// Fan-out must not be limited by the client's default pending bounds
	// under a burst; the hub's own channel bounds what waits.
	_ = sub.SetPendingLimits(-1, -1)
	h.sub = sub
	h.wg.Go(h.load)
	h.wg.Go(h.presence.heartbeat)
	return nil
}

// Close ends every connection with 1012 (the server restarts: reconnect
// with since) and stops the hub. It waits at most until ctx ends.
func (h *Hub) Close(ctx context.Context) {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.presence.leave()
	h.cancel() // each connection closes itself with 1012
	if h.sub != nil {
		_ = h.sub.Unsubscribe()
	}
	done := make(chan struct{})
	go func() { h.conns.Wait(); h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Stats are the hub's counters, for tests and benchmarks.
type Stats struct {
	Clients   int    // connected now
	Notices   uint64 // notices received for tenants with clients here
	Reads     uint64 // PostgreSQL reads of announced rows (one per batch of notices)
	Frames    uint64 // events built from them
	Overflows uint64 // clients closed with 4008
	Lost      uint64 // notices dropped because the hub fell behind
}

// Stats reports the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	n := 0
	for _, cs := range h.tenants {
		n += len(cs)
	}
	h.mu.RUnlock()
	return Stats{Clients: n, Notices: h.stats.notices.Load(), Reads: h.stats.reads.Load(),
		Frames: h.stats.frames.Load(), Overflows: h.stats.overflows.Load(), Lost: h.stats.lost.Load()}
}

// add registers c with its tenant: from now on it is handed that tenant's
// events. It reports false once the hub is closing.
func (h *Hub) add(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	cs := h.tenants[c.tenant]
	if cs == nil {
		cs = map[*client]struct{}{}
		h.tenants[c.tenant] = cs
	}
	cs[c] = struct{}{}
	return true
}

func (h *Hub) remove(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cs := h.tenants[c.tenant]; cs != nil {
		delete(cs, c)
		if len(cs) == 0 {
			delete(h.tenants, c.tenant)
		}
	}
}

func (h *Hub) hasClients(tenant uuid.UUID) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.tenants[tenant]) > 0
}

// tenantIDs are the tenants with clients here now.
func (h *Hub) tenantIDs() []uuid.UUID {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]uuid.UUID, 0, len(h.tenants))
	for t := range h.tenants {
		out = append(out, t)
	}
	return out
}

// clientsOf is a snapshot of tenant's clients.
func (h *Hub) clientsOf(tenant uuid.UUID) []*client {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*client, 0, len(h.tenants[tenant]))
	for c := range h.tenants[tenant] {
		out = append(out, c)
	}
	return out
}

// dispatch hands frames (in sequence order) to the clients of their
// tenants. It never waits for a client: one whose buffer is full is
// marked too slow and closed by its own goroutine.
func (h *Hub) dispatch(frames []*frame) {
	if len(frames) == 0 {
		return
	}
	byTenant := map[uuid.UUID][]*frame{}
	for _, f := range frames {
		byTenant[f.tenant] = append(byTenant[f.tenant], f)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for t, fs := range byTenant {
		for c := range h.tenants[t] {
			if !c.push(fs) {
				h.stats.overflows.Add(1)
			}
		}
	}
}

// notice is what the projector publishes after a commit.
type notice struct {
	tenant         uuid.UUID
	kind           string
	ID             uuid.UUID `json:"id"`
	ConversationID uuid.UUID `json:"conversation_id"`
	Seq            int64     `json:"seq"`
}

// onLive receives everything on wam.*.live.*: the projector's notices,
// and typing and presence from the hubs of every process.
func (h *Hub) onLive(m *nats.Msg) {
	rest, ok := strings.CutPrefix(m.Subject, "wam.")
	if !ok {
		return
	}
	token, kind, ok := strings.Cut(rest, ".live.")
	if !ok {
		return
	}
	tenant, err := uuid.Parse(token)
	if err != nil {
		return // _unrouted, or not a tenant of the API
	}
	switch kind {
	case kindMessage, kindConversation:
		if !h.hasClients(tenant) {
			return
		}
		n := notice{tenant: tenant, kind: kind}
		if err := json.Unmarshal(m.Data, &n); err != nil || n.ID == uuid.Nil {
			h.log.Warn("live: bad notice", "subject", m.Subject)
			return
		}
		h.stats.notices.Add(1)
		select {
		case h.notices <- n:
		default:
			// The loader fell this far behind: the tenant's clients would
			// miss this change. They reconnect and resume by sequence.
			h.stats.lost.Add(1)
			h.closeTenant(tenant, errBehind)
		}
	case kindTyping:
		h.onTyping(tenant, m.Data)
	case kindPresence:
		h.presence.receive(tenant, m.Data)
	}
}

// Subjects' kinds: the projector's, and the hub's ephemeral ones.
const (
	kindMessage      = "message"
	kindConversation = "conversation"
	kindTyping       = "typing"
	kindPresence     = "presence"
)

// closeTenant ends every connection of tenant here with err's code.
func (h *Hub) closeTenant(tenant uuid.UUID, err *closeError) {
	for _, c := range h.clientsOf(tenant) {
		c.fail(err)
	}
}

// closeError is why the server ends a connection: a close code of the
// protocol and a reason (never a secret).
type closeError struct {
	code   websocket.StatusCode
	reason string
}

func (e *closeError) Error() string { return fmt.Sprintf("close %d: %s", e.code, e.reason) }

// Close codes of the protocol.
const (
	CodeUnauthorized websocket.StatusCode = 4001 // no, invalid or expired token: refresh and reconnect
	CodeRevoked      websocket.StatusCode = 4003 // session revoked or user removed: sign in again
	CodeTooSlow      websocket.StatusCode = 4008 // the send buffer overflowed: reconnect with since
)

var (
	errTooSlow   = &closeError{CodeTooSlow, "too slow: events were waiting beyond the buffer"}
	errBehind    = &closeError{websocket.StatusTryAgainLater, "live updates fell behind; reconnect with since"}
	errReadFail  = &closeError{websocket.StatusTryAgainLater, "live updates unavailable; reconnect with since"}
	errRestart   = &closeError{websocket.StatusServiceRestart, "server restarting"}
	errExpired   = &closeError{CodeUnauthorized, "access token expired"}
	errNoToken   = &closeError{CodeUnauthorized, "no valid access token"}
	errRevoked   = &closeError{CodeRevoked, "session revoked or user removed"}
	errWrongUser = &closeError{CodeUnauthorized, "a token of another user or tenant"}
)

// Notices of one projector commit come in a burst, microseconds apart,
// and commits are milliseconds apart. The loader takes a batch once no
// notice has come for noticeQuiet, so that a batch holds whole commits, at
// most maxBatch notices or maxLinger after its first.
const (
	noticeQuiet = time.Millisecond
	maxLinger   = 20 * time.Millisecond
	maxBatch    = 8192
)

// load turns batches of notices into frames: one PostgreSQL read per kind
// for everything that queued meanwhile, for every client of the process.
func (h *Hub) load() {
	batch := make([]notice, 0, maxBatch)
	quiet := time.NewTimer(noticeQuiet)
	for {
		select {
		case <-h.ctx.Done():
			return
		case n := <-h.notices:
			batch = append(batch[:0], n)
		}
		until := time.Now().Add(maxLinger)
	fill:
		for len(batch) < maxBatch {
			select {
			case n := <-h.notices:
				batch = append(batch, n)
				continue
			default:
			}
			wait := min(noticeQuiet, time.Until(until))
			if wait <= 0 {
				break
			}
			quiet.Reset(wait)
			select {
			case n := <-h.notices:
				batch = append(batch, n)
				quiet.Stop() // no stale tick after Stop (Go 1.23 timers)
			case <-quiet.C:
				break fill
			case <-h.ctx.Done():
				return
			}
		}
		frames, err := h.read(batch)
		if err != nil {
			if h.ctx.Err() != nil {
				return
			}
			h.log.Warn("live: read announced rows", "err", err, "notices", len(batch))
			tenants := map[uuid.UUID]bool{}
			for _, n := range batch {
				if !tenants[n.tenant] {
					tenants[n.tenant] = true
					h.closeTenant(n.tenant, errReadFail)
				}
			}
			continue
		}
		h.stats.frames.Add(uint64(len(frames)))
		h.dispatch(frames)
	}
}

// read reads the rows a batch of notices names, as they are now, and
// encodes each once. A row already sent at its current sequence (two
// notices of one row, or a notice older than what was read for the one
// before) is not sent again. Nor is a row changed since by a commit the
// batch does not hold: its own notice comes with that commit. So clients
// get events in sequence order, every row of a sequence in one batch, and
// the highest sequence a client has seen is a sound "since".
func (h *Hub) read(batch []notice) ([]*frame, error) {
	var msgIDs, convIDs, noteConvs []uuid.UUID
	var noteSeqs []int64
	var upTo int64 // the highest sequence the batch announces
	want := map[uuid.UUID]bool{}
	for _, n := range batch {
		upTo = max(upTo, n.Seq)
		switch n.kind {
		case kindMessage:
			if n.Seq > h.seen.get(n.ID) && !want[n.ID] {
				want[n.ID] = true
				msgIDs = append(msgIDs, n.ID)
			}
		case kindConversation:
			// A note's notice names its conversation: the notes of that
			// event are read with the conversation.
			noteConvs, noteSeqs = append(noteConvs, n.ID), append(noteSeqs, n.Seq)
			if n.Seq > h.seen.get(n.ID) && !want[n.ID] {
				want[n.ID] = true
				convIDs = append(convIDs, n.ID)
			}
		}
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.opts.QueryTimeout)
	defer cancel()
	q := db.New(h.pool)
	var frames []*frame
	var err error
	if len(msgIDs) > 0 {
		h.stats.reads.Add(1)
		rows, qerr := q.LiveMessages(ctx, msgIDs)
		frames, err = fresh(h, frames, rows, qerr, "messages", upTo, func(r db.Message) (uuid.UUID, int64) { return r.ID, r.LastSeq }, h.messageFrame)
		if err != nil {
			return nil, err
		}
	}
	if len(convIDs) > 0 {
		h.stats.reads.Add(1)
		rows, qerr := q.LiveConversations(ctx, convIDs)
		frames, err = fresh(h, frames, rows, qerr, "conversations", upTo, func(r db.LiveConversationsRow) (uuid.UUID, int64) { return r.ID, r.LastSeq }, h.conversationFrame)
		if err != nil {
			return nil, err
		}
	}
	if len(noteConvs) > 0 {
		h.stats.reads.Add(1)
		rows, qerr := q.LiveNotes(ctx, db.LiveNotesParams{ConversationIds: noteConvs, Seqs: noteSeqs})
		frames, err = fresh(h, frames, rows, qerr, "notes", upTo, func(r db.Note) (uuid.UUID, int64) { return r.ID, r.LastSeq }, h.noteFrame)
		if err != nil {
			return nil, err
		}
	}
	sortFrames(frames)
	return frames, nil
}

// fresh appends to frames the rows read for a batch that are news: not
// sent at their sequence yet, and not changed by a commit after the
// batch's (that commit's notice brings them).
func fresh[R any](h *Hub, frames []*frame, rows []R, err error, what string, upTo int64,
	key func(R) (uuid.UUID, int64), frameOf func(R) (*frame, error)) ([]*frame, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for _, r := range rows {
		id, seq := key(r)
		if seq <= h.seen.get(id) || seq > upTo {
			continue
		}
		h.seen.set(id, seq)
		f, err := frameOf(r)
		if err != nil {
			return nil, err
		}
		frames = append(frames, f)
	}
	return frames, nil
}

// sortFrames puts frames in sequence order; of one sequence, messages
// before their conversation, notes last.
func sortFrames(fs []*frame) {
	slices.SortStableFunc(fs, func(a, b *frame) int {
		if a.seq != b.seq {
			if a.seq < b.seq {
				return -1
			}
			return 1
		}
		return a.order - b.order
	})
}

// seen is the latest sequence sent per row, bounded: two generations, the
// older dropped when the newer fills. A row forgotten is at worst sent once
// more at a sequence the clients hold already, which they ignore.
type seen struct {
	cur, old map[uuid.UUID]int64
	max      int
}

func newSeen(max int) seen {
	return seen{cur: make(map[uuid.UUID]int64), old: map[uuid.UUID]int64{}, max: max}
}

func (s *seen) get(id uuid.UUID) int64 {
	if v, ok := s.cur[id]; ok {
		return v
	}
	return s.old[id]
}

func (s *seen) set(id uuid.UUID, seq int64) {
	if len(s.cur) >= s.max {
		s.old, s.cur = s.cur, make(map[uuid.UUID]int64, s.max/2)
	}
	s.cur[id] = seq
}
