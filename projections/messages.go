package projections

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
)

// messageEvent is what Prepare leaves on an event of sending: a send
// request, or the sender's record of an attempt, an acceptance or a failure.
type messageEvent struct {
	tenant  uuid.UUID
	request *domain.SendRequested
	outcome *domain.SendOutcome
	content json.RawMessage // of a request: its message, as stored
}

// prepareMessageEvent decodes a message.* event. Types of a later version,
// and read requests (nothing of the inbox's), are left unprepared.
func prepareMessageEvent(ev *Event) error {
	tenant, err := uuid.Parse(ev.Tenant)
	if err != nil {
		return &PoisonError{Err: fmt.Errorf("tenant %q of %s is not a uuid", ev.Tenant, ev.Subject)}
	}
	me := &messageEvent{tenant: tenant}
	switch ev.Type {
	case domain.EventSendRequested:
		me.request = &domain.SendRequested{}
		if err := json.Unmarshal(ev.Data, me.request); err != nil {
			return &PoisonError{Err: fmt.Errorf("%s: %w", ev.Subject, err)}
		}
		r := me.request
		if r.MessageID == uuid.Nil || r.To == "" || r.PhoneNumberID == "" {
			return &PoisonError{Err: fmt.Errorf("%s: a send request without message id, recipient or number", ev.Subject)}
		}
		storableTexts(&r.To, &r.ToPhone, &r.PhoneNumberID)
		content, err := json.Marshal(r.Message)
		if err != nil {
			return &PoisonError{Err: fmt.Errorf("%s: %w", ev.Subject, err)}
		}
		me.content, _ = domain.StorableJSON(content)
	case domain.EventAccepted, domain.EventFailed:
		me.outcome = &domain.SendOutcome{}
		if err := json.Unmarshal(ev.Data, me.outcome); err != nil {
			return &PoisonError{Err: fmt.Errorf("%s: %w", ev.Subject, err)}
		}
		o := me.outcome
		if o.MessageID == uuid.Nil {
			return &PoisonError{Err: fmt.Errorf("%s: an outcome without message id", ev.Subject)}
		}
		storableTexts(&o.WAMID, &o.MessageStatus, &o.WaID)
		if o.Error != nil {
			storableTexts(&o.Error.Title, &o.Error.Details, &o.Error.FBTraceID)
		}
	default:
		return nil
	}
	ev.Prepared = me
	return nil
}

// addMessageEvent merges an event of sending into the plan. A send request
// makes the outbound message's row, under wam's message id, in its
// conversation (made for a first message to someone); acceptance gives it
// its wamid and the status accepted; a failure makes it failed with Meta's
// error. Statuses only move forward here too.
func (p *inboxPlan) addMessageEvent(ev *Event, me *messageEvent) {
	seq, at := int64(ev.Seq), ev.ReceivedAt
	tenantText := me.tenant.String()
	p.tenants[me.tenant] = ev.Tenant
	if r := me.request; r != nil {
		contact := p.contact(tenantText, me.tenant, r.To, r.To, "", r.ToPhone, "", at, seq)
		conv := p.conversation(tenantText, me.tenant, contact, r.To, r.PhoneNumberID, at, seq)
		ts := r.At
		if ts.IsZero() {
			ts = at
		}
		row := p.rowByID(r.MessageID, me.tenant, conv, "", "outbound", ts)
		if !row.hasContent {
			row.hasContent = true
			row.typ, row.preview, row.ts = string(r.Message.Type), domain.StorableText(r.Message.Preview()), ts
			row.content = me.content
			if r.Message.Context != nil {
				row.replyTo = domain.StorableText(r.Message.Context.MessageID)
			}
			if r.ActorUserID != nil {
				row.sentBy = *r.ActorUserID
			}
		}
		row.observe(domain.StatusQueued, ts)
		row.at, row.seq = at, seq
		return
	}
	o := me.outcome
	ts := o.At
	if ts.IsZero() {
		ts = at
	}
	row := p.rowByID(o.MessageID, me.tenant, o.ConversationID, o.WAMID, "outbound", ts)
	switch ev.Type {
	case domain.EventAccepted:
		row.wamid = firstNonEmpty(row.wamid, o.WAMID)
		row.messageStatus = firstNonEmpty(o.MessageStatus, row.messageStatus)
		row.observe(domain.StatusAccepted, ts)
	case domain.EventFailed:
		e := o.Error
		if e == nil {
			e = &domain.SendError{Title: "failed"}
		}
		row.fail(ts, int32(e.Code), e.Title, e.Details)
	}
	row.at, row.seq = at, seq
}

// observe records that the message reached status s at ts.
func (r *messageRow) observe(s domain.StatusKind, ts time.Time) {
	if r.times == nil {
		r.times = map[string]string{}
		r.first = s
	}
	if _, seen := r.times[string(s)]; !seen {
		r.times[string(s)] = ts.UTC().Format(time.RFC3339)
	}
	r.status = domain.AdvanceStatus(r.status, s)
}

// fail records a failure with its error; the first failure stands.
func (r *messageRow) fail(ts time.Time, code int32, title, details string) {
	if r.status != domain.StatusFailed {
		r.errCode, r.errTitle, r.errDetails = code, title, details
	}
	r.observe(domain.StatusFailed, ts)
}
