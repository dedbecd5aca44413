package projections

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// The bulk path: how a rebuild's shadow runner (Options.Bulk) writes the
// read models it fills from sequence 1. It is the inbox projection's own
// Apply — the same plan merging each run of a batch per row, the same
// statements for contacts, conversations, templates, agents' actions and
// every row a table has already — except that the webhook log entries,
// message rows and media rows that are new to their tables, nearly all of
// them while the shadow is being filled, are written with COPY instead of
// the upserts: an upsert of a row that is not there inserts exactly what
// the plan merged, and COPY does that several times cheaper. The rules of
// merging live in the plan and in the statements alone; what is here is
// only how a merged row that is new goes into its table, column by
// column, as the insert branch of its statement puts it
// (sql/queries/inbox.sql and media.sql). The conversations take the
// messages copied in through AddFreshMessages, as they take the upserted
// ones.

// BulkTables are the read models the bulk path copies rows into.
var BulkTables = []string{"webhook_log", "messages", "media"}

// BulkApplier is a Projection that can apply a batch the bulk way
// (Options.Bulk). Its rows' live notifications may be left out: it is
// meant for a runner nobody watches (Options.Quiet).
type BulkApplier interface {
	ApplyBulk(ctx context.Context, q db.DBTX, events []*Event, notices *[]Notice) error
}

// copier is what the bulk path writes through: the batch's pipeline,
// whose CopyFrom sends what is queued first.
type copier interface {
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// bulkMin is the fewest rows a run must write for COPY to pay (each COPY
// costs round trips of its own); smaller runs go through the statements.
const bulkMin = 200

// ApplyBulk is Apply for read models being filled by a rebuild: rows new
// to the webhook log, messages and media are copied in. Through a db.DBTX
// that cannot copy it is Apply.
func (Inbox) ApplyBulk(ctx context.Context, q db.DBTX, events []*Event, notices *[]Notice) error {
	cp, _ := q.(copier)
	return apply(ctx, q, cp, events, notices)
}

// size is how many rows of the bulk tables the plan writes.
func (p *inboxPlan) size() int { return len(p.log.Seqs) + len(p.messageOrder) + len(p.media.order) }

// nullUUID and nullJSON are nil (SQL NULL) for a column's zero value.
func nullUUID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id
}

func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// textArray is a text[] sent joined by sep as InsertWebhookLog's
// string_to_array(s, chr(31)) reads it: an empty text is the empty array.
func textArray(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, sep)
}

// copyLog copies in the webhook log entries of the plan, and returns those
// left for InsertWebhookLog: adopted copies, of which only the first of an
// original for an owner is logged (webhook_log_adopted_once decides).
func (p *inboxPlan) copyLog(ctx context.Context, cp copier) (db.InsertWebhookLogParams, error) {
	l := &p.log
	var adopted []int
	rows := make([][]any, 0, len(l.Seqs))
	for i := range l.Seqs {
		if l.AdoptedFroms[i] != 0 {
			adopted = append(adopted, i)
			continue
		}
		rows = append(rows, []any{l.Seqs[i], l.ReceivedAts[i], nullUUID(l.TenantIds[i]), textArray(l.PhoneNumberIds[i]),
			textArray(l.WabaIds[i]), textArray(l.Kinds[i]), textArray(l.Wamids[i]), textArray(l.ContactPhones[i]),
			l.MessageCounts[i], l.StatusCounts[i], l.DecodeResults[i], l.DecodeErrors[i], l.SizeBytes[i], l.Routings[i], nullUUID(l.RoutingTenants[i]), l.Unverified[i], nil})
	}
	rest := db.InsertWebhookLogParams{Seqs: pick(l.Seqs, adopted), ReceivedAts: pick(l.ReceivedAts, adopted),
		TenantIds: pick(l.TenantIds, adopted), PhoneNumberIds: pick(l.PhoneNumberIds, adopted), WabaIds: pick(l.WabaIds, adopted),
		Kinds: pick(l.Kinds, adopted), Wamids: pick(l.Wamids, adopted), ContactPhones: pick(l.ContactPhones, adopted),
		MessageCounts: pick(l.MessageCounts, adopted), StatusCounts: pick(l.StatusCounts, adopted), DecodeResults: pick(l.DecodeResults, adopted), DecodeErrors: pick(l.DecodeErrors, adopted),
		SizeBytes: pick(l.SizeBytes, adopted), Routings: pick(l.Routings, adopted), RoutingTenants: pick(l.RoutingTenants, adopted),
		Unverified: pick(l.Unverified, adopted), AdoptedFroms: pick(l.AdoptedFroms, adopted)}
	if len(rows) == 0 {
		return rest, nil
	}
	_, err := cp.CopyFrom(ctx, pgx.Identifier{"webhook_log"}, []string{"seq", "received_at", "tenant_id", "phone_number_ids",
		"waba_ids", "kinds", "wamids", "contact_phones", "message_count", "status_count", "decode_result", "decode_error", "size_bytes", "routing", "routing_tenant", "unverified",
		"adopted_from"}, pgx.CopyFromRows(rows))
	return rest, err
}

