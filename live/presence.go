package live

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/streams"
)

// Typing and presence are ephemeral: nothing stores them, they carry no
// sequence, and a client that misses one loses nothing it cannot see again
// (typing lasts 5 s unless repeated; presence is sent on every change and
// on connect). They go through core NATS, so that the clients of a tenant
// on every process see them.

// typingInterval is the shortest time between two typing frames of one
// client that are passed on (the protocol asks clients for one per 3 s).
const typingInterval = time.Second

// typing passes on that c's user types in conversation conv to the other
// users of the tenant, on every process.
func (h *Hub) typing(c *client, conv string) {
	id, err := uuid.Parse(conv)
	if err != nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	if now.Sub(c.lastTyping) < typingInterval {
		c.mu.Unlock()
		return
	}
	c.lastTyping = now
	name := c.name
	c.mu.Unlock()
	type user struct {
		ID   uuid.UUID `json:"id"`
		Name string    `json:"name"`
	}
	b, err := encode(struct {
		Type           string    `json:"type"`
		ConversationID uuid.UUID `json:"conversation_id"`
		User           user      `json:"user"`
	}{"typing", id, user{c.user, name}})
	if err != nil {
		return
	}
	if err := h.nc.Publish(streams.LiveSubject(c.tenant.String(), kindTyping), b); err != nil {
		h.log.Debug("live: publish typing", "err", err)
	}
}

// onTyping hands a typing frame from any process to the tenant's clients
// here, except the typing user's own.
func (h *Hub) onTyping(tenant uuid.UUID, data []byte) {
	if !h.hasClients(tenant) {
		return
	}
	var t struct {
		Type string `json:"type"`
		User struct {
			ID uuid.UUID `json:"id"`
		} `json:"user"`
	}
	if json.Unmarshal(data, &t) != nil || t.Type != "typing" || t.User.ID == uuid.Nil {
		return
	}
	h.dispatch([]*frame{{tenant: tenant, from: t.User.ID, text: data}})
}

// PresenceUser is one user in a presence frame.
type PresenceUser struct {
	ID     uuid.UUID `json:"id"`
	Name   string    `json:"name"`
	Status string    `json:"status"` // online or away
}

// announcement is what a process says of its own clients of one tenant.
type announcement struct {
	Server string         `json:"server"`
	Users  []PresenceUser `json:"users"`
	Ask    bool           `json:"ask,omitempty"` // the others should announce theirs
}

// Presence timing: each process announces its clients of every tenant at
// least every presenceEvery; a process not heard of for presenceTTL is
// gone (it crashed: a clean stop announces nobody).
const (
	presenceEvery = 20 * time.Second
	presenceTTL   = 3*presenceEvery + 5*time.Second
)

type presence struct {
	h     *Hub
	mu    sync.Mutex
	views map[uuid.UUID]map[string]view // tenant -> process -> its users
	sent  map[uuid.UUID]string          // tenant -> the last presence frame sent
}

type view struct {
	users []PresenceUser
	at    time.Time
}

func newPresence(h *Hub) *presence {
	return &presence{h: h, views: map[uuid.UUID]map[string]view{}, sent: map[uuid.UUID]string{}}
}

// local is who is connected to this process for tenant: online when any of
// the user's connections is.
func (p *presence) local(tenant uuid.UUID) []PresenceUser {
	byUser := map[uuid.UUID]PresenceUser{}
	for _, c := range p.h.clientsOf(tenant) {
		c.mu.Lock()
		u, ok := byUser[c.user]
		if !ok || c.status == "online" {
			u = PresenceUser{ID: c.user, Name: c.name, Status: c.status}
		}
		c.mu.Unlock()
		byUser[c.user] = u
	}
	out := make([]PresenceUser, 0, len(byUser))
	for _, u := range byUser {
		out = append(out, u)
	}
	sortUsers(out)
	return out
}

