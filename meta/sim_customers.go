package meta

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"
)

// simCustomer is a WhatsApp user who writes to a business number.
type simCustomer struct{ waID, name string }

// Kinds of message a simulated customer sends (CustomerSends).
const (
	CustomerText        = "text"
	CustomerImage       = "image"        // a real JPEG, served by the media endpoints
	CustomerVoice       = "voice"        // a real Ogg Opus voice note
	CustomerLocation    = "location"     // a shared place
	CustomerReply       = "reply"        // text quoting the business's last message
	CustomerButtonReply = "button_reply" // a tap on a reply button the business sent
	CustomerListReply   = "list_reply"   // a row picked from a list the business sent
	CustomerReaction    = "reaction"     // an emoji on the business's last message
)

// customerMix is how often background customers send each kind, in
// percent. Replies to interactive messages need one to answer; without
// it the customer writes text.
var customerMix = []customerKind{
	{CustomerText, 45}, {CustomerImage, 10}, {CustomerVoice, 8}, {CustomerLocation, 5},
	{CustomerReply, 10}, {CustomerButtonReply, 10}, {CustomerListReply, 5}, {CustomerReaction, 7},
}

type customerKind struct {
	kind    string
	percent int
}

// newCustomers makes k customers of number pnid, the same ones for the
// same seed, with realistic wa_ids and names (WebhookGen's).
func newCustomers(pnid, display, waba string, seed int64, k int) []simCustomer {
	h := fnv.New64a()
	h.Write([]byte(pnid))
	g := NewWebhookGen(pnid, display, waba, seed^int64(h.Sum64())).WithSenders(k)
	out := make([]simCustomer, len(g.senders))
	for i, sd := range g.senders {
		out[i] = simCustomer{waID: sd.waID, name: sd.name}
	}
	return out
}

// Customers returns the wa_ids of the simulated customers of number pnid.
func (s *Simulator) Customers(pnid string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.numbers[pnid]
	if n == nil {
		return nil
	}
	ids := make([]string, len(n.customers))
	for i, c := range n.customers {
		ids[i] = c.waID
	}
	return ids
}

// CustomerWrites makes the user waID (profile name name; empty keeps the
// known one) write text to phone number pnid, which opens or refreshes
// their customer-service window, and returns the message's wamid. The
// webhook is on its way when it returns.
func (s *Simulator) CustomerWrites(ctx context.Context, pnid, waID, name, text string) (string, error) {
	return s.customerMessage(ctx, pnid, waID, name, CustomerText, text)
}

// CustomerSends makes the user waID send a message of kind (CustomerText,
// CustomerImage, …) to phone number pnid, with content of the simulator's
// choosing, and returns its wamid.
func (s *Simulator) CustomerSends(ctx context.Context, pnid, waID, name, kind string) (string, error) {
	return s.customerMessage(ctx, pnid, waID, name, kind, "")
}

func (s *Simulator) customerMessage(ctx context.Context, pnid, waID, name, kind, text string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if !slices.ContainsFunc(customerMix, func(m customerKind) bool { return m.kind == kind }) {
		return "", fmt.Errorf("simulator: %q is not a kind of customer message", kind)
	}
	if recipientWaID(waID) != waID {
		return "", fmt.Errorf("simulator: %q is not a wa_id (digits with the country code)", waID)
	}
	s.mu.Lock()
	n := s.numbers[pnid]
	if n == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("simulator: no phone number %s", pnid)
	}
	c := n.customer(waID, name)
	body, wamid := s.inboundMessage(n, c, kind, text)
	s.mu.Unlock()
	s.hooks.send(body)
	return wamid, nil
}

// customer is the number's customer waID, added when new; a name renames
// them. s.mu held.
func (n *simNumber) customer(waID, name string) simCustomer {
	for i, c := range n.customers {
		if c.waID == waID {
			if name != "" {
				n.customers[i].name = name
			}
			return n.customers[i]
		}
	}
	c := simCustomer{waID: waID, name: cmpOr(name, "Customer "+waID[max(0, len(waID)-4):])}
	n.customers = append(n.customers, c)
	return c
}

