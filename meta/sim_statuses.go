package meta

import (
	"fmt"
	"time"
)

// statusStep is one status webhook planned for a message.
type statusStep struct {
	status string
	at     time.Time // the status's own time, in its timestamp
	errs   []genError
}

// planStatuses schedules the status webhooks of accepted message m: sent,
// delivered and read after the configured delays, or a failure. Shares of
// messages stay unread, fail after "sent", have their statuses delivered
// last first, or one status delivered twice. A message Meta could not send
// at all (failCode) only fails. s.mu held.
func (s *Simulator) planStatuses(n *simNumber, ps *simPairState, m *simSend, failCode int, failDetails string) {
	o := s.opts
	if o.NoStatuses {
		return
	}
	sent := m.at.Add(o.SentAfter)
	var steps []statusStep
	switch {
	case failCode != 0:
		steps = []statusStep{{"failed", sent, []genError{statusError(failCode, failDetails)}}}
	case s.rng.Float64() < o.FailShare:
		failCode = o.FailCode
		steps = []statusStep{{"sent", sent, nil},
			{"failed", sent.Add(o.DeliveredAfter), []genError{statusError(o.FailCode, fmt.Sprintf("Message to %s failed (simulated)", m.to))}}}
	default:
		delivered := sent.Add(o.DeliveredAfter)
		steps = []statusStep{{"sent", sent, nil}, {"delivered", delivered, nil}}
		if s.rng.Float64() >= o.UnreadShare {
			steps = append(steps, statusStep{"read", delivered.Add(o.ReadAfter), nil})
		}
	}
	if failCode != 0 {
		s.stats.failed[failCode]++
	}
	dispatch := make([]time.Time, len(steps))
	for i, st := range steps {
		dispatch[i] = st.at
	}
	if len(steps) > 1 && s.rng.Float64() < o.OutOfOrderShare {
		// Last first: every status goes out when the last is due, in
		// reverse order (the scheduler keeps the order of equal times).
		last := steps[len(steps)-1].at
		for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
			steps[i], steps[j] = steps[j], steps[i]
		}
		for i := range dispatch {
			dispatch[i] = last
		}
	}
	if s.rng.Float64() < o.DuplicateShare {
		i := s.rng.IntN(len(steps))
		steps, dispatch = append(steps, steps[i]), append(dispatch, dispatch[i])
	}
	conv := s.conversation(ps, m.category, m.at)
	pricing := genPricing{name: m.category, typ: "regular", billable: true}
	if m.category == "service" {
		pricing.typ, pricing.billable = "free_customer_service", false
	}
	waba, display, pnid := n.waba, genDigits(n.DisplayPhoneNumber), n.ID
	for i, st := range steps {
		u := statusUpdate{wamid: m.wamid, status: st.status, at: st.at, recipient: m.to, callback: m.callback, errs: st.errs}
		if st.status != "failed" {
			c := statusConversation{id: conv.id, origin: m.category}
			if st.status == "sent" {
				c.expires = conv.expires
			}
			u.conversation, u.pricing = &c, &pricing
		}
		s.stats.statuses[st.status]++
		s.sched.at(dispatch[i], func() { s.hooks.sendStatus(statusSource{waba, display, pnid}, u) })
	}
}

// conversation is the 24-hour conversation of the pair in a pricing
// category at now, opened when there is none; s.mu held.
func (s *Simulator) conversation(ps *simPairState, category string, now time.Time) *simConversation {
	c := ps.conversation[category]
	if c == nil || !now.Before(c.expires) {
		c = &simConversation{id: fmt.Sprintf("%016x%016x", s.nextID(), s.rng.Uint64()), expires: now.Add(serviceWindow)}
		ps.conversation[category] = c
	}
	return c
}
