package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// InboxName is the name of the inbox projector: its checkpoint row, its
// parked events and (prefixed with "proj_") its JetStream consumer.
const InboxName = "inbox"

// Decode results recorded in webhook_log.decode_result.
const (
	DecodeOK          = "ok"
	DecodePartial     = "partial"     // some parts could not be decoded or applied; the rest was
	DecodeUndecodable = "undecodable" // not a webhook at all; only logged
)

// NewInbox returns the Runner of the inbox projector, which turns raw Meta
// webhooks (wam.*.webhook.meta) into the webhook log, contacts,
// conversations, messages and templates.
func NewInbox(pool *pgxpool.Pool, js jetstream.JetStream, logger *slog.Logger, opts Options) *Runner {
	return NewRunner(pool, js, Inbox{}, logger, opts)
}

// Inbox is the Projection behind NewInbox; it is exported so that rebuild
// tooling can run it under another Runner.
type Inbox struct {
	// Erased, when set, tells whether the contact key (wa_id or user id)
	// of tenant was erased at or after at (erasure.Service.Erased): what a
	// webhook says of them from before then is left out, so that neither
	// Meta delivering an old webhook again nor a replay brings them back.
	Erased func(tenant uuid.UUID, key string, at time.Time) bool
}

// Name is InboxName.
func (Inbox) Name() string { return InboxName }

// Subjects are the raw webhooks of every tenant, the unrouted ones, what
// agents do to conversations, sends, templates and media.
func (Inbox) Subjects() []string {
	return []string{streams.Subject("*", streams.TypeWebhookMeta), streams.Subject("*", "conversation.>"), streams.Subject("*", "message.>"),
		streams.Subject("*", "template.>"), streams.Subject("*", "media.>")}
}

// conversationEvent is what Prepare leaves on a conversation event.
type conversationEvent struct {
	tenant uuid.UUID
	domain.ConversationEvent
}

// decodedWebhook is what Prepare leaves on an Event.
type decodedWebhook struct {
	tenant   uuid.UUID // uuid.Nil: unrouted
	hook     domain.Webhook
	result   string
	problems []string
}

// Prepare decodes the webhook, and makes every value PostgreSQL could not
// store storable (see makeStorable). A body that is not a webhook is not an
// error: it is logged as undecodable. A tenant token that is not a uuid
// (which no publisher of ours produces) parks the event.
func (in Inbox) Prepare(ev *Event) error {
	if strings.HasPrefix(ev.Type, "message.") {
		return prepareMessageEvent(ev)
	}
	if strings.HasPrefix(ev.Type, "template.") {
		return prepareTemplateEvent(ev)
	}
	if strings.HasPrefix(ev.Type, "media.") {
		return prepareMediaEvent(ev)
	}
	if strings.HasPrefix(ev.Type, "conversation.") {
		tenant, err := uuid.Parse(ev.Tenant)
		if err != nil {
			return &PoisonError{Err: fmt.Errorf("tenant %q of %s is not a uuid", ev.Tenant, ev.Subject)}
		}
		ce := &conversationEvent{tenant: tenant}
		if err := json.Unmarshal(ev.Data, &ce.ConversationEvent); err != nil {
			return &PoisonError{Err: fmt.Errorf("%s: %w", ev.Subject, err)}
		}
		storableConversationEvent(&ce.ConversationEvent)
		ev.Prepared = ce
		return nil
	}
	d := &decodedWebhook{result: DecodeOK}
	ev.Prepared = d
	if ev.Tenant != streams.Unrouted {
		id, err := uuid.Parse(ev.Tenant)
		if err != nil {
			return &PoisonError{Err: fmt.Errorf("tenant %q of %s is not a uuid", ev.Tenant, ev.Subject)}
		}
		d.tenant = id
	}
	// The Wam-Undecodable header is only a hint of the receiver: decoding
	// again lets a fixed decoder correct history on a rebuild.
	w, err := domain.DecodeWebhook(ev.Data)
	if err != nil {
		d.result = DecodeUndecodable
		d.problems = []string{domain.StorableText(err.Error())}
		return nil
	}
	if in.Erased != nil && d.tenant != uuid.Nil {
		leaveOutErased(&w, d.tenant, ev.ReceivedAt, in.Erased)
	}
	cut := makeStorable(&w)
	d.hook = w
	if problems := append(w.Problems, cut...); len(problems) > 0 {
		d.result = DecodePartial
		d.problems = problems
	}
	return nil
}

// Apply merges the events of the batch in memory, per row key and in stream
// order (one statement cannot touch a row twice), and writes each kind of
// row with one set-based statement.
//
// Conversation events split the batch: the webhooks before one are applied
// first, so that, say, a "read" clears the messages that came before it and
// not those after.
func (Inbox) Apply(ctx context.Context, q db.DBTX, events []*Event, notices *[]Notice) error {
	return apply(ctx, q, nil, events, notices)
}

