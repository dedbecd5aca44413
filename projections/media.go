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

// The inbox projector's part in media: a customer's file announced by its
// webhook becomes a pending media row (the downloader's queue, see
// media.Downloader), an upload a stored one, and media.stored and
// media.failed settle them. A message's file is shown on the message
// (messages.media), written in the same statement.

// mediaEvent is what Prepare leaves on a media.* event.
type mediaEvent struct {
	tenant   uuid.UUID
	uploaded *domain.MediaUploaded
	stored   *domain.MediaStored
	failed   *domain.MediaFailed
}

// prepareMediaEvent decodes a media.* event; types of a later version are
// left unprepared, and add skips them.
func prepareMediaEvent(ev *Event) error {
	tenant, err := uuid.Parse(ev.Tenant)
	if err != nil {
		return &PoisonError{Err: fmt.Errorf("tenant %q of %s is not a uuid", ev.Tenant, ev.Subject)}
	}
	me := &mediaEvent{tenant: tenant}
	var id uuid.UUID
	switch ev.Type {
	case domain.EventMediaUploaded:
		me.uploaded = &domain.MediaUploaded{}
		err = json.Unmarshal(ev.Data, me.uploaded)
		u := me.uploaded
		id = u.MediaID
		storableTexts(&u.MimeType, &u.Filename, &u.SHA256)
		u.Type = domain.MessageType(domain.StorableText(string(u.Type)))
	case domain.EventMediaStored:
		me.stored = &domain.MediaStored{}
		err = json.Unmarshal(ev.Data, me.stored)
		id = me.stored.MediaID
		storableTexts(&me.stored.MimeType, &me.stored.SHA256)
	case domain.EventMediaFailed:
		me.failed = &domain.MediaFailed{}
		err = json.Unmarshal(ev.Data, me.failed)
		id = me.failed.MediaID
		storableTexts(&me.failed.Error)
	default:
		return nil
	}
	if err != nil {
		return &PoisonError{Err: fmt.Errorf("%s: %w", ev.Subject, err)}
	}
	if id == uuid.Nil {
		return &PoisonError{Err: fmt.Errorf("%s: a media event without media id", ev.Subject)}
	}
	ev.Prepared = me
	return nil
}

// mediaRow is everything a batch says about one media file, merged in
// stream order by the rules of UpsertMedia.
type mediaRow struct {
	tenant                         uuid.UUID
	hasRow                         bool // announced in this batch (webhook or upload): inserted if new
	direction, typ                 string
	message                        uuid.UUID
	pnid, metaID, mime, sha, fname string
	animated                       bool
	size                           int64 // -1: unknown
	status, err                    string
	attempts                       int32
	at                             time.Time
	seq                            int64
}

// mediaPlan is the media of one inbox batch, in the order first seen.
type mediaPlan struct {
	rows  map[uuid.UUID]*mediaRow
	order []uuid.UUID
}

func (p *inboxPlan) mediaRow(id, tenant uuid.UUID) *mediaRow {
	mp := &p.media
	if mp.rows == nil {
		mp.rows = map[uuid.UUID]*mediaRow{}
	}
	r, ok := mp.rows[id]
	if !ok {
		r = &mediaRow{tenant: tenant, size: -1, status: domain.MediaStatusPending}
		mp.rows[id] = r
		mp.order = append(mp.order, id)
	}
	return r
}

// inboundMedia records the file of a customer's message m (message id
// msg, in conversation conv) to be downloaded; messages of other types
// and media objects without an id have none.
func (p *inboxPlan) inboundMedia(tenantText string, tenant, msg, conv uuid.UUID, m domain.InboundMessage, at time.Time, seq int64) {
	if !domain.IsMedia(m.Type) {
		return
	}
	var c struct {
		ID       string `json:"id"`
		MimeType string `json:"mime_type"`
		SHA256   string `json:"sha256"`
		Filename string `json:"filename"`
		Animated bool   `json:"animated"`
	}
	if json.Unmarshal(m.Content, &c) != nil || c.ID == "" {
		return
	}
	r := p.mediaRow(domain.MediaID(tenantText, m.WAMID), tenant)
	if r.hasRow {
		return // redelivered within the batch: the first copy stands
	}
	r.hasRow, r.direction, r.typ, r.message = true, "inbound", string(m.Type), msg
	if cv := p.convs[conv]; cv != nil {
		r.pnid = cv.phoneNumberID
	}
	r.metaID, r.mime, r.sha, r.fname, r.animated = c.ID, c.MimeType, c.SHA256, c.Filename, c.Animated
	storableTexts(&r.metaID, &r.mime, &r.sha, &r.fname)
	r.at, r.seq = at, seq
}

