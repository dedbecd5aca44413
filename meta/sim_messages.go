package meta

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// simSend is a message the simulator accepted from the business.
type simSend struct {
	wamid, number, to, typ, callback string
	at                               time.Time
	category                         string    // pricing: service, marketing, utility or authentication
	buttons                          []listRow // reply buttons of an interactive button message
	rows                             []listRow // rows of a list message
}

// serviceWindow is how long a user's message lets the business send
// messages other than templates.
const serviceWindow = 24 * time.Hour

// maxSendBody bounds a message body; Meta's own limit is about 1 MB.
const maxSendBody = 1 << 20

// postMessage answers POST /{phone-number-id}/messages: a message to a
// user, or a read receipt with an optional typing indicator.
func (s *Simulator) postMessage(w http.ResponseWriter, r *http.Request, pnid, token string) {
	// Throughput is counted by arrival, as at Meta: not by when this
	// busy process got round to checking the message.
	arrived := s.now()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSendBody+1))
	if err != nil {
		errParam("The request body could not be read").write(w)
		return
	}
	if len(body) > maxSendBody {
		s.reject(errParam("The request body is larger than %d bytes", maxSendBody)).write(w)
		return
	}
	s.mu.Lock()
	_, e := s.number(pnid, token, http.MethodPost)
	s.mu.Unlock()
	if e != nil {
		s.reject(e).write(w)
		return
	}
	req, e := decodeSend(body)
	if e != nil {
		s.reject(e).write(w)
		return
	}
	if req.Status != "" || req.MessageID != "" {
		s.markRead(w, pnid, req)
		return
	}
	if e := s.sendFault(); e != nil {
		s.reject(e).write(w)
		return
	}
	waID, e := validateMessage(req)
	if e != nil {
		s.reject(e).write(w)
		return
	}
	wamid, status, e := s.accept(pnid, waID, req, arrived)
	if e != nil {
		s.reject(e).write(w)
		return
	}
	msg := map[string]string{"id": wamid}
	if status != "" {
		msg["message_status"] = status
	}
	writeJSON(w, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": req.To, "wa_id": waID}},
		"messages":          []map[string]string{msg},
	})
}

// accept applies the limits Meta enforces on a valid message and, within
// them, takes it: a new wamid, counted, with its statuses planned. A
// message the simulator cannot deliver (outside the customer-service
// window, media that does not exist) is accepted and fails by webhook, as
// on Meta. status is the message_status of the answer.
func (s *Simulator) accept(pnid, waID string, req *sendRequest, now time.Time) (wamid, status string, e *simError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.numbers[pnid]
	m := &simSend{number: pnid, to: waID, typ: req.Type, callback: req.BizOpaqueCallbackData, at: now, category: "service"}
	if req.Type == "template" {
		t, e := s.templateForSend(n.waba, req.Template)
		if e != nil {
			return "", "", e
		}
		m.category, status = strings.ToLower(t.Category), "accepted"
	}
	if !n.admit(now) {
		return "", "", metaErr(CodeThroughput, "Message failed to send because there were too many messages sent from this phone number in a short period of time")
	}
	ps := s.pair(pnid, waID)
	if !ps.admit(now, s.opts.PairInterval, s.opts.PairBurst) {
		return "", "", metaErr(CodePairRate, "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time")
	}
	failCode, failDetails := 0, ""
	if req.Type != "template" && now.Sub(ps.lastInbound) >= serviceWindow {
		if s.opts.WindowErrorsSync {
			return "", "", metaErr(CodeReengagement, reengagementDetails)
		}
		failCode, failDetails = CodeReengagement, reengagementDetails
	}
	if media := req.media(); media != nil && media.ID != "" && !s.mediaUsable(media.ID, n.waba, now) {
		failCode, failDetails = CodeMediaUpload, "Media with id "+media.ID+" does not exist or has expired"
	}
	n.record(now)
	ps.consume()
	m.wamid = s.newWamid(waID, false)
	if in := req.Interactive; in != nil && in.Action != nil {
		for _, b := range in.Action.Buttons {
			m.buttons = append(m.buttons, listRow{ID: b.Reply.ID, Title: b.Reply.Title})
		}
		for _, sec := range in.Action.Sections {
			m.rows = append(m.rows, sec.Rows...)
		}
	}
	s.sends[m.wamid] = m
	ps.lastOut = m
	s.stats.accepted++
	if m.callback != "" {
		s.stats.byCallback[m.callback]++
	}
	s.planStatuses(n, ps, m, failCode, failDetails)
	return m.wamid, status, nil
}

const reengagementDetails = "Message failed to send because more than 24 hours have passed since the customer last replied to this number."

// markRead answers a read receipt for a message the number received from a
// user, with a typing indicator if asked.
func (s *Simulator) markRead(w http.ResponseWriter, pnid string, req *sendRequest) {
	var c sendCheck
	if req.MessagingProduct != "whatsapp" {
		c.fail("Param messaging_product must be \"whatsapp\"")
	}
	if req.Status != "read" {
		c.fail("Param status must be \"read\"")
	}
	c.required("message_id", req.MessageID)
	if req.TypingIndicator != nil && req.TypingIndicator.Type != "text" {
		c.fail("Param typing_indicator['type'] must be \"text\"")
	}
	s.mu.Lock()
	if c.err == nil {
		if p, ok := s.inbound[req.MessageID]; !ok || p.number != pnid {
			c.fail("Param message_id must be a message this phone number received")
		}
	}
	if c.err == nil {
		s.stats.reads++
		if req.TypingIndicator != nil {
			s.stats.typing++
		}
	}
	s.mu.Unlock()
	if c.err != nil {
		s.reject(c.err).write(w)
		return
	}
	writeJSON(w, map[string]bool{"success": true})
}

// admit reports whether the number may send one more message at now
// without more than its throughput in any one second; it forgets sends
// older than a second.
func (n *simNumber) admit(now time.Time) bool {
	cut := now.Add(-time.Second)
	i := 0
	for i < len(n.recent) && !n.recent[i].After(cut) {
		i++
	}
	n.recent = n.recent[i:]
	return n.throughput < 0 || len(n.recent) < n.throughput
}

// record counts an accepted send that arrived at now, after admit. Sends
// are checked in the order they take the lock, which may differ by a hair
// from the order they arrived in: recent stays sorted by arrival.
func (n *simNumber) record(now time.Time) {
	i := len(n.recent)
	for i > 0 && n.recent[i-1].After(now) {
		i--
	}
	n.recent = append(n.recent, time.Time{})
	copy(n.recent[i+1:], n.recent[i:])
	n.recent[i] = now
	n.maxPerSec = max(n.maxPerSec, len(n.recent))
}

// pair is the state of number and user, made when first needed; s.mu held.
func (s *Simulator) pair(number, waID string) *simPairState {
	k := simPair{number, waID}
	p := s.pairs[k]
	if p == nil {
		p = &simPairState{conversation: map[string]*simConversation{}}
		s.pairs[k] = p
	}
	return p
}

// admit refills the pair's bucket (one message per interval, burst at
// most) and reports whether it holds a message.
func (p *simPairState) admit(now time.Time, interval time.Duration, burst int) bool {
	if interval < 0 {
		return true
	}
	if p.tokensAt.IsZero() {
		p.tokens = float64(burst)
	} else {
		p.tokens = min(float64(burst), p.tokens+float64(now.Sub(p.tokensAt))/float64(interval))
	}
	p.tokensAt = now
	return p.tokens >= 1
}

func (p *simPairState) consume() { p.tokens-- }