// apply is Apply; with cp set, rows new to the tables are copied in (see
// ApplyBulk).
func apply(ctx context.Context, q db.DBTX, cp copier, events []*Event, notices *[]Notice) error {
	queries := db.New(q)
	var run []*Event
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		p := newInboxPlan(int64(run[0].Seq))
		p.replay = run[0].Replayed
		for _, ev := range run {
			p.add(ev)
		}
		run = run[:0]
		rcp := cp
		if p.replay || p.size() < bulkMin {
			rcp = nil // applied again, or too few rows for COPY to pay
		}
		if err := p.exec(ctx, queries, rcp, notices); err != nil {
			return err
		}
		return p.execMedia(ctx, queries, rcp, notices)
	}
	for _, ev := range events {
		ce, ok := ev.Prepared.(*conversationEvent)
		if !ok {
			run = append(run, ev)
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		if err := applyConversationEvent(ctx, queries, ev, ce); err != nil {
			return err
		}
		*notices = append(*notices, Notice{Tenant: ev.Tenant, Kind: "conversation", ID: ce.ConversationID, Seq: int64(ev.Seq)})
	}
	return flush()
}

func applyConversationEvent(ctx context.Context, q *db.Queries, ev *Event, ce *conversationEvent) error {
	seq, at, id := int64(ev.Seq), ev.ReceivedAt, ce.ConversationID
	switch ev.Type {
	case domain.EventAssigned:
		return q.SetConversationAssignee(ctx, db.SetConversationAssigneeParams{TenantID: ce.tenant, ID: id, AssigneeID: ce.AssigneeID, At: at, Seq: seq})
	case domain.EventStatusChanged:
		return q.SetConversationStatus(ctx, db.SetConversationStatusParams{TenantID: ce.tenant, ID: id, Status: ce.Status, SnoozedUntil: ce.SnoozedUntil, At: at, Seq: seq})
	case domain.EventSnoozeExpired:
		if ce.SnoozedUntil == nil {
			return &PoisonError{Err: fmt.Errorf("%s: snooze expiry without snoozed_until", ev.Subject)}
		}
		return q.ExpireSnooze(ctx, db.ExpireSnoozeParams{TenantID: ce.tenant, ID: id, SnoozedUntil: ce.SnoozedUntil, At: at, Seq: seq})
	case domain.EventTagsSet:
		tags := ce.Tags
		if tags == nil {
			tags = []string{}
		}
		return q.SetConversationTags(ctx, db.SetConversationTagsParams{TenantID: ce.tenant, ID: id, Tags: tags, At: at, Seq: seq})
	case domain.EventRead:
		return q.MarkConversationRead(ctx, db.MarkConversationReadParams{TenantID: ce.tenant, ID: id, At: at, Seq: seq})
	case domain.EventNoteAdded:
		if ce.NoteID == nil {
			return &PoisonError{Err: fmt.Errorf("%s: note without id", ev.Subject)}
		}
		return q.InsertNote(ctx, db.InsertNoteParams{ID: *ce.NoteID, TenantID: ce.tenant, ConversationID: id, AuthorID: ce.ActorUserID, Body: ce.Body, At: at, Seq: seq})
	}
	return nil // an event type of a later version: nothing to do here
}

// sep joins the elements of text[] columns sent as one text (see
// InsertWebhookLog).
const sep = "\x1f"

type contactRow struct {
	tenant                    uuid.UUID
	waID, userID, phone, name string
	at                        time.Time
	seq                       int64
}

type conversationRow struct {
	tenant, contact uuid.UUID
	phoneNumberID   string
	at              time.Time
	seq             int64
}

// messageRow is everything a batch says about one message: its content,
// its statuses, and the edits and revokes that target it, merged in stream
// order.
type messageRow struct {
	tenant, conversation uuid.UUID
	wamid                string
	direction            string // of a placeholder: outbound when a status made it, inbound when an edit did
	hasContent           bool
	typ, preview         string
	replyTo              string
	content              []byte
	context, referral    []byte
	ts                   time.Time // Meta's time of the message; of a placeholder the earliest time seen
	status, first        domain.StatusKind
	times                map[string]string // status -> first sighting, RFC 3339
	errCode              int32
	errTitle, errDetails string
	pricing              []byte
	biz                  string
	edited               []byte
	editedAt             time.Time // of edited, as Meta gave it
	editWAMID            string    // of edited
	revoked              bool
	revokedAt            time.Time
	sentBy               uuid.UUID // of an outbound message sent by a user
	messageStatus        string    // Meta's answer to its send
	at                   time.Time
	seq                  int64
}

