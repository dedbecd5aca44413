package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
)

// client is one WebSocket connection, once authenticated.
type client struct {
	hub    *Hub
	ws     *websocket.Conn
	ctx    context.Context // of the connection: ends after its close frame went out
	tenant uuid.UUID
	user   uuid.UUID

	mu      sync.Mutex
	name    string
	role    string
	status  string   // presence: online or away
	queue   []*frame // events waiting for the writer, at most hub.opts.SendBuffer
	floor   int64    // events at or below it were sent by the resume (or precede the client)
	failure *closeError
	failed  chan struct{} // closed with the first failure
	wake    chan struct{}
	out     lines // the writer's

	lastTyping time.Time
}

// push queues fs (in sequence order) for the client. It reports false when
// they do not fit: the client is then failed as too slow, and the frames
// still queued are dropped (the writer finishes the batch it holds, so the
// client never sees part of a batch).
func (c *client) push(fs []*frame) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failure != nil {
		return true
	}
	n := 0
	for _, f := range fs {
		if f.from == uuid.Nil || f.from != c.user {
			n++
		}
	}
	if n == 0 {
		return true
	}
	// A client that has taken everything so far takes a batch of any
	// size; one still holding events takes at most SendBuffer in all.
	if len(c.queue) > 0 && len(c.queue)+n > c.hub.opts.SendBuffer {
		c.queue = nil
		c.failLocked(errTooSlow)
		return false
	}
	for _, f := range fs {
		if f.from == uuid.Nil || f.from != c.user {
			c.queue = append(c.queue, f)
		}
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// fail ends the connection with err, unless it is ending already.
func (c *client) fail(err *closeError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLocked(err)
}

func (c *client) failLocked(err *closeError) {
	if c.failure == nil {
		c.failure = err
		close(c.failed)
	}
}

func (c *client) failedWith() *closeError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failure
}

// take empties the queue, and says which events the resume covered.
func (c *client) take() ([]*frame, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q, c.floor
}

func (c *client) write(text []byte) error { return c.hub.write(c.ctx, c.ws, text) }

// write sends one text frame within WriteTimeout. ctx must be the
// connection's, not the hub's: a write whose context ends drops the
// connection without its close frame.
func (h *Hub) write(ctx context.Context, ws *websocket.Conn, text []byte) error {
	ctx, cancel := context.WithTimeout(ctx, h.opts.WriteTimeout)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, text)
}

