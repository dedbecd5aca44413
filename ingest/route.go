package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/streams"
)

// deferred is the owner, while routing, of parts whose owner could not be
// looked up: they go to the unrouted subject marked RoutingDeferred.
const deferred = "_deferred"

// route cuts a signed body into the events that store it: one per owning
// tenant, by each change's metadata.phone_number_id, or by the entry's WABA
// id for changes that name no number (template status updates). Bodies that
// are not JSON, or parts that name nobody we know, go to the unrouted
// subject; parts whose owner could not be looked up too, marked deferred.
// Everything is kept, replayable, never dropped.
//
// only, when set, is the one tenant the body may be routed to (it came
// signed by that tenant's own Meta app): parts for other owners' numbers go
// to the unrouted subject instead, marked with only. fresh asks PostgreSQL
// about every id instead of trusting the cache (adoption).
func route(ctx context.Context, router *Router, body []byte, only string, fresh bool) ([]streams.Event, error) {
	routes, err := domain.WebhookRoutes(body)
	if err != nil {
		e := unrouted(body, only, false)
		if !json.Valid(body) {
			e.Header.Set(streams.HeaderUndecodable, "true")
		}
		return []streams.Event{e}, nil
	}
	// Every id the body names is looked up at once: a body may name tens of
	// thousands, and one query per id would let one webhook hold up the rest.
	var pnids, wabas []string
	for _, en := range routes {
		if len(en.PhoneNumberIDs) == 0 || slices.Contains(en.PhoneNumberIDs, "") {
			wabas = append(wabas, en.WABAID)
		}
		pnids = append(pnids, en.PhoneNumberIDs...)
	}
	resolve := router.Resolve
	if fresh {
		resolve = router.ResolveFresh
	}
	found := resolve(ctx, pnids, wabas)
	// owners[i][j] is the owner of change j of entry i; entryOwner[i] the
	// owner of an entry without changes.
	owners := make([][]string, len(routes))
	entryOwner := make([]string, len(routes))
	tenants := make(map[string]bool, 1)
	for i, en := range routes {
		if len(en.PhoneNumberIDs) == 0 {
			entryOwner[i] = owner(found, "", en.WABAID, only)
			tenants[entryOwner[i]] = true
		}
		owners[i] = make([]string, len(en.PhoneNumberIDs))
		for j, pnid := range en.PhoneNumberIDs {
			owners[i][j] = owner(found, pnid, en.WABAID, only)
			tenants[owners[i][j]] = true
		}
	}
	var parts []part
	switch len(tenants) {
	case 0: // no entries at all: nothing to route by
		parts = []part{{streams.Unrouted, body}}
	case 1:
		for t := range tenants {
			parts = []part{{t, body}}
		}
	default:
		if parts, err = splitByOwner(body, owners, entryOwner); err != nil {
			return nil, err
		}
	}
	events := make([]streams.Event, len(parts))
	for i, p := range parts {
		switch p.owner {
		case deferred:
			events[i] = unrouted(p.body, only, true)
		case streams.Unrouted:
			events[i] = unrouted(p.body, only, false)
		default:
			events[i] = streams.Event{Tenant: p.owner, Data: p.body}
		}
	}
	return events, nil
}

// unrouted is the unrouted event of body, with what adoption needs to know.
func unrouted(body []byte, only string, deferredRouting bool) streams.Event {
	e := streams.Event{Tenant: streams.Unrouted, Data: body, Header: nats.Header{}}
	if only != "" {
		e.Header.Set(streams.HeaderRoutingTenant, only)
	}
	if deferredRouting {
		e.Header.Set(streams.HeaderRouting, streams.RoutingDeferred)
	}
	return e
}

// owner is the tenant owning phone number pnid, or when pnid is empty the
// WABA waba; deferred when that could not be looked up; streams.Unrouted
// when nobody owns it, or when only is set and names another tenant.
func owner(found Owners, pnid, waba, only string) string {
	t, later := found.PhoneNumber(pnid)
	if pnid == "" {
		t, later = found.WABA(waba)
	}
	switch {
	case later:
		return deferred
	case t == "" || (only != "" && t != only):
		return streams.Unrouted
	}
	return t
}

// part is the body of one owner's share of a webhook.
type part struct {
	owner string
	body  []byte
}

// splitByOwner cuts a body that mixes several owners' numbers into one body
// per owner. Entries and changes are copied byte-exact; only the envelope
// around them is new.
func splitByOwner(body []byte, owners [][]string, entryOwner []string) ([]part, error) {
	var env struct {
		Object json.RawMessage   `json:"object"`
		Entry  []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Entry) != len(owners) {
		return nil, fmt.Errorf("split webhook: %v", err)
	}
	entries := map[string][][]byte{} // owner → entries
	var order []string
	add := func(t string, entry []byte) {
		if _, ok := entries[t]; !ok {
			order = append(order, t)
		}
		entries[t] = append(entries[t], entry)
	}
	for i, raw := range env.Entry {
		if len(owners[i]) == 0 {
			add(entryOwner[i], raw)
			continue
		}
		if allSame(owners[i]) {
			add(owners[i][0], raw)
			continue
		}
		var en struct {
			ID      json.RawMessage   `json:"id"`
			Time    json.RawMessage   `json:"time"`
			Changes []json.RawMessage `json:"changes"`
		}
		if err := json.Unmarshal(raw, &en); err != nil || len(en.Changes) != len(owners[i]) {
			return nil, fmt.Errorf("split webhook entry %d: %v", i, err)
		}
		byOwner := map[string][]json.RawMessage{}
		var tOrder []string
		for j, ch := range en.Changes {
			t := owners[i][j]
			if _, ok := byOwner[t]; !ok {
				tOrder = append(tOrder, t)
			}
			byOwner[t] = append(byOwner[t], ch)
		}
		for _, t := range tOrder {
			// Built by hand: json.Marshal would HTML-escape the raw changes.
			var b bytes.Buffer
			b.WriteString(`{"id":`)
			if len(en.ID) == 0 {
				en.ID = json.RawMessage(`null`)
			}
			b.Write(en.ID)
			if len(en.Time) > 0 {
				b.WriteString(`,"time":`)
				b.Write(en.Time)
			}
			b.WriteString(`,"changes":[`)
			b.Write(joinRaw(byOwner[t]))
			b.WriteString(`]}`)
			add(t, b.Bytes())
		}
	}
	object := env.Object
	if len(object) == 0 {
		object = json.RawMessage(`"whatsapp_business_account"`)
	}
	parts := make([]part, 0, len(order))
	for _, t := range order {
		var b bytes.Buffer
		b.WriteString(`{"object":`)
		b.Write(object)
		b.WriteString(`,"entry":[`)
		b.Write(bytes.Join(entries[t], []byte{','}))
		b.WriteString(`]}`)
		parts = append(parts, part{t, b.Bytes()})
	}
	return parts, nil
}

func joinRaw(rs []json.RawMessage) []byte {
	bs := make([][]byte, len(rs))
	for i, r := range rs {
		bs[i] = r
	}
	return bytes.Join(bs, []byte{','})
}

func allSame(ss []string) bool {
	for _, s := range ss[1:] {
		if s != ss[0] {
			return false
		}
	}
	return true
}