// inboxPlan is one batch merged per row: maps find the row of a key, the
// slices keep the order in which keys were first seen, so that statements
// (and lock order) are deterministic.
type inboxPlan struct {
	firstSeq int64
	replay   bool // events applied again: see Event.Replayed
	log      db.InsertWebhookLogParams

	tenants map[uuid.UUID]string // tenant id -> subject token, for notices

	contacts     map[uuid.UUID]*contactRow
	contactOrder []uuid.UUID
	convs        map[uuid.UUID]*conversationRow
	convOrder    []uuid.UUID
	messages     map[uuid.UUID]*messageRow
	messageOrder []uuid.UUID
	templates    templatePlan
	adopted      map[int64]int64 // unrouted original → its first copy in the batch
	adoptedOrder []int64
	media        mediaPlan // see media.go
}

func newInboxPlan(firstSeq int64) *inboxPlan {
	return &inboxPlan{
		firstSeq:  firstSeq,
		tenants:   map[uuid.UUID]string{},
		contacts:  map[uuid.UUID]*contactRow{},
		convs:     map[uuid.UUID]*conversationRow{},
		messages:  map[uuid.UUID]*messageRow{},
		templates: templatePlan{rows: map[templateKey]*templateRow{}},
		adopted:   map[int64]int64{},
	}
}

// add merges one event into the plan.
func (p *inboxPlan) add(ev *Event) {
	if me, ok := ev.Prepared.(*messageEvent); ok {
		p.addMessageEvent(ev, me)
		return
	}
	if te, ok := ev.Prepared.(*templateEvent); ok {
		p.addTemplateEvent(ev, te)
		return
	}
	if me, ok := ev.Prepared.(*mediaEvent); ok {
		p.addMediaEvent(ev, me)
		return
	}
	if strings.HasPrefix(ev.Type, "message.") || strings.HasPrefix(ev.Type, "template.") || strings.HasPrefix(ev.Type, "media.") {
		return // a read request, or a type of a later version: nothing of the inbox's
	}
	d, _ := ev.Prepared.(*decodedWebhook)
	if d == nil {
		d = &decodedWebhook{result: DecodeUndecodable, problems: []string{"not prepared"}}
	}
	seq := int64(ev.Seq)
	problems := d.problems
	if d.tenant != uuid.Nil && d.result != DecodeUndecodable {
		p.tenants[d.tenant] = ev.Tenant
		problems = append(problems[:len(problems):len(problems)], p.addWebhook(d.tenant, d.hook, ev.ReceivedAt, seq)...)
	}
	result := d.result
	if result == DecodeOK && len(problems) > 0 {
		result = DecodePartial
	}
	var phoneIDs, wabaIDs, kinds, wamids, phones []string
	var nMessages, nStatuses int32
	for _, ch := range d.hook.Changes {
		nMessages, nStatuses = nMessages+int32(len(ch.Messages)), nStatuses+int32(len(ch.Statuses))
		phoneIDs = appendUnique(phoneIDs, ch.PhoneNumberID)
		if ch.PhoneNumberID == "" {
			wabaIDs = appendUnique(wabaIDs, ch.WABAID) // routed by its WABA
		}
		kinds = appendUnique(kinds, ch.Field)
		if len(ch.Messages) > 0 {
			kinds = appendUnique(kinds, "messages")
		}
		if len(ch.Statuses) > 0 {
			kinds = appendUnique(kinds, "statuses")
		}
		if len(ch.Errors) > 0 {
			kinds = appendUnique(kinds, "errors")
		}
		// What the history is searched by (ops.Filter): the messages and
		// statuses the webhook carries, and the numbers of whom it names.
		for _, ct := range ch.Contacts {
			phones = append(phones, ct.Phone)
		}
		for _, m := range ch.Messages {
			wamids, phones = append(wamids, m.WAMID), append(phones, m.FromPhone)
		}
		for _, st := range ch.Statuses {
			wamids, phones = append(wamids, st.WAMID), append(phones, st.RecipientPhone)
		}
	}
	l := &p.log
	l.Seqs = append(l.Seqs, seq)
	l.ReceivedAts = append(l.ReceivedAts, ev.ReceivedAt)
	l.TenantIds = append(l.TenantIds, d.tenant)
	l.PhoneNumberIds = append(l.PhoneNumberIds, joinClean(phoneIDs))
	l.Kinds = append(l.Kinds, joinClean(kinds))
	l.Wamids = append(l.Wamids, joinClean(sortedSet(wamids)))
	l.ContactPhones = append(l.ContactPhones, joinClean(sortedSet(phones)))
	l.MessageCounts, l.StatusCounts = append(l.MessageCounts, nMessages), append(l.StatusCounts, nStatuses)
	l.DecodeResults = append(l.DecodeResults, result)
	l.DecodeErrors = append(l.DecodeErrors, strings.Join(problems, "\n"))
	l.SizeBytes = append(l.SizeBytes, int32(min(len(ev.Data), 1<<31-1)))
	// What adoption needs of an unrouted webhook, and the mark of a copy it
	// made (ingest.Adopter).
	l.WabaIds = append(l.WabaIds, joinClean(wabaIDs))
	l.Routings = append(l.Routings, ev.Header.Get(streams.HeaderRouting))
	routingTenant, _ := uuid.Parse(ev.Header.Get(streams.HeaderRoutingTenant))
	l.RoutingTenants = append(l.RoutingTenants, routingTenant)
	l.Unverified = append(l.Unverified, ev.Header.Get(streams.HeaderSignature) != "")
	from, _ := strconv.ParseInt(ev.Header.Get(streams.HeaderAdoptedFrom), 10, 64)
	if from <= 0 || from >= seq {
		from = 0 // a copy comes after its original
	}
	l.AdoptedFroms = append(l.AdoptedFroms, from)
	if from > 0 {
		if first, ok := p.adopted[from]; !ok || seq < first {
			if !ok {
				p.adoptedOrder = append(p.adoptedOrder, from)
			}
			p.adopted[from] = seq
		}
	}
}

