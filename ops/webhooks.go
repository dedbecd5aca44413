package ops

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// Filter selects webhooks of the history, for a listing and for a replay.
// The zero value selects every webhook the actor may see.
type Filter struct {
	From, To *time.Time // received at, From inclusive, To exclusive
	// Tenant narrows an operator's selection to one tenant; Unrouted to the
	// webhooks nobody owns. A tenant's own actors always see their tenant.
	Tenant   *uuid.UUID
	Unrouted bool
	// PhoneNumberID is a Meta phone number id the webhook names.
	PhoneNumberID string
	// Kind is a kind of change: messages, statuses, errors, or a field of
	// Meta's (message_template_status_update, account_update, …).
	Kind string
	// Result is a decode result: ok, partial, undecodable, or parked.
	Result string
	// WAMID is a message's wamid: the webhooks that carry the message or a
	// status of it.
	WAMID string
	// ContactPhone is a person's number, E.164 or a wa_id: the webhooks
	// naming them as a contact, the sender of a message or the recipient
	// of a status. The filter normalises it (domain.NormalizePhone).
	ContactPhone string
	// FromSeq and ToSeq bound the stream sequences (inclusive; 0: open).
	FromSeq, ToSeq uint64
}

var (
	phoneNumberIDPattern = regexp.MustCompile(`^[0-9]{1,32}$`)
	kindPattern          = regexp.MustCompile(`^[a-z_]{1,64}$`)
	// wamidPattern is printable ASCII without spaces: Meta's wamids are
	// "wamid." and base64.
	wamidPattern = regexp.MustCompile(`^[!-~]{1,256}$`)
)

// scope validates f for by, normalises its contact phone, and says which
// rows it covers: 'all', 'tenant' (with the tenant) or 'unrouted'.
func (f *Filter) scope(by Actor) (string, uuid.UUID, error) {
	if err := by.mayManageHistory(); err != nil {
		return "", uuid.Nil, err
	}
	switch f.Result {
	case "", "ok", "partial", "undecodable", "parked":
	default:
		return "", uuid.Nil, domain.Errorf(domain.ErrInvalid, "result: one of ok, partial, undecodable, parked")
	}
	if f.PhoneNumberID != "" && !phoneNumberIDPattern.MatchString(f.PhoneNumberID) {
		return "", uuid.Nil, domain.Errorf(domain.ErrInvalid, "phone_number_id: Meta's phone number id, digits")
	}
	if f.Kind != "" && !kindPattern.MatchString(f.Kind) {
		return "", uuid.Nil, domain.Errorf(domain.ErrInvalid, "kind: a kind of change such as messages, statuses or message_template_status_update")
	}
	if f.WAMID != "" && !wamidPattern.MatchString(f.WAMID) {
		return "", uuid.Nil, domain.Errorf(domain.ErrInvalid, "wamid: a message's wamid (wamid.…), at most 256 characters")
	}
	if f.ContactPhone != "" {
		phone, err := domain.NormalizePhone(f.ContactPhone)
		if err != nil {
			return "", uuid.Nil, domain.Errorf(domain.ErrInvalid, "contact_phone: a phone number with its country code (E.164 or a wa_id): %v", err)
		}
		f.ContactPhone = phone
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return "", uuid.Nil, domain.Errorf(domain.ErrInvalid, "to: must be after from")
	}
	if f.ToSeq != 0 && f.ToSeq < f.FromSeq {
		return "", uuid.Nil, domain.Errorf(domain.ErrInvalid, "to_seq: must not be below from_seq")
	}
	if !by.Operator() {
		if f.Unrouted || (f.Tenant != nil && *f.Tenant != by.TenantID) {
			return "", uuid.Nil, domain.Errorf(domain.ErrForbidden, "a tenant sees its own webhooks only")
		}
		return "tenant", by.TenantID, nil
	}
	switch {
	case f.Unrouted && f.Tenant != nil:
		return "", uuid.Nil, domain.Errorf(domain.ErrInvalid, "unrouted: not with tenant_id")
	case f.Unrouted:
		return "unrouted", uuid.Nil, nil
	case f.Tenant != nil:
		return "tenant", *f.Tenant, nil
	}
	return "all", uuid.Nil, nil
}

// Webhook is one webhook of the history.
type Webhook struct {
	Seq            uint64
	ReceivedAt     time.Time
	TenantID       *uuid.UUID // nil: unrouted
	PhoneNumberIDs []string
	WABAIDs        []string
	Kinds          []string
	// Messages and Statuses count what the webhook carries.
	Messages, Statuses int
	DecodeResult       string
	DecodeError        string
	Size               int
	Routing            string
	AdoptedBy          uint64 // on an unrouted original: the copy in its owner's history
	AdoptedFrom        uint64 // on an adopted copy: the unrouted original
	Refused            string
	Parked             bool
}

// WebhookPage is a page of the history, newest first.
type WebhookPage struct {
	Webhooks []Webhook
	Next     uint64 // cursor of the next page (a sequence); 0: none
}

// ListWebhooks pages through the webhook history by f, newest first,
// before the sequence before (0: from the newest).
func (s *Service) ListWebhooks(ctx context.Context, by Actor, f Filter, before uint64, limit int) (WebhookPage, error) {
	scope, tenant, err := f.scope(by)
	if err != nil {
		return WebhookPage{}, err
	}
	var rows []db.ListWebhookLogRow
	err = s.readFiltered(ctx, by, func(q *db.Queries) (err error) {
		rows, err = q.ListWebhookLog(ctx, db.ListWebhookLogParams{
			Before: int64(before), FromTime: f.From, ToTime: f.To, Scope: scope, TenantID: tenant,
			PhoneNumberID: f.PhoneNumberID, Kind: f.Kind, Wamid: f.WAMID, ContactPhone: f.ContactPhone, Result: f.Result,
			Lim: int32(limit) + 1,
		})
		return err
	})
	if err != nil {
		return WebhookPage{}, err
	}
	var p WebhookPage
	if len(rows) > limit {
		rows = rows[:limit]
		p.Next = uint64(rows[limit-1].Seq)
	}
	for _, r := range rows {
		p.Webhooks = append(p.Webhooks, webhookOf(db.WebhookLogEntryRow(r)))
	}
	return p, nil
}