// pick is the elements of s at indexes.
func pick[T any](s []T, indexes []int) []T {
	out := make([]T, len(indexes))
	for i, j := range indexes {
		out[i] = s[j]
	}
	return out
}

// messageColumns are the columns UpsertMessages inserts.
var messageColumns = []string{"id", "tenant_id", "conversation_id", "wamid", "direction", "type", "content", "preview",
	"reply_to", "context", "referral", "status", "status_rank", "statuses", "error_code", "error_title", "error_details",
	"pricing", "biz_opaque_callback_data", "edited", "revoked_at", "timestamp", "created_at", "updated_at", "last_seq",
	"sent_by", "message_status"}

// copyMessages copies in the message rows of the plan that the table does
// not have, adds those new to the inbox to fresh, and returns the others,
// for UpsertMessages.
func (p *inboxPlan) copyMessages(ctx context.Context, q *db.Queries, cp copier, fresh *freshRows) ([]uuid.UUID, error) {
	existing, err := q.ExistingMessages(ctx, p.messageOrder)
	if err != nil {
		return nil, err
	}
	have := make(map[uuid.UUID]bool, len(existing))
	for _, id := range existing {
		have[id] = true
	}
	var upsert []uuid.UUID
	rows := make([][]any, 0, len(p.messageOrder)-len(existing))
	for _, id := range p.messageOrder {
		if have[id] {
			upsert = append(upsert, id)
			continue
		}
		m := p.messages[id]
		typ, status, times := m.values()
		// As UpsertMessages inserts: the error only on a failed message,
		// the revoke's time only when revoked, no sender but a user.
		var code, title, details, revokedAt any
		if status == domain.StatusFailed {
			code, title, details = m.errCode, m.errTitle, m.errDetails
		}
		if m.revoked {
			revokedAt = m.revokedAt
		}
		rows = append(rows, []any{id, m.tenant, m.conversation, m.wamid, m.direction, typ, nullJSON(m.content), m.preview,
			m.replyTo, nullJSON(m.context), nullJSON(m.referral), string(status), int16(domain.StatusRank(status)), times,
			code, title, details, nullJSON(m.pricing), m.biz, nullJSON(m.edited), revokedAt, m.ts, m.at, m.at, m.seq,
			nullUUID(m.sentBy), m.messageStatus})
		if freshMessage(m.content != nil, false, typ) {
			fresh.add(m.conversation, m.direction == "inbound", m.ts, m.preview, m.at, m.seq)
		}
	}
	if len(rows) > 0 {
		if _, err := cp.CopyFrom(ctx, pgx.Identifier{"messages"}, messageColumns, pgx.CopyFromRows(rows)); err != nil {
			return nil, err
		}
	}
	return upsert, nil
}

// copyMedia copies in the media rows the plan announces that the table
// does not have, gives their messages the media object
// (SetMessageMedia), and returns the others, for UpsertMedia.
func (p *inboxPlan) copyMedia(ctx context.Context, q *db.Queries, cp copier) ([]uuid.UUID, error) {
	mp := &p.media
	var announced []uuid.UUID
	for _, id := range mp.order {
		if mp.rows[id].hasRow {
			announced = append(announced, id)
		}
	}
	if len(announced) == 0 {
		return mp.order, nil
	}
	existing, err := q.ExistingMedia(ctx, announced)
	if err != nil {
		return nil, err
	}
	have := make(map[uuid.UUID]bool, len(existing))
	for _, id := range existing {
		have[id] = true
	}
	var rest, copied []uuid.UUID
	var rows [][]any
	for _, id := range mp.order {
		r := mp.rows[id]
		if !r.hasRow || have[id] {
			rest = append(rest, id)
			continue
		}
		// As UpsertMedia inserts: a customer's file still to fetch is due
		// at once.
		var size, due any
		if r.size >= 0 {
			size = r.size
		}
		if r.status == domain.MediaStatusPending && r.direction == "inbound" {
			due = r.at
		}
		rows = append(rows, []any{id, r.tenant, r.direction, r.typ, nullUUID(r.message), r.pnid, r.metaID, r.mime, r.sha,
			r.fname, r.animated, size, r.status, r.err, r.attempts, due, r.at, r.at, r.seq})
		copied = append(copied, id)
	}
	if len(rows) == 0 {
		return rest, nil
	}
	if _, err := cp.CopyFrom(ctx, pgx.Identifier{"media"}, []string{"id", "tenant_id", "direction", "type", "message_id",
		"phone_number_id", "meta_media_id", "mime_type", "sha256", "filename", "animated", "size", "status", "error",
		"attempts", "next_attempt_at", "created_at", "updated_at", "last_seq"}, pgx.CopyFromRows(rows)); err != nil {
		return nil, err
	}
	return rest, q.SetMessageMedia(ctx, copied)
}