// addWebhook merges the changes of a routed webhook; it returns what it had
// to leave out.
func (p *inboxPlan) addWebhook(tenant uuid.UUID, w domain.Webhook, at time.Time, seq int64) []string {
	var problems []string
	tenantText := tenant.String()
	for _, ch := range w.Changes {
		switch ch.Field {
		case "messages":
			for _, ct := range ch.Contacts {
				if key := contactKey(ct.WaID, ct.UserID); key != "" {
					p.contact(tenantText, tenant, key, ct.WaID, ct.UserID, ct.Phone, ct.ProfileName, at, seq)
				}
			}
			for _, m := range ch.Messages {
				key := contactKey(m.From, m.FromUserID)
				if key == "" {
					problems = append(problems, fmt.Sprintf("message %s has no sender: not projected", m.WAMID))
					continue
				}
				contact := p.contact(tenantText, tenant, key, m.From, m.FromUserID, m.FromPhone, "", at, seq)
				conv := p.conversation(tenantText, tenant, contact, key, ch.PhoneNumberID, at, seq)
				p.message(tenantText, tenant, conv, m, at, seq)
			}
			for _, s := range ch.Statuses {
				key := contactKey(s.RecipientID, s.RecipientUserID)
				if key == "" {
					problems = append(problems, fmt.Sprintf("status %s of %s has no recipient: not projected", s.Status, s.WAMID))
					continue
				}
				contact := p.contact(tenantText, tenant, key, s.RecipientID, s.RecipientUserID, s.RecipientPhone, "", at, seq)
				conv := p.conversation(tenantText, tenant, contact, key, ch.PhoneNumberID, at, seq)
				p.status(tenantText, tenant, conv, s, at, seq)
			}
		case "message_template_status_update":
			if problem := p.addTemplateStatus(tenant, ch, at, seq); problem != "" {
				problems = append(problems, problem)
			}
		}
	}
	return problems
}

// contactKey is what identifies a contact within a tenant: its wa_id, or its
// business-scoped user id for users Meta shows only by username.
func contactKey(waID, userID string) string {
	if waID != "" {
		return waID
	}
	return userID
}

func (p *inboxPlan) contact(tenantText string, tenant uuid.UUID, key, waID, userID, phone, name string, at time.Time, seq int64) uuid.UUID {
	id := domain.ContactID(tenantText, key)
	c, ok := p.contacts[id]
	if !ok {
		c = &contactRow{tenant: tenant}
		p.contacts[id] = c
		p.contactOrder = append(p.contactOrder, id)
	}
	c.waID = firstNonEmpty(waID, c.waID)
	c.userID = firstNonEmpty(userID, c.userID)
	c.phone = firstNonEmpty(phone, c.phone)
	c.name = firstNonEmpty(name, c.name)
	c.at, c.seq = at, seq
	return id
}

func (p *inboxPlan) conversation(tenantText string, tenant, contact uuid.UUID, key, phoneNumberID string, at time.Time, seq int64) uuid.UUID {
	id := domain.ConversationID(tenantText, key, phoneNumberID)
	if _, ok := p.convs[id]; !ok {
		p.convs[id] = &conversationRow{tenant: tenant, contact: contact, phoneNumberID: phoneNumberID, at: at, seq: seq}
		p.convOrder = append(p.convOrder, id)
	}
	return id
}

