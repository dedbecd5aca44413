package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// The templates read model is made of four kinds of facts: Meta's status
// updates (message_template_status_update webhooks) and the templates
// area's events, template.synced (Meta's listing of a WABA),
// template.created and template.deleted. They come in no reliable order — a
// listing fetched before a status update may be published after it, Meta's
// approval of a new template may come before our record of its creation —
// so each column follows a clock of its own (migration 00017, and
// UpsertTemplates in sql/queries/templates.sql, whose rules templateRow
// repeats for a batch):
//
//   - the status takes the newest time (Meta's entry time for an update,
//     the second the listing was asked for); a creation's status is
//     provisional: taken only when nothing is known, it gives way to any
//     other, since Meta's clock and ours may disagree by more than a review
//     takes;
//   - category and components take the newest listing or creation;
//   - seen_at is the latest sign that Meta has the template, gone_at the
//     latest that it does not (a complete listing without it, a deletion, a
//     DELETED update); it is deleted while gone_at is the later.
//
// Every rule takes a maximum or the later of two events, so the rows are the
// same however the stream is cut into batches. A listing and a deletion
// also mark rows the batch does not name; they do so in SQL, before the
// batch's rows are written, for the rows known before the batch, and in
// memory for the batch's rows that came before them.

// templateEvent is what Prepare leaves on a template event.
type templateEvent struct {
	tenant  uuid.UUID
	synced  *domain.TemplateSynced
	created *domain.TemplateCreated
	deleted *domain.TemplateDeleted
}

// prepareTemplateEvent decodes a template.* event and makes its texts
// storable: they are Meta's. Types of a later version are left unprepared.
func prepareTemplateEvent(ev *Event) error {
	tenant, err := uuid.Parse(ev.Tenant)
	if err != nil {
		return &PoisonError{Err: fmt.Errorf("tenant %q of %s is not a uuid", ev.Tenant, ev.Subject)}
	}
	te := &templateEvent{tenant: tenant}
	var body any
	switch ev.Type {
	case domain.EventTemplateSynced:
		te.synced = &domain.TemplateSynced{}
		body = te.synced
	case domain.EventTemplateCreated:
		te.created = &domain.TemplateCreated{}
		body = te.created
	case domain.EventTemplateDeleted:
		te.deleted = &domain.TemplateDeleted{}
		body = te.deleted
	default:
		return nil
	}
	if err := json.Unmarshal(ev.Data, body); err != nil {
		return &PoisonError{Err: fmt.Errorf("%s: %w", ev.Subject, err)}
	}
	switch {
	case te.synced != nil:
		s := te.synced
		storableTexts(&s.WABAID)
		for i := range s.Templates {
			storableTemplate(&s.Templates[i])
		}
		for i := range s.Listed {
			storableTexts(&s.Listed[i])
		}
		if s.WABAID == "" {
			return &PoisonError{Err: fmt.Errorf("%s: a listing without a WABA id", ev.Subject)}
		}
	case te.created != nil:
		c := te.created
		storableTexts(&c.WABAID)
		storableTemplate(&c.Template)
		if c.WABAID == "" || c.Template.ID == "" {
			return &PoisonError{Err: fmt.Errorf("%s: a creation without a WABA or template id", ev.Subject)}
		}
	case te.deleted != nil:
		d := te.deleted
		storableTexts(&d.WABAID, &d.Name)
		if d.WABAID == "" || d.Name == "" {
			return &PoisonError{Err: fmt.Errorf("%s: a deletion without a WABA id or name", ev.Subject)}
		}
	}
	ev.Prepared = te
	return nil
}

// storableTemplate makes Meta's description of a template storable.
func storableTemplate(t *domain.TemplateInfo) {
	storableTexts(&t.ID, &t.Name, &t.Language, &t.Status, &t.Category, &t.RejectedReason)
	if len(t.Components) == 0 || string(t.Components) == "null" {
		t.Components = json.RawMessage(`[]`)
		return
	}
	t.Components, _ = domain.StorableJSON(t.Components)
}

type templateKey struct {
	tenant uuid.UUID
	id     string // Meta's template id
}

// templateRow is what a batch says about one template, merged by the rules
// of UpsertTemplates.
type templateRow struct {
	waba, name, language string
	status, reason       string
	provisional          bool
	at                   time.Time // of the status; of a row without one, of its first fact
	category             string
	components           []byte
	syncedAt             time.Time // of category and components; zero: none
	seenAt, goneAt       time.Time // zero: none
	seq                  int64
}

type wabaKey struct {
	tenant uuid.UUID
	waba   string
}

type templateSync struct {
	at    time.Time
	count int32
	seq   int64
}

// templatePlan is the templates' part of an inboxPlan.
type templatePlan struct {
	rows      map[templateKey]*templateRow
	order     []templateKey
	gone      []db.MarkTemplatesGoneParams
	nameGone  []db.MarkTemplateNameGoneParams
	syncs     map[wabaKey]*templateSync
	syncOrder []wabaKey
}