// inboundMessage writes the webhook of a message of kind from customer c
// to number n and records it: the wamid (for read receipts), the window it
// opens, the media it carries. An empty text is chosen by the simulator.
// s.mu held.
func (s *Simulator) inboundMessage(n *simNumber, c simCustomer, kind, text string) ([]byte, string) {
	now := s.now()
	ps := s.pair(n.ID, c.waID)
	display := genDigits(n.DisplayPhoneNumber)
	wamid := s.newWamid(c.waID, true)
	in := inboundMessage{waID: c.waID, name: c.name, wamid: wamid, at: now, typ: "text"}
	if text == "" {
		text = genPick(s.rng, genSentences)
	}
	fill := func(m *genObject) { m.object("text", func(t *genObject) { t.str("body", text) }) }
	last := ps.lastOut
	switch {
	case kind == CustomerReply && last != nil:
		in.contextFrom, in.contextID = display, last.wamid
	case kind == CustomerButtonReply && last != nil && len(last.buttons) > 0:
		b := genPick(s.rng, last.buttons)
		in.typ, in.contextFrom, in.contextID = "interactive", display, last.wamid
		fill = func(m *genObject) {
			m.object("interactive", func(o *genObject) {
				o.str("type", "button_reply")
				o.object("button_reply", func(r *genObject) {
					r.str("id", b.ID)
					r.str("title", b.Title)
				})
			})
		}
	case kind == CustomerListReply && last != nil && len(last.rows) > 0:
		row := genPick(s.rng, last.rows)
		in.typ, in.contextFrom, in.contextID = "interactive", display, last.wamid
		fill = func(m *genObject) {
			m.object("interactive", func(o *genObject) {
				o.str("type", "list_reply")
				o.object("list_reply", func(r *genObject) {
					r.str("id", row.ID)
					r.str("title", row.Title)
					if row.Description != "" {
						r.str("description", row.Description)
					}
				})
			})
		}
	case kind == CustomerReaction && last != nil:
		emoji := genPick(s.rng, genReactionEmoji)
		in.typ = "reaction"
		fill = func(m *genObject) {
			m.object("reaction", func(o *genObject) {
				o.str("message_id", last.wamid)
				o.str("emoji", emoji)
			})
		}
	case kind == CustomerImage:
		data := customerPhoto(s.rng)
		id, sum := s.storeMedia(n, "image/jpeg", "", data, inboundMediaLife), sha256.Sum256(data)
		caption := ""
		if s.rng.IntN(2) == 0 {
			caption = genPick(s.rng, genSentences)
		}
		in.typ = "image"
		fill = func(m *genObject) {
			m.object("image", func(o *genObject) {
				if caption != "" {
					o.str("caption", caption)
				}
				o.str("mime_type", "image/jpeg")
				o.str("sha256", base64.StdEncoding.EncodeToString(sum[:]))
				o.str("id", id)
			})
		}
	case kind == CustomerVoice:
		data := customerVoiceNote(1 + s.rng.IntN(3))
		id, sum := s.storeMedia(n, "audio/ogg; codecs=opus", "", data, inboundMediaLife), sha256.Sum256(data)
		in.typ = "audio"
		fill = func(m *genObject) {
			m.object("audio", func(o *genObject) {
				o.str("mime_type", "audio/ogg; codecs=opus")
				o.str("sha256", base64.StdEncoding.EncodeToString(sum[:]))
				o.str("id", id)
				o.literal("voice", "true")
			})
		}
	case kind == CustomerLocation:
		p := genPick(s.rng, genPlaces)
		in.typ = "location"
		fill = func(m *genObject) {
			m.object("location", func(o *genObject) {
				o.str("address", p.address)
				o.literal("latitude", strconv.FormatFloat(p.lat, 'f', 7, 64))
				o.literal("longitude", strconv.FormatFloat(p.lon, 'f', 7, 64))
				o.str("name", p.name)
				o.str("url", p.url)
			})
		}
	}
	body := messagesEnvelope(n.waba, display, n.ID, func(v *genObject) { writeInbound(v, in, fill) })
	s.inbound[wamid] = simPair{n.ID, c.waID}
	ps.lastInbound = now
	s.stats.customerMessages++
	return body, wamid
}

// scheduleCustomer plans the next background customer message, at
// exponentially distributed intervals averaging 1/CustomerRate.
func (s *Simulator) scheduleCustomer() {
	s.mu.Lock()
	wait := time.Duration(-math.Log(1-s.rng.Float64()) / s.opts.CustomerRate * float64(time.Second))
	s.mu.Unlock()
	s.sched.at(s.now().Add(wait), s.customerTick)
}

// customerTick sends one background customer message, from a customer of
// a number picked at random, and plans the next.
func (s *Simulator) customerTick() {
	s.mu.Lock()
	ids := make([]string, 0, len(s.numbers))
	for id := range s.numbers {
		ids = append(ids, id)
	}
	var body []byte
	if len(ids) > 0 {
		slices.Sort(ids)
		n := s.numbers[genPick(s.rng, ids)]
		kind, roll := CustomerText, s.rng.IntN(100)
		for _, m := range customerMix {
			if roll -= m.percent; roll < 0 {
				kind = m.kind
				break
			}
		}
		body, _ = s.inboundMessage(n, genPick(s.rng, n.customers), kind, "")
	}
	s.mu.Unlock()
	if body != nil {
		// From its own goroutine: a full delivery queue must not hold up
		// the scheduler.
		go s.hooks.send(body)
	}
	s.scheduleCustomer()
}