// row is the message row of wamid, made on first sight with the
// conversation and direction of whatever mentioned it first.
func (p *inboxPlan) row(tenantText string, tenant, conv uuid.UUID, wamid, direction string, ts time.Time) *messageRow {
	return p.rowByID(domain.MessageID(tenantText, wamid), tenant, conv, wamid, direction, ts)
}

// rowByID is the message row of id: an inbound message's id derives from
// its wamid, an outbound one's is wam's message id.
func (p *inboxPlan) rowByID(id, tenant, conv uuid.UUID, wamid, direction string, ts time.Time) *messageRow {
	r, ok := p.messages[id]
	if !ok {
		r = &messageRow{tenant: tenant, conversation: conv, wamid: wamid, direction: direction, ts: ts}
		p.messages[id] = r
		p.messageOrder = append(p.messageOrder, id)
	}
	return r
}

func (p *inboxPlan) message(tenantText string, tenant, conv uuid.UUID, m domain.InboundMessage, at time.Time, seq int64) {
	ts := m.Timestamp
	if ts.IsZero() {
		ts = at // Meta sent no usable time: when we received it is the best we know
	}
	r := p.row(tenantText, tenant, conv, m.WAMID, "inbound", ts)
	// A wamid twice in one batch is a redelivery: the first copy stands,
	// as it does across batches.
	if !r.hasContent {
		r.hasContent, r.direction = true, "inbound"
		r.typ, r.preview, r.ts = string(m.Type), m.Preview, ts
		r.content = nonEmptyJSON(m.Content) // NULL content means placeholder
		r.referral = nullIfEmpty(m.Referral)
		if m.Context != nil {
			r.replyTo = m.Context.ID
			r.context, _ = json.Marshal(m.Context)
		}
		r.at, r.seq = at, seq
		p.inboundMedia(tenantText, tenant, domain.MessageID(tenantText, m.WAMID), conv, m, at, seq)
	}
	if (m.Type != domain.TypeEdit && m.Type != domain.TypeRevoke) || m.TargetWAMID == "" {
		return
	}
	t := p.row(tenantText, tenant, conv, m.TargetWAMID, "inbound", ts)
	if !t.hasContent && ts.Before(t.ts) {
		t.ts = ts
	}
	// The latest edit by Meta's time wins (UpsertMessages orders them
	// alike), whatever order they come in; edits of one second are told
	// apart by their wamid.
	if m.Type == domain.TypeEdit {
		if t.edited != nil && (ts.Before(t.editedAt) || ts.Equal(t.editedAt) && m.WAMID <= t.editWAMID) {
			return
		}
		t.editedAt, t.editWAMID = ts, m.WAMID
		t.edited, _ = json.Marshal(struct {
			WAMID     string          `json:"wamid"`
			Timestamp string          `json:"timestamp"`
			Content   json.RawMessage `json:"content"`
		}{m.WAMID, ts.UTC().Format(time.RFC3339), nonEmptyJSON(m.Content)})
	} else if !t.revoked || ts.Before(t.revokedAt) {
		t.revoked, t.revokedAt = true, ts
	}
	t.at, t.seq = at, seq
}

func (p *inboxPlan) status(tenantText string, tenant, conv uuid.UUID, s domain.Status, at time.Time, seq int64) {
	ts := s.Timestamp
	if ts.IsZero() {
		ts = at
	}
	// A message wam sent is named by the biz_opaque_callback_data of its
	// send, even before its acceptance (and wamid) is applied.
	var r *messageRow
	if id, ok := domain.CallbackMessage(s.BizOpaqueCallbackData); ok {
		r = p.rowByID(id, tenant, conv, s.WAMID, "outbound", ts)
		r.wamid = firstNonEmpty(r.wamid, s.WAMID)
	} else {
		r = p.row(tenantText, tenant, conv, s.WAMID, "outbound", ts)
	}
	if s.Status == domain.StatusFailed {
		var e domain.MetaError
		if len(s.Errors) > 0 {
			e = s.Errors[0]
		}
		r.fail(ts, int32(e.Code), firstNonEmpty(e.Title, e.Message), e.Details)
	} else {
		r.observe(s.Status, ts)
	}
	if s.Pricing != nil {
		r.pricing, _ = json.Marshal(s.Pricing)
	}
	r.biz = firstNonEmpty(s.BizOpaqueCallbackData, r.biz)
	if !r.hasContent && ts.Before(r.ts) {
		r.ts = ts
	}
	r.at, r.seq = at, seq
}

// counted tells the message types that are a message the user wrote: the
// others do not count as unread, open no 24-hour window and do not become
// the conversation's last message. Reactions, edits and revokes refer to
// another message; system messages are written by WhatsApp.
func counted(typ string) bool {
	switch domain.MessageType(typ) {
	case domain.TypeReaction, domain.TypeEdit, domain.TypeRevoke, domain.TypeSystem:
		return false
	}
	return true
}