// row is the row of template id, made on first sight with at as its time.
func (tp *templatePlan) row(tenant uuid.UUID, id string, at time.Time) *templateRow {
	k := templateKey{tenant, id}
	r, ok := tp.rows[k]
	if !ok {
		r = &templateRow{at: at}
		tp.rows[k] = r
		tp.order = append(tp.order, k)
	}
	return r
}

// identify takes the ids and names given; empty ones keep the known.
func (r *templateRow) identify(waba, name, language string) {
	r.waba = firstNonEmpty(waba, r.waba)
	r.name = firstNonEmpty(name, r.name)
	r.language = firstNonEmpty(language, r.language)
}

// setStatus takes status as of at, if it is the newer, or if the known one
// is only provisional; a provisional status only when none is known.
func (r *templateRow) setStatus(status, reason string, at time.Time, provisional bool) {
	if status == "" {
		return
	}
	if r.status == "" || !provisional && (r.provisional || !at.Before(r.at)) {
		if reason == "NONE" {
			reason = "" // Meta's word for no reason
		}
		r.status, r.reason, r.at, r.provisional = status, reason, at, provisional
	}
}

// setContent takes a listing's or creation's category and components as of
// at, if it is the newer.
func (r *templateRow) setContent(category string, components []byte, at time.Time) {
	if r.syncedAt.IsZero() || !at.Before(r.syncedAt) {
		r.category, r.components, r.syncedAt = category, components, at
	}
}

func (r *templateRow) seen(at time.Time) {
	if at.After(r.seenAt) {
		r.seenAt = at
	}
}

func (r *templateRow) gone(at time.Time) {
	if at.After(r.goneAt) {
		r.goneAt = at
	}
}

func (r *templateRow) touch(seq int64) { r.seq = max(r.seq, seq) }

// addTemplateStatus merges a message_template_status_update; it returns a
// problem when the update cannot be applied.
func (p *inboxPlan) addTemplateStatus(tenant uuid.UUID, ch domain.Change, at time.Time, seq int64) string {
	ts := ch.TemplateStatus
	if ts == nil || ts.TemplateID == "" {
		return "template status update without a template id: not projected"
	}
	if !ch.EntryTime.IsZero() {
		at = ch.EntryTime // Meta delivers out of order: its time orders the updates
	}
	at = at.Truncate(time.Microsecond)
	r := p.templates.row(tenant, ts.TemplateID, at)
	r.identify(ch.WABAID, ts.TemplateName, ts.TemplateLanguage)
	r.setStatus(ts.Event, ts.Reason, at, false)
	if domain.TemplateGoneStatus(ts.Event) {
		r.gone(at)
	} else {
		r.seen(at)
	}
	r.touch(seq)
	return ""
}

// addTemplateEvent merges a template.* event into the plan.
func (p *inboxPlan) addTemplateEvent(ev *Event, te *templateEvent) {
	seq, tp := int64(ev.Seq), &p.templates
	switch {
	case te.synced != nil:
		s := te.synced
		at := eventTime(s.At, ev.ReceivedAt)
		// Statuses compare to the second, as Meta's entry times are: an
		// update made in the second the listing was asked for is not older
		// than it (within one second, the stream's order decides).
		statusAt := at.Truncate(time.Second)
		for _, t := range s.Templates {
			if t.ID == "" {
				continue
			}
			r := tp.row(te.tenant, t.ID, statusAt)
			r.identify(s.WABAID, t.Name, t.Language)
			r.setStatus(t.Status, t.RejectedReason, statusAt, false)
			r.setContent(t.Category, t.Components, at)
			if domain.TemplateGoneStatus(t.Status) {
				r.gone(at)
			} else {
				r.seen(at)
			}
			r.touch(seq)
		}
		if !s.Complete {
			return
		}
		listed := make(map[string]bool, len(s.Listed))
		for _, id := range s.Listed {
			listed[id] = true
		}
		tp.markGone(te.tenant, s.WABAID, at, seq, func(k templateKey, _ *templateRow) bool { return !listed[k.id] })
		tp.gone = append(tp.gone, db.MarkTemplatesGoneParams{TenantID: te.tenant, WabaID: s.WABAID, Listed: nonNil(s.Listed), At: at, Seq: seq})
		tp.synced(te.tenant, s.WABAID, at, int32(len(s.Listed)), seq)
	case te.created != nil:
		c := te.created
		at := eventTime(c.At, ev.ReceivedAt)
		r := tp.row(te.tenant, c.Template.ID, at)
		r.identify(c.WABAID, c.Template.Name, c.Template.Language)
		r.setStatus(c.Template.Status, "", at, true)
		r.setContent(c.Template.Category, c.Template.Components, at)
		r.seen(at)
		r.touch(seq)
	case te.deleted != nil:
		d := te.deleted
		at := eventTime(d.At, ev.ReceivedAt)
		tp.markGone(te.tenant, d.WABAID, at, seq, func(_ templateKey, r *templateRow) bool { return r.name == d.Name })
		tp.nameGone = append(tp.nameGone, db.MarkTemplateNameGoneParams{TenantID: te.tenant, WabaID: d.WABAID, Name: d.Name, At: at, Seq: seq})
	}
}