func sortUsers(us []PresenceUser) {
	slices.SortFunc(us, func(a, b PresenceUser) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
}

// changed announces this process's clients of tenant after one came, went
// or changed status; ask (a first client here) asks the other processes
// to announce theirs.
func (p *presence) changed(tenant uuid.UUID, ask bool) {
	p.announce(tenant, p.local(tenant), ask)
}

func (p *presence) announce(tenant uuid.UUID, users []PresenceUser, ask bool) {
	b, err := json.Marshal(announcement{Server: p.h.server, Users: users, Ask: ask})
	if err != nil {
		return
	}
	if err := p.h.nc.Publish(streams.LiveSubject(tenant.String(), kindPresence), b); err != nil {
		p.h.log.Debug("live: publish presence", "err", err)
	}
}

// receive takes an announcement of any process (this one's included).
func (p *presence) receive(tenant uuid.UUID, data []byte) {
	var a announcement
	if json.Unmarshal(data, &a) != nil || a.Server == "" {
		return
	}
	if a.Ask && a.Server != p.h.server && p.h.hasClients(tenant) {
		p.changed(tenant, false)
	}
	p.mu.Lock()
	vs := p.views[tenant]
	if vs == nil {
		vs = map[string]view{}
		p.views[tenant] = vs
	}
	if len(a.Users) == 0 {
		delete(vs, a.Server)
	} else {
		vs[a.Server] = view{users: a.Users, at: time.Now()}
	}
	p.mu.Unlock()
	p.refresh(tenant)
}

// merged is the presence frame of tenant from every process's view.
func (p *presence) merged(tenant uuid.UUID) []byte {
	byUser := map[uuid.UUID]PresenceUser{}
	now := time.Now()
	for server, v := range p.views[tenant] {
		if now.Sub(v.at) > presenceTTL {
			delete(p.views[tenant], server)
			continue
		}
		for _, u := range v.users {
			if have, ok := byUser[u.ID]; !ok || (have.Status != "online" && u.Status == "online") {
				byUser[u.ID] = u
			}
		}
	}
	if len(p.views[tenant]) == 0 {
		delete(p.views, tenant)
	}
	users := make([]PresenceUser, 0, len(byUser))
	for _, u := range byUser {
		users = append(users, u)
	}
	sortUsers(users)
	b, _ := json.Marshal(struct {
		Type  string         `json:"type"`
		Users []PresenceUser `json:"users"`
	}{"presence", users})
	return b
}

// refresh sends the tenant's clients here the presence frame when it
// changed.
func (p *presence) refresh(tenant uuid.UUID) {
	p.mu.Lock()
	b := p.merged(tenant)
	same := p.sent[tenant] == string(b)
	if !same {
		p.sent[tenant] = string(b)
	}
	if !p.h.hasClients(tenant) {
		delete(p.sent, tenant)
	}
	p.mu.Unlock()
	if !same {
		p.h.dispatch([]*frame{{tenant: tenant, text: b}})
	}
}

// snapshot is the presence frame for a client that just connected.
func (p *presence) snapshot(tenant uuid.UUID) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.merged(tenant)
}

// heartbeat announces this process's clients of every tenant every
// presenceEvery, and forgets processes not heard of for presenceTTL.
func (p *presence) heartbeat() {
	t := time.NewTicker(presenceEvery)
	defer t.Stop()
	for {
		select {
		case <-p.h.ctx.Done():
			return
		case <-t.C:
		}
		for _, t := range p.h.tenantIDs() {
			p.changed(t, false)
		}
		p.mu.Lock()
		known := make([]uuid.UUID, 0, len(p.views))
		for t := range p.views {
			known = append(known, t)
		}
		p.mu.Unlock()
		for _, t := range known {
			p.refresh(t)
		}
	}
}

// leave tells the other processes that this one's clients are gone.
func (p *presence) leave() {
	for _, t := range p.h.tenantIDs() {
		p.announce(t, nil, false)
	}
}