// freshMessage tells a message new to the inbox, which its conversation
// takes (AddFreshMessages): one that has content now and had none before
// this batch, of a type that counts. Both writers of message rows ask it:
// UpsertMessages' rows, and a rebuild's rows copied in (none before).
func freshMessage(hasContent, hadContent bool, typ string) bool {
	return hasContent && !hadContent && counted(typ)
}

// freshRows are the messages new to the inbox of a batch, as
// AddFreshMessages takes them.
type freshRows struct{ a db.AddFreshMessagesParams }

func (f *freshRows) add(conv uuid.UUID, inbound bool, ts time.Time, preview string, at time.Time, seq int64) {
	f.a.ConversationIds = append(f.a.ConversationIds, conv)
	f.a.Inbound = append(f.a.Inbound, inbound)
	f.a.Timestamps = append(f.a.Timestamps, ts)
	f.a.Previews = append(f.a.Previews, preview)
	f.a.Ats = append(f.a.Ats, at)
	f.a.Seqs = append(f.a.Seqs, seq)
}

// exec writes the plan: statements in the order of the foreign keys
// (contacts, conversations, messages), sent together by the pipeline when
// the messages statement asks for its result. With cp set, the webhook log
// entries and message rows new to their tables are copied in (bulk.go).
func (p *inboxPlan) exec(ctx context.Context, q *db.Queries, cp copier, notices *[]Notice) error {
	if len(p.log.Seqs) > 0 {
		log := p.log
		if cp != nil {
			var err error
			if log, err = p.copyLog(ctx, cp); err != nil {
				return fmt.Errorf("webhook log: %w", err)
			}
		}
		if len(log.Seqs) > 0 {
			if err := q.InsertWebhookLog(ctx, log); err != nil {
				return fmt.Errorf("webhook log: %w", err)
			}
		}
		if p.replay {
			l := p.log
			if err := q.RelogWebhooks(ctx, db.RelogWebhooksParams{Seqs: l.Seqs, PhoneNumberIds: l.PhoneNumberIds, WabaIds: l.WabaIds,
				Kinds: l.Kinds, Wamids: l.Wamids, ContactPhones: l.ContactPhones, MessageCounts: l.MessageCounts,
				StatusCounts: l.StatusCounts, DecodeResults: l.DecodeResults,
				DecodeErrors: l.DecodeErrors}); err != nil {
				return fmt.Errorf("webhook log again: %w", err)
			}
		}
	}
	if len(p.adoptedOrder) > 0 {
		copies := make([]int64, len(p.adoptedOrder))
		for i, orig := range p.adoptedOrder {
			copies[i] = p.adopted[orig]
		}
		if err := q.MarkAdopted(ctx, db.MarkAdoptedParams{Originals: p.adoptedOrder, Copies: copies}); err != nil {
			return fmt.Errorf("adopted webhooks: %w", err)
		}
	}
	if len(p.contactOrder) > 0 {
		upsert := q.UpsertContacts
		if p.replay {
			upsert = func(ctx context.Context, a db.UpsertContactsParams) error {
				return q.FillContacts(ctx, db.FillContactsParams(a))
			}
		}
		if err := upsert(ctx, p.contactParams()); err != nil {
			return fmt.Errorf("contacts: %w", err)
		}
	}
	if len(p.convOrder) > 0 {
		if err := q.EnsureConversations(ctx, p.conversationParams()); err != nil {
			return fmt.Errorf("conversations: %w", err)
		}
	}
	if err := p.templates.exec(ctx, q); err != nil {
		return err
	}
	if len(p.messageOrder) == 0 {
		return nil
	}
	n := newNoticeSet(p.tenants)
	var fresh freshRows
	upsert := p.messageOrder
	if cp != nil {
		var err error
		if upsert, err = p.copyMessages(ctx, q, cp, &fresh); err != nil {
			return fmt.Errorf("messages: %w", err)
		}
	}
	if len(upsert) > 0 {
		rows, err := q.UpsertMessages(ctx, p.messageParams(upsert))
		if err != nil {
			return fmt.Errorf("inbox statements: %w", err)
		}
		for _, r := range rows {
			n.add("message", r.TenantID, r.ID, r.ConversationID, r.LastSeq)
			if freshMessage(r.HasContent, r.HadContent, r.Type) {
				fresh.add(r.ConversationID, r.Inbound, r.Timestamp, r.Preview, r.UpdatedAt, r.LastSeq)
			}
		}
	}
	fresh.a.AllConversationIds, fresh.a.FirstSeq = p.convOrder, p.firstSeq
	convs, err := q.AddFreshMessages(ctx, fresh.a)
	if err != nil {
		return fmt.Errorf("conversations of new messages: %w", err)
	}
	for _, r := range convs {
		n.add("conversation", r.TenantID, r.ID, uuid.Nil, r.LastSeq)
	}
	*notices = append(*notices, n.list...)
	return nil
}