// addMediaEvent merges an upload or an outcome into the plan.
func (p *inboxPlan) addMediaEvent(ev *Event, me *mediaEvent) {
	seq, at := int64(ev.Seq), ev.ReceivedAt
	p.tenants[me.tenant] = ev.Tenant
	switch {
	case me.uploaded != nil:
		u := me.uploaded
		r := p.mediaRow(u.MediaID, me.tenant)
		if !r.hasRow {
			r.hasRow, r.direction, r.typ = true, "outbound", string(u.Type)
			r.mime, r.sha, r.fname, r.animated = u.MimeType, u.SHA256, u.Filename, u.Animated
			r.settle(domain.MediaStatusStored, u.Size, u.SHA256, u.MimeType, "", 0)
			r.at, r.seq = at, seq
		}
	case me.stored != nil:
		s := me.stored
		r := p.mediaRow(s.MediaID, me.tenant)
		if r.settle(domain.MediaStatusStored, s.Size, s.SHA256, s.MimeType, "", 0) {
			r.at, r.seq = at, seq
		}
	case me.failed != nil:
		f := me.failed
		r := p.mediaRow(f.MediaID, me.tenant)
		if r.settle(domain.MediaStatusFailed, -1, "", "", f.Error, int32(min(f.Attempts, 1<<30))) {
			r.at, r.seq = at, seq
		}
	}
}

// settle moves r to status, when that is up (see domain.MediaStatusRank),
// and reports whether it did.
func (r *mediaRow) settle(status string, size int64, sha, mime, errText string, attempts int32) bool {
	if domain.MediaStatusRank(status) <= domain.MediaStatusRank(r.status) {
		return false
	}
	r.status, r.err = status, errText
	r.attempts = max(r.attempts, attempts)
	if size >= 0 {
		r.size = size
	}
	if status == domain.MediaStatusStored {
		r.sha = sha
		if mime != "" {
			r.mime = mime
		}
	}
	return true
}

// execMedia writes the batch's media, after its messages. With cp set, the
// rows new to the table are copied in (bulk.go).
func (p *inboxPlan) execMedia(ctx context.Context, q *db.Queries, cp copier, notices *[]Notice) error {
	mp := &p.media
	if len(mp.order) == 0 {
		return nil
	}
	ids := mp.order
	if cp != nil {
		var err error
		if ids, err = p.copyMedia(ctx, q, cp); err != nil {
			return fmt.Errorf("media: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
	}
	k := len(ids)
	a := db.UpsertMediaParams{
		Ids: ids, TenantIds: make([]uuid.UUID, 0, k), HasRows: make([]bool, 0, k), Directions: make([]string, 0, k),
		Types: make([]string, 0, k), MessageIds: make([]uuid.UUID, 0, k), PhoneNumberIds: make([]string, 0, k),
		MetaMediaIds: make([]string, 0, k), MimeTypes: make([]string, 0, k), Sha256s: make([]string, 0, k),
		Filenames: make([]string, 0, k), Animated: make([]bool, 0, k), Sizes: make([]int64, 0, k),
		Statuses: make([]string, 0, k), Errors: make([]string, 0, k), Attempts: make([]int32, 0, k),
		Ats: make([]time.Time, 0, k), Seqs: make([]int64, 0, k),
	}
	for _, id := range ids {
		r := mp.rows[id]
		a.TenantIds = append(a.TenantIds, r.tenant)
		a.HasRows = append(a.HasRows, r.hasRow)
		a.Directions = append(a.Directions, r.direction)
		a.Types = append(a.Types, r.typ)
		a.MessageIds = append(a.MessageIds, r.message)
		a.PhoneNumberIds = append(a.PhoneNumberIds, r.pnid)
		a.MetaMediaIds = append(a.MetaMediaIds, r.metaID)
		a.MimeTypes = append(a.MimeTypes, r.mime)
		a.Sha256s = append(a.Sha256s, r.sha)
		a.Filenames = append(a.Filenames, r.fname)
		a.Animated = append(a.Animated, r.animated)
		a.Sizes = append(a.Sizes, r.size)
		a.Statuses = append(a.Statuses, r.status)
		a.Errors = append(a.Errors, r.err)
		a.Attempts = append(a.Attempts, r.attempts)
		a.Ats = append(a.Ats, r.at)
		a.Seqs = append(a.Seqs, r.seq)
	}
	rows, err := q.UpsertMedia(ctx, a)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	n := newNoticeSet(p.tenants)
	for _, r := range rows {
		n.add(r.Kind, r.TenantID, r.ID, r.ConversationID, r.LastSeq)
	}
	*notices = append(*notices, n.list...)
	return nil
}