func webhookOf(r db.WebhookLogEntryRow) Webhook {
	return Webhook{Seq: uint64(r.Seq), ReceivedAt: r.ReceivedAt.UTC(), TenantID: r.TenantID, PhoneNumberIDs: r.PhoneNumberIds,
		WABAIDs: r.WabaIds, Kinds: r.Kinds, Messages: int(r.MessageCount), Statuses: int(r.StatusCount), DecodeResult: r.DecodeResult, DecodeError: r.DecodeError, Size: int(r.SizeBytes),
		Routing: r.Routing, AdoptedBy: uint64(deref(r.AdoptedBy)), AdoptedFrom: uint64(deref(r.AdoptedFrom)), Refused: r.Refused, Parked: r.Parked}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Touched is a message a webhook named, as the inbox has it now.
type Touched struct {
	MessageID      uuid.UUID
	ConversationID uuid.UUID
	WAMID          string
	Direction      string
	Type           string
	Status         string
	// As is what the webhook said of it: "message" or a status (sent, …).
	As string
}

// WebhookDetail is a webhook and what the projector made of it.
type WebhookDetail struct {
	Webhook
	Messages int // messages in the body
	Statuses int // statuses in the body
	Problems []string
	Touched  []Touched
	// Missing are wamids the body names that the inbox has no row for
	// (unrouted webhooks, undecodable parts, or events not projected yet).
	Missing []string
}

// GetWebhook is one webhook of the history with what the projector made
// of it: the messages and statuses it names, as the inbox has them.
func (s *Service) GetWebhook(ctx context.Context, by Actor, seq uint64) (WebhookDetail, error) {
	w, err := s.entry(ctx, by, seq)
	if err != nil {
		return WebhookDetail{}, err
	}
	raw, err := s.rawMessage(ctx, seq)
	if err != nil {
		return WebhookDetail{}, err
	}
	d := WebhookDetail{Webhook: w}
	hook, err := domain.DecodeWebhook(raw.Data)
	if err != nil {
		d.Problems = []string{err.Error()}
		return d, nil
	}
	d.Problems = hook.Problems
	as := map[string]string{}
	var wamids []string
	for _, ch := range hook.Changes {
		for _, m := range ch.Messages {
			d.Messages++
			if _, ok := as[m.WAMID]; !ok {
				wamids = append(wamids, m.WAMID)
			}
			as[m.WAMID] = "message"
		}
		for _, st := range ch.Statuses {
			d.Statuses++
			if _, ok := as[st.WAMID]; !ok {
				wamids = append(wamids, st.WAMID)
				as[st.WAMID] = string(st.Status)
			}
		}
	}
	if w.TenantID == nil || len(wamids) == 0 {
		d.Missing = wamids
		return d, nil
	}
	var rows []db.MessagesByWamidsRow
	err = s.read(ctx, by, func(q *db.Queries) (err error) {
		rows, err = q.MessagesByWamids(ctx, db.MessagesByWamidsParams{TenantID: *w.TenantID, Wamids: wamids})
		return err
	})
	if err != nil {
		return WebhookDetail{}, err
	}
	found := map[string]bool{}
	for _, r := range rows {
		found[r.Wamid] = true
		d.Touched = append(d.Touched, Touched{MessageID: r.ID, ConversationID: r.ConversationID, WAMID: r.Wamid,
			Direction: r.Direction, Type: r.Type, Status: r.Status, As: as[r.Wamid]})
	}
	for _, id := range wamids {
		if !found[id] {
			d.Missing = append(d.Missing, id)
		}
	}
	return d, nil
}

// Raw is a webhook exactly as Meta sent it (for its tenant, when a POST was
// split by tenant), with the headers it was stored with.
type Raw struct {
	Seq    uint64
	Header nats.Header
	Data   []byte
}

// RawWebhook is the stored bytes of the webhook at seq.
func (s *Service) RawWebhook(ctx context.Context, by Actor, seq uint64) (Raw, error) {
	if _, err := s.entry(ctx, by, seq); err != nil {
		return Raw{}, err
	}
	m, err := s.rawMessage(ctx, seq)
	if err != nil {
		return Raw{}, err
	}
	return Raw{Seq: seq, Header: m.Header, Data: m.Data}, nil
}

// entry is the webhook log's row of seq, if by may see it.
func (s *Service) entry(ctx context.Context, by Actor, seq uint64) (Webhook, error) {
	if err := by.mayManageHistory(); err != nil {
		return Webhook{}, err
	}
	var row db.WebhookLogEntryRow
	err := s.read(ctx, by, func(q *db.Queries) (err error) {
		row, err = q.WebhookLogEntry(ctx, int64(seq))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Webhook{}, domain.Errorf(domain.ErrNotFound, "no webhook %d", seq)
	}
	if err != nil {
		return Webhook{}, err
	}
	return webhookOf(row), nil
}

// rawMessage reads seq from the stream.
func (s *Service) rawMessage(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	stream, err := s.stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	m, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, domain.Errorf(domain.ErrNotFound, "event %d is no longer in the stream", seq)
	}
	if err != nil {
		return nil, fmt.Errorf("read event %d: %w", seq, err)
	}
	return m, nil
}