func (p *inboxPlan) contactParams() db.UpsertContactsParams {
	k := len(p.contactOrder)
	a := db.UpsertContactsParams{
		Ids: p.contactOrder, TenantIds: make([]uuid.UUID, 0, k), WaIds: make([]string, 0, k),
		UserIds: make([]string, 0, k), Phones: make([]string, 0, k), ProfileNames: make([]string, 0, k),
		Ats: make([]time.Time, 0, k), Seqs: make([]int64, 0, k),
	}
	for _, id := range p.contactOrder {
		c := p.contacts[id]
		a.TenantIds = append(a.TenantIds, c.tenant)
		a.WaIds = append(a.WaIds, c.waID)
		a.UserIds = append(a.UserIds, c.userID)
		a.Phones = append(a.Phones, c.phone)
		a.ProfileNames = append(a.ProfileNames, c.name)
		a.Ats = append(a.Ats, c.at)
		a.Seqs = append(a.Seqs, c.seq)
	}
	return a
}

func (p *inboxPlan) conversationParams() db.EnsureConversationsParams {
	k := len(p.convOrder)
	a := db.EnsureConversationsParams{
		Ids: p.convOrder, TenantIds: make([]uuid.UUID, 0, k), ContactIds: make([]uuid.UUID, 0, k),
		PhoneNumberIds: make([]string, 0, k), Ats: make([]time.Time, 0, k), Seqs: make([]int64, 0, k),
	}
	for _, id := range p.convOrder {
		c := p.convs[id]
		a.TenantIds = append(a.TenantIds, c.tenant)
		a.ContactIds = append(a.ContactIds, c.contact)
		a.PhoneNumberIds = append(a.PhoneNumberIds, c.phoneNumberID)
		a.Ats = append(a.Ats, c.at)
		a.Seqs = append(a.Seqs, c.seq)
	}
	return a
}

// values are the type, status and first sightings a message row is
// written with.
func (m *messageRow) values() (typ string, status domain.StatusKind, times []byte) {
	typ, status = string(domain.TypeUnknown), domain.StatusReceived
	if m.hasContent {
		typ = m.typ
	}
	switch {
	case domain.StatusRank(m.status) > 0:
		status = m.status
	case m.first != "" && !m.hasContent:
		status = m.first // only statuses outside the order were seen: show what Meta said
	}
	times = []byte(`{}`)
	if len(m.times) > 0 {
		times, _ = json.Marshal(m.times)
	}
	return typ, status, times
}

// messageParams are the rows ids of the plan as UpsertMessages takes them.
func (p *inboxPlan) messageParams(ids []uuid.UUID) db.UpsertMessagesParams {
	k := len(ids)
	a := db.UpsertMessagesParams{Replay: p.replay,
		Ids: ids, TenantIds: make([]uuid.UUID, 0, k), ConversationIds: make([]uuid.UUID, 0, k),
		Wamids: make([]string, 0, k), Directions: make([]string, 0, k), Types: make([]string, 0, k),
		Contents: make([][]byte, 0, k), Previews: make([]string, 0, k), ReplyTos: make([]string, 0, k),
		Contexts: make([][]byte, 0, k), Referrals: make([][]byte, 0, k), Statuses: make([]string, 0, k),
		StatusRanks: make([]int16, 0, k), StatusTimes: make([][]byte, 0, k), ErrorCodes: make([]int32, 0, k),
		ErrorTitles: make([]string, 0, k), ErrorDetails: make([]string, 0, k), Pricings: make([][]byte, 0, k),
		Bizs: make([]string, 0, k), Editeds: make([][]byte, 0, k), Revoked: make([]bool, 0, k),
		RevokedAts: make([]time.Time, 0, k), Timestamps: make([]time.Time, 0, k), Ats: make([]time.Time, 0, k),
		Seqs: make([]int64, 0, k), SentBys: make([]uuid.UUID, 0, k), MessageStatuses: make([]string, 0, k),
	}
	for _, id := range ids {
		m := p.messages[id]
		typ, status, times := m.values()
		a.TenantIds = append(a.TenantIds, m.tenant)
		a.ConversationIds = append(a.ConversationIds, m.conversation)
		a.Wamids = append(a.Wamids, m.wamid)
		a.Directions = append(a.Directions, m.direction)
		a.Types = append(a.Types, typ)
		a.Contents = append(a.Contents, m.content)
		a.Previews = append(a.Previews, m.preview)
		a.ReplyTos = append(a.ReplyTos, m.replyTo)
		a.Contexts = append(a.Contexts, m.context)
		a.Referrals = append(a.Referrals, m.referral)
		a.Statuses = append(a.Statuses, string(status))
		a.StatusRanks = append(a.StatusRanks, int16(domain.StatusRank(status)))
		a.StatusTimes = append(a.StatusTimes, times)
		a.ErrorCodes = append(a.ErrorCodes, m.errCode)
		a.ErrorTitles = append(a.ErrorTitles, m.errTitle)
		a.ErrorDetails = append(a.ErrorDetails, m.errDetails)
		a.Pricings = append(a.Pricings, m.pricing)
		a.Bizs = append(a.Bizs, m.biz)
		a.Editeds = append(a.Editeds, m.edited)
		a.Revoked = append(a.Revoked, m.revoked)
		a.RevokedAts = append(a.RevokedAts, m.revokedAt)
		a.Timestamps = append(a.Timestamps, m.ts)
		a.Ats = append(a.Ats, m.at)
		a.Seqs = append(a.Seqs, m.seq)
		a.SentBys = append(a.SentBys, m.sentBy)
		a.MessageStatuses = append(a.MessageStatuses, m.messageStatus)
	}
	return a
}