// markGone marks the batch's rows so far of WABA waba for which which holds
// gone as of at; the statement queued with it does so for the rows of
// earlier batches.
func (tp *templatePlan) markGone(tenant uuid.UUID, waba string, at time.Time, seq int64, which func(templateKey, *templateRow) bool) {
	for _, k := range tp.order {
		if r := tp.rows[k]; k.tenant == tenant && r.waba == waba && which(k, r) {
			r.gone(at)
			r.touch(seq)
		}
	}
}

// synced records a complete listing of WABA waba; the latest one's count
// stands.
func (tp *templatePlan) synced(tenant uuid.UUID, waba string, at time.Time, count int32, seq int64) {
	k := wabaKey{tenant, waba}
	s, ok := tp.syncs[k]
	if !ok {
		if tp.syncs == nil {
			tp.syncs = map[wabaKey]*templateSync{}
		}
		s = &templateSync{at: at, count: count}
		tp.syncs[k] = s
		tp.syncOrder = append(tp.syncOrder, k)
	}
	if !at.Before(s.at) {
		s.at, s.count = at, count
	}
	s.seq = max(s.seq, seq)
}

// exec writes the templates' part of the plan: the marks of rows known
// before the batch first, then the batch's rows.
func (tp *templatePlan) exec(ctx context.Context, q *db.Queries) error {
	for _, g := range tp.gone {
		if err := q.MarkTemplatesGone(ctx, g); err != nil {
			return fmt.Errorf("templates not listed: %w", err)
		}
	}
	for _, g := range tp.nameGone {
		if err := q.MarkTemplateNameGone(ctx, g); err != nil {
			return fmt.Errorf("templates deleted: %w", err)
		}
	}
	if len(tp.order) > 0 {
		if err := q.UpsertTemplates(ctx, tp.params()); err != nil {
			return fmt.Errorf("templates: %w", err)
		}
	}
	if len(tp.syncOrder) > 0 {
		a := db.UpsertTemplateSyncsParams{}
		for _, k := range tp.syncOrder {
			s := tp.syncs[k]
			a.TenantIds = append(a.TenantIds, k.tenant)
			a.WabaIds = append(a.WabaIds, k.waba)
			a.SyncedAts = append(a.SyncedAts, s.at)
			a.Counts = append(a.Counts, s.count)
			a.Seqs = append(a.Seqs, s.seq)
		}
		if err := q.UpsertTemplateSyncs(ctx, a); err != nil {
			return fmt.Errorf("template syncs: %w", err)
		}
	}
	return nil
}

func (tp *templatePlan) params() db.UpsertTemplatesParams {
	k := len(tp.order)
	a := db.UpsertTemplatesParams{
		TenantIds: make([]uuid.UUID, 0, k), TemplateIds: make([]string, 0, k), WabaIds: make([]string, 0, k),
		Names: make([]string, 0, k), Languages: make([]string, 0, k), Statuses: make([]string, 0, k),
		Reasons: make([]string, 0, k), Provisionals: make([]bool, 0, k), Ats: make([]time.Time, 0, k),
		Categories: make([]string, 0, k), Components: make([][]byte, 0, k), SyncedAts: make([]time.Time, 0, k),
		SeenAts: make([]time.Time, 0, k), GoneAts: make([]time.Time, 0, k), Seqs: make([]int64, 0, k),
	}
	for _, key := range tp.order {
		t := tp.rows[key]
		components := t.components
		if components == nil {
			components = []byte(`[]`)
		}
		a.TenantIds = append(a.TenantIds, key.tenant)
		a.TemplateIds = append(a.TemplateIds, key.id)
		a.WabaIds = append(a.WabaIds, t.waba)
		a.Names = append(a.Names, t.name)
		a.Languages = append(a.Languages, t.language)
		a.Statuses = append(a.Statuses, t.status)
		a.Reasons = append(a.Reasons, t.reason)
		a.Provisionals = append(a.Provisionals, t.provisional)
		a.Ats = append(a.Ats, t.at)
		a.Categories = append(a.Categories, t.category)
		a.Components = append(a.Components, components)
		a.SyncedAts = append(a.SyncedAts, t.syncedAt)
		a.SeenAts = append(a.SeenAts, t.seenAt)
		a.GoneAts = append(a.GoneAts, t.goneAt)
		a.Seqs = append(a.Seqs, t.seq)
	}
	return a
}

// eventTime is the time an event body gives, or when the event was stored,
// to the microsecond PostgreSQL keeps: the batch compares times as the
// database will.
func eventTime(at, received time.Time) time.Time {
	if at.IsZero() {
		at = received
	}
	return at.Truncate(time.Microsecond)
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