// writeLoop sends queued events until the connection ends. Events of the
// read models at or below the floor are skipped: the resume sent those
// rows at that state or later.
func (c *client) writeLoop() error {
	// One deadline for each batch: a client that cannot take a batch in
	// WriteTimeout is gone, and the watchdog drops its connection. A
	// context with a deadline per batch would cost the busiest loop of the
	// process a timer, a goroutine hand-off and an allocation per write.
	var timedOut atomic.Bool
	dog := time.AfterFunc(time.Hour, func() {
		timedOut.Store(true)
		_ = c.ws.CloseNow()
	})
	dog.Stop()
	send := func(text []byte) error {
		// The connection's context ends only after its close frame: the
		// watchdog bounds the write.
		return c.ws.Write(context.Background(), websocket.MessageText, text)
	}
	for {
		select {
		case <-c.ctx.Done():
			return nil
		case <-c.failed:
			return nil
		case <-c.wake:
		}
		q, floor := c.take()
		dog.Reset(c.hub.opts.WriteTimeout)
		var err error
		for _, f := range q {
			if f.seq == 0 || f.seq > floor {
				if err = c.out.add(f.text, send); err != nil {
					break
				}
			}
		}
		if err == nil {
			err = c.out.flush(send)
		}
		c.out.reset()
		if !dog.Stop() && timedOut.Load() {
			return fmt.Errorf("write: no batch taken within %s", c.hub.opts.WriteTimeout)
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
}

// maxMessage is the size from which the events waiting for a client go in
// more than one WebSocket message.
const maxMessage = 64 << 10

// lines packs the events waiting for a client into as few WebSocket
// messages as it can: one event per line, a message at most maxMessage
// long unless a single event is longer. Each message is a write system
// call for the server and a read for the client, so a commit that changes
// a message and its conversation costs one of each instead of two.
type lines struct{ buf []byte }

// add appends one event, first sending what is held if the event would
// take the message past maxMessage.
func (l *lines) add(text []byte, send func([]byte) error) error {
	if len(l.buf) > 0 && len(l.buf)+1+len(text) > maxMessage {
		if err := l.flush(send); err != nil {
			return err
		}
	}
	if len(l.buf) > 0 {
		l.buf = append(l.buf, '\n')
	}
	l.buf = append(l.buf, text...)
	return nil
}

// flush sends what is held as one message.
func (l *lines) flush(send func([]byte) error) error {
	if len(l.buf) == 0 {
		return nil
	}
	err := send(l.buf)
	l.reset()
	return err
}

func (l *lines) reset() {
	l.buf = l.buf[:0]
	if cap(l.buf) > 4*maxMessage {
		l.buf = nil // a rare huge event is not kept for the connection's life
	}
}

// inbound is a frame from the client.
type inbound struct {
	Type           string `json:"type"`
	Token          string `json:"token"`
	Since          int64  `json:"since"`
	ConversationID string `json:"conversation_id"`
	Status         string `json:"status"`
}

// session is what an access token and the account behind it say.
type session struct {
	tenant, user uuid.UUID
	name, role   string
	epoch        int32
	expires      time.Time
}

// authenticate checks an access token as the REST API does (signature,
// issuer, audience, expiry), then the account: a disabled or deleted user,
// or a token of an earlier session epoch (the password changed since), is
// revoked (4003).
func (h *Hub) authenticate(ctx context.Context, token string) (session, error) {
	claims, err := h.tokens.Verify(token)
	if err != nil {
		return session{}, errNoToken
	}
	// Verify has checked the token; its expiry is read from it again.
	tok, err := jwt.ParseInsecure([]byte(token))
	if err != nil {
		return session{}, errNoToken
	}
	s := session{tenant: claims.TenantID, user: claims.UserID, epoch: claims.SessionEpoch, expires: tok.Expiration()}
	s.name, s.role, err = h.account(ctx, s.tenant, s.user, claims.SessionEpoch)
	return s, err
}

// account reads the user's name and role, and fails with errRevoked when
// they may no longer act with a token of that session epoch.
func (h *Hub) account(ctx context.Context, tenant, user uuid.UUID, epoch int32) (name, role string, err error) {
	ctx, cancel := context.WithTimeout(ctx, h.opts.QueryTimeout)
	defer cancel()
	u, err := db.New(h.pool).LiveUser(ctx, db.LiveUserParams{TenantID: tenant, ID: user})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", "", errRevoked
	case err != nil:
		return "", "", &closeError{websocket.StatusTryAgainLater, "accounts unavailable; reconnect"}
	case epoch < u.SessionEpoch:
		return "", "", errRevoked
	}
	return u.Name, u.Role, nil
}

// head is the highest stream sequence the inbox projector has applied.
func (h *Hub) head(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, h.opts.QueryTimeout)
	defer cancel()
	seq, err := db.New(h.pool).GetCheckpoint(ctx, projections.InboxName)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return seq, err
}

// Serve runs the protocol on one accepted WebSocket until it ends, and
// closes it with the protocol's code for why it ended.
func (h *Hub) Serve(ws *websocket.Conn) {
	h.conns.Add(1)
	defer h.conns.Done()
	ws.SetReadLimit(64 << 10)
	// The connection's context ends only after the close frame is out:
	// a read or write whose context ends drops the connection without one.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := h.serve(ctx, ws)
	var ce *closeError
	switch {
	case errors.As(err, &ce):
		_ = ws.Close(ce.code, ce.reason)
	case err != nil:
		h.log.Debug("live: connection ended", "err", err)
		_ = ws.CloseNow()
	default:
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}
}