// noticeSet collects one notice per changed row, with its latest sequence.
type noticeSet struct {
	tenants map[uuid.UUID]string
	index   map[uuid.UUID]int
	list    []Notice
}

func newNoticeSet(tenants map[uuid.UUID]string) *noticeSet {
	return &noticeSet{tenants: tenants, index: map[uuid.UUID]int{}}
}

func (n *noticeSet) add(kind string, tenant, id, conv uuid.UUID, seq int64) {
	if i, ok := n.index[id]; ok {
		n.list[i].Seq = max(n.list[i].Seq, seq)
		return
	}
	token, ok := n.tenants[tenant]
	if !ok {
		token = tenant.String()
	}
	n.index[id] = len(n.list)
	n.list = append(n.list, Notice{Tenant: token, Kind: kind, ID: id, ConversationID: conv, Seq: seq})
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func appendUnique(list []string, s string) []string {
	if s == "" {
		return list
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// maxSearchable is the longest wamid or number the webhook log keeps for
// the history's filters (ops.Filter takes at most 256 characters too). A
// GIN index refuses entries of more than about 2,700 bytes, which would
// park the webhook, and a wamid is some 60.
const maxSearchable = 256

// sortedSet is list sorted, without duplicates, empty strings and values
// longer than maxSearchable: a webhook may carry thousands of statuses, too
// many for appendUnique.
func sortedSet(list []string) []string {
	list = slices.DeleteFunc(list, func(s string) bool { return s == "" || len(s) > maxSearchable })
	slices.Sort(list)
	return slices.Compact(list)
}

// joinClean joins for a text[] column sent as text; the separator cannot
// occur in a value.
func joinClean(list []string) string {
	for i, s := range list {
		if strings.Contains(s, sep) {
			list[i] = strings.ReplaceAll(s, sep, " ")
		}
	}
	return strings.Join(list, sep)
}

func nullIfEmpty(raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return nil
	}
	return raw
}

func nonEmptyJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage(`{}`)
	}
	return raw
}

// leaveOutErased removes from w the messages, statuses and contacts of
// erased contacts from before their erasure; a message or status without
// a time of Meta's counts as of when it was received.
func leaveOutErased(w *domain.Webhook, tenant uuid.UUID, received time.Time, erased func(uuid.UUID, string, time.Time) bool) {
	at := func(t time.Time) time.Time {
		if t.IsZero() {
			return received
		}
		return t
	}
	for i := range w.Changes {
		ch := &w.Changes[i]
		gone := map[string]bool{}
		kept := ch.Messages[:0]
		for _, m := range ch.Messages {
			if key := contactKey(m.From, m.FromUserID); key != "" && erased(tenant, key, at(m.Timestamp)) {
				gone[key] = true
				continue
			}
			kept = append(kept, m)
		}
		ch.Messages = kept
		keptS := ch.Statuses[:0]
		for _, st := range ch.Statuses {
			if key := contactKey(st.RecipientID, st.RecipientUserID); key != "" && erased(tenant, key, at(st.Timestamp)) {
				gone[key] = true
				continue
			}
			keptS = append(keptS, st)
		}
		ch.Statuses = keptS
		keptC := ch.Contacts[:0]
		for _, c := range ch.Contacts {
			key := contactKey(c.WaID, c.UserID)
			if key != "" && (gone[key] || erased(tenant, key, received)) {
				continue
			}
			keptC = append(keptC, c)
		}
		ch.Contacts = keptC
	}
}