func (h *Hub) serve(connCtx context.Context, ws *websocket.Conn) error {
	// The read side runs for the whole connection: it also answers pings
	// and sees the client's close.
	in := make(chan []byte, 16)
	readErr := make(chan error, 1)
	go func() {
		defer close(in)
		for {
			_, data, err := ws.Read(connCtx)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case in <- data:
			case <-connCtx.Done():
				return
			}
		}
	}()

	// The first frame authenticates, within AuthTimeout.
	var first inbound
	select {
	case data, ok := <-in:
		if !ok {
			return <-readErr
		}
		if err := json.Unmarshal(data, &first); err != nil || first.Type != "auth" || first.Token == "" {
			return errNoToken
		}
	case <-time.After(h.opts.AuthTimeout):
		return &closeError{CodeUnauthorized, "no auth frame in time"}
	case <-h.ctx.Done():
		return errRestart
	}
	s, err := h.authenticate(h.ctx, first.Token)
	if err != nil {
		return err
	}
	c := &client{hub: h, ws: ws, ctx: connCtx, tenant: s.tenant, user: s.user, name: s.name, role: s.role, status: "online",
		failed: make(chan struct{}), wake: make(chan struct{}, 1)}
	// Registered before anything is read: every commit from here on comes
	// as an event, and everything before is in what the resume reads.
	if !h.add(c) {
		return errRestart
	}
	defer func() {
		h.remove(c)
		h.presence.changed(c.tenant, false)
	}()
	// The timers first: once the client has its hello, they run.
	expiry := h.opts.Clock.After(s.expires.Sub(h.opts.Clock.Now()))
	recheck := h.opts.Clock.After(h.opts.Recheck)
	head, err := h.head(h.ctx)
	if err != nil {
		return errReadFail
	}
	hello, err := encode(struct {
		Type     string    `json:"type"`
		UserID   uuid.UUID `json:"user_id"`
		TenantID uuid.UUID `json:"tenant_id"`
		Role     string    `json:"role"`
		Head     int64     `json:"head"`
	}{"hello", s.user, s.tenant, s.role, head})
	if err != nil {
		return err
	}
	if err := c.write(hello); err != nil {
		return err
	}
	synced := head
	if first.Since > 0 {
		if synced, err = h.resume(c, first.Since); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.floor = synced
	c.mu.Unlock()
	if err := c.write(fmt.Appendf(nil, `{"type":"synced","seq":%d}`, synced)); err != nil {
		return err
	}
	if p := h.presence.snapshot(c.tenant); p != nil {
		if err := c.write(p); err != nil {
			return err
		}
	}
	h.presence.changed(c.tenant, true)

	writeErr := make(chan error, 1)
	go func() { writeErr <- c.writeLoop() }()
	go h.keepAlive(c)
	// Wake the writer for what queued during the resume.
	select {
	case c.wake <- struct{}{}:
	default:
	}

	for {
		select {
		case data, ok := <-in:
			if !ok {
				return <-readErr
			}
			var m inbound
			if json.Unmarshal(data, &m) != nil {
				continue // not ours to understand; a later client's frame
			}
			switch m.Type {
			case "auth":
				next, err := h.authenticate(h.ctx, m.Token)
				if err != nil {
					return err
				}
				if next.user != c.user || next.tenant != c.tenant {
					return errWrongUser
				}
				s = next
				c.mu.Lock()
				c.name, c.role = next.name, next.role
				c.mu.Unlock()
				expiry = h.opts.Clock.After(next.expires.Sub(h.opts.Clock.Now()))
			case "typing":
				h.typing(c, m.ConversationID)
			case "presence":
				if m.Status == "online" || m.Status == "away" {
					c.mu.Lock()
					c.status = m.Status
					c.mu.Unlock()
					h.presence.changed(c.tenant, false)
				}
			}
		case <-expiry:
			return errExpired
		case <-recheck:
			// Revocation between refreshes: a disabled account or a
			// changed password ends the connection within Recheck.
			name, role, err := h.account(h.ctx, c.tenant, c.user, s.epoch)
			if err == errRevoked {
				return err
			}
			if err == nil {
				c.mu.Lock()
				c.name, c.role = name, role
				c.mu.Unlock()
			}
			recheck = h.opts.Clock.After(h.opts.Recheck)
		case <-c.failed:
			return c.failedWith()
		case err := <-writeErr:
			if err != nil {
				return err
			}
			if f := c.failedWith(); f != nil {
				return f
			}
			return nil
		case <-h.ctx.Done():
			return errRestart
		}
	}
}

// keepAlive pings the client every PingInterval; one that does not answer
// within WriteTimeout is gone, and its connection is dropped.
func (h *Hub) keepAlive(c *client) {
	t := time.NewTicker(h.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.failed:
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(c.ctx, h.opts.WriteTimeout)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				c.fail(&closeError{websocket.StatusGoingAway, "no pong"})
				return
			}
		}
	}
}
