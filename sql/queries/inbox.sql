-- Queries of the projectors (package projections): checkpoints, parked
-- events, and the inbox read models. The inbox statements are set-based: each
-- takes one batch of already merged rows as parallel arrays (unnest), so that
-- a batch of a thousand events costs a handful of statements, not thousands.
-- Each array statement must not touch one row twice: the caller merges rows
-- with the same key before calling.

-- name: EnsureCheckpoint :exec
INSERT INTO projector_checkpoints (name) VALUES (@name)
ON CONFLICT (name) DO NOTHING;

-- name: GetCheckpoint :one
SELECT last_seq FROM projector_checkpoints WHERE name = @name;

-- LockCheckpoint serializes the batches of one projector: whoever holds the
-- row decides which events are still to apply. held tells whether the
-- session holder_pid still holds the projector's advisory lock (see
-- TryLockProjector): a runner that lost it must not commit, another one may
-- have taken over.
-- name: LockCheckpoint :one
SELECT c.last_seq,
       EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
               WHERE l.locktype = 'advisory' AND l.granted AND l.pid = @holder_pid::integer
                 AND l.classid::bigint = @key1::bigint AND l.objid::bigint = @key2::bigint
                 AND l.objsubid = 2) AS held
FROM projector_checkpoints c WHERE c.name = @name FOR UPDATE OF c;

-- The projector lock makes one runner per projector the active one, for as
-- long as its session lasts; the others wait. Two-key advisory locks show in
-- pg_locks as classid, objid and objsubid 2.
-- name: TryLockProjector :one
SELECT pg_try_advisory_lock(@key1::integer, @key2::integer);

-- name: LockProjector :exec
SELECT pg_advisory_lock(@key1::integer, @key2::integer);

-- name: SetCheckpoint :exec
UPDATE projector_checkpoints SET last_seq = @last_seq, updated_at = now()
WHERE name = @name;

-- ProjectorTxSettings tunes the current transaction for a projector batch.
-- It makes PostgreSQL plan each statement for its actual parameters:
-- projector statements take arrays of a batch's rows, and a generic plan,
-- which PostgreSQL switches to after five executions, cannot know how many
-- and picks plans that cost the inbox projector 2.5 times the database CPU.
-- And it commits without waiting for the WAL flush: read models and their
-- checkpoint are derived from the stream, so a commit lost to a crash of
-- PostgreSQL takes the checkpoint back with it, and the projector applies
-- those events again from JetStream.
-- name: ProjectorTxSettings :exec
SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
       set_config('synchronous_commit', 'off', true);

-- name: ParkEvent :exec
INSERT INTO parked_events (projector, seq, subject, error)
VALUES (@projector, @seq, @subject, @error)
ON CONFLICT (projector, seq) DO UPDATE SET error = excluded.error, parked_at = now();

-- name: ListParkedEvents :many
SELECT projector, seq, subject, error, parked_at FROM parked_events
WHERE projector = @projector ORDER BY seq;

-- The arrays of phone number ids and kinds are sent joined by chr(31) (ASCII
-- unit separator) because PostgreSQL has no arrays of arrays of different
-- lengths. A zero tenant id stands for NULL (unrouted).
-- name: InsertWebhookLog :exec
-- A second adopted copy of one original for one owner is not logged
-- (webhook_log_adopted_once): ON CONFLICT without a target.
INSERT INTO webhook_log (seq, received_at, tenant_id, phone_number_ids, waba_ids, kinds,
                         wamids, contact_phones, message_count, status_count,
                         decode_result, decode_error, size_bytes, routing, routing_tenant,
                         unverified, adopted_from)
SELECT u.seq, u.received_at, NULLIF(u.tenant_id, '00000000-0000-0000-0000-000000000000'::uuid),
       string_to_array(u.phone_number_ids, chr(31)), string_to_array(u.waba_ids, chr(31)),
       string_to_array(u.kinds, chr(31)), string_to_array(u.wamids, chr(31)),
       string_to_array(u.contact_phones, chr(31)), u.message_count, u.status_count,
       u.decode_result, u.decode_error, u.size_bytes, u.routing,
       NULLIF(u.routing_tenant, '00000000-0000-0000-0000-000000000000'::uuid), u.unverified,
       NULLIF(u.adopted_from, 0)
FROM (SELECT unnest(@seqs::bigint[]) AS seq,
             unnest(@received_ats::timestamptz[]) AS received_at,
             unnest(@tenant_ids::uuid[]) AS tenant_id,
             unnest(@phone_number_ids::text[]) AS phone_number_ids,
             unnest(@waba_ids::text[]) AS waba_ids,
             unnest(@kinds::text[]) AS kinds,
             unnest(@wamids::text[]) AS wamids,
             unnest(@contact_phones::text[]) AS contact_phones,
             unnest(@message_counts::integer[]) AS message_count,
             unnest(@status_counts::integer[]) AS status_count,
             unnest(@decode_results::text[]) AS decode_result,
             unnest(@decode_errors::text[]) AS decode_error,
             unnest(@size_bytes::integer[]) AS size_bytes,
             unnest(@routings::text[]) AS routing,
             unnest(@routing_tenants::uuid[]) AS routing_tenant,
             unnest(@unverified::boolean[]) AS unverified,
             unnest(@adopted_froms::bigint[]) AS adopted_from) AS u
ON CONFLICT DO NOTHING;

-- RelogWebhooks is, for webhooks applied again (an operator's replay,
-- projections.Runner.Reproject), what InsertWebhookLog cannot do: give
-- the log the ids, kinds, wamids, numbers and decode result that the
-- decoder now finds, so that a fixed decoder corrects the history's filters
-- too (and webhooks logged before migrations 00032 and 00034 get wamids,
-- numbers and counts).
-- name: RelogWebhooks :exec
UPDATE webhook_log w SET
    phone_number_ids = string_to_array(u.phone_number_ids, chr(31)),
    waba_ids         = string_to_array(u.waba_ids, chr(31)),
    kinds            = string_to_array(u.kinds, chr(31)),
    wamids           = string_to_array(u.wamids, chr(31)),
    contact_phones   = string_to_array(u.contact_phones, chr(31)),
    message_count    = u.message_count,
    status_count     = u.status_count,
    decode_result    = u.decode_result,
    decode_error     = u.decode_error
FROM (SELECT unnest(@seqs::bigint[]) AS seq,
             unnest(@phone_number_ids::text[]) AS phone_number_ids,
             unnest(@waba_ids::text[]) AS waba_ids,
             unnest(@kinds::text[]) AS kinds,
             unnest(@wamids::text[]) AS wamids,
             unnest(@contact_phones::text[]) AS contact_phones,
             unnest(@message_counts::integer[]) AS message_count,
             unnest(@status_counts::integer[]) AS status_count,
             unnest(@decode_results::text[]) AS decode_result,
             unnest(@decode_errors::text[]) AS decode_error) AS u
WHERE w.seq = u.seq
  AND (w.phone_number_ids, w.waba_ids, w.kinds, w.wamids, w.contact_phones, w.message_count, w.status_count,
       w.decode_result, w.decode_error) IS DISTINCT FROM
      (string_to_array(u.phone_number_ids, chr(31)), string_to_array(u.waba_ids, chr(31)),
       string_to_array(u.kinds, chr(31)), string_to_array(u.wamids, chr(31)),
       string_to_array(u.contact_phones, chr(31)), u.message_count, u.status_count, u.decode_result, u.decode_error);

-- MarkAdopted marks unrouted originals as adopted by their first copy;
-- the originals are distinct.
-- name: MarkAdopted :exec
UPDATE webhook_log w SET adopted_by = u.copy
FROM (SELECT unnest(@originals::bigint[]) AS original, unnest(@copies::bigint[]) AS copy) AS u
WHERE w.seq = u.original AND w.tenant_id IS NULL AND (w.adopted_by IS NULL OR w.adopted_by > u.copy);

-- Empty values never overwrite known ones (a status knows no profile name);
-- a row whose values did not change is not written at all.
-- name: UpsertContacts :exec
INSERT INTO contacts (id, tenant_id, wa_id, user_id, phone, profile_name, created_at, updated_at, last_seq)
SELECT u.id, u.tenant_id, u.wa_id, u.user_id, u.phone, u.profile_name, u.at, u.at, u.seq
FROM (SELECT unnest(@ids::uuid[]) AS id,
             unnest(@tenant_ids::uuid[]) AS tenant_id,
             unnest(@wa_ids::text[]) AS wa_id,
             unnest(@user_ids::text[]) AS user_id,
             unnest(@phones::text[]) AS phone,
             unnest(@profile_names::text[]) AS profile_name,
             unnest(@ats::timestamptz[]) AS at,
             unnest(@seqs::bigint[]) AS seq) AS u
-- Filtering out the contacts that would not change, before the insert,
-- spares their rows the lock (and WAL record) ON CONFLICT takes even when
-- its WHERE then declines the update.
WHERE NOT EXISTS (
    SELECT 1 FROM contacts c
    WHERE c.id = u.id
      AND (u.wa_id = '' OR u.wa_id = c.wa_id)
      AND (u.user_id = '' OR u.user_id = c.user_id)
      AND (u.phone = '' OR u.phone = c.phone)
      AND (u.profile_name = '' OR u.profile_name = c.profile_name))
ON CONFLICT (id) DO UPDATE SET
    wa_id        = CASE WHEN excluded.wa_id <> '' THEN excluded.wa_id ELSE contacts.wa_id END,
    user_id      = CASE WHEN excluded.user_id <> '' THEN excluded.user_id ELSE contacts.user_id END,
    phone        = CASE WHEN excluded.phone <> '' THEN excluded.phone ELSE contacts.phone END,
    profile_name = CASE WHEN excluded.profile_name <> '' THEN excluded.profile_name ELSE contacts.profile_name END,
    updated_at   = excluded.updated_at,
    last_seq     = excluded.last_seq
WHERE (excluded.wa_id <> '' AND excluded.wa_id <> contacts.wa_id)
   OR (excluded.user_id <> '' AND excluded.user_id <> contacts.user_id)
   OR (excluded.phone <> '' AND excluded.phone <> contacts.phone)
   OR (excluded.profile_name <> '' AND excluded.profile_name <> contacts.profile_name);

-- FillContacts is UpsertContacts for events applied again (an operator's
-- replay, projections.Runner.Reproject): they only fill values still
-- empty. A contact row does not say which event gave it each value, and an
-- old event's profile name must not come back.
-- name: FillContacts :exec
INSERT INTO contacts (id, tenant_id, wa_id, user_id, phone, profile_name, created_at, updated_at, last_seq)
SELECT u.id, u.tenant_id, u.wa_id, u.user_id, u.phone, u.profile_name, u.at, u.at, u.seq
FROM (SELECT unnest(@ids::uuid[]) AS id,
             unnest(@tenant_ids::uuid[]) AS tenant_id,
             unnest(@wa_ids::text[]) AS wa_id,
             unnest(@user_ids::text[]) AS user_id,
             unnest(@phones::text[]) AS phone,
             unnest(@profile_names::text[]) AS profile_name,
             unnest(@ats::timestamptz[]) AS at,
             unnest(@seqs::bigint[]) AS seq) AS u
WHERE NOT EXISTS (
    SELECT 1 FROM contacts c
    WHERE c.id = u.id
      AND (u.wa_id = '' OR c.wa_id <> '') AND (u.user_id = '' OR c.user_id <> '')
      AND (u.phone = '' OR c.phone <> '') AND (u.profile_name = '' OR c.profile_name <> ''))
ON CONFLICT (id) DO UPDATE SET
    wa_id        = CASE WHEN contacts.wa_id = '' THEN excluded.wa_id ELSE contacts.wa_id END,
    user_id      = CASE WHEN contacts.user_id = '' THEN excluded.user_id ELSE contacts.user_id END,
    phone        = CASE WHEN contacts.phone = '' THEN excluded.phone ELSE contacts.phone END,
    profile_name = CASE WHEN contacts.profile_name = '' THEN excluded.profile_name ELSE contacts.profile_name END,
    updated_at   = GREATEST(contacts.updated_at, excluded.updated_at),
    last_seq     = GREATEST(contacts.last_seq, excluded.last_seq)
WHERE (excluded.wa_id <> '' AND contacts.wa_id = '') OR (excluded.user_id <> '' AND contacts.user_id = '')
   OR (excluded.phone <> '' AND contacts.phone = '') OR (excluded.profile_name <> '' AND contacts.profile_name = '');

-- EnsureConversations creates the conversations the messages of a batch
-- belong to.
-- name: EnsureConversations :exec
INSERT INTO conversations (id, tenant_id, contact_id, phone_number_id, created_at, updated_at, last_seq)
SELECT u.id, u.tenant_id, u.contact_id, u.phone_number_id, u.at, u.at, u.seq
FROM (SELECT unnest(@ids::uuid[]) AS id,
             unnest(@tenant_ids::uuid[]) AS tenant_id,
             unnest(@contact_ids::uuid[]) AS contact_id,
             unnest(@phone_number_ids::text[]) AS phone_number_id,
             unnest(@ats::timestamptz[]) AS at,
             unnest(@seqs::bigint[]) AS seq) AS u
ON CONFLICT (id) DO NOTHING;

-- UpsertMessages writes every message row a batch touches, merged per
-- wamid beforehand (content, statuses, edits and revokes of one message come
-- as one row). It returns each row it wrote, for live notifications and for
-- AddFreshMessages: whether it has content now and had before, and what a
-- conversation takes from a message new to the inbox. The caller decides
-- which are (projections.freshMessage) and hands them to AddFreshMessages
-- in the same transaction; a rebuild's bulk path, which writes rows new to
-- its tables with COPY, hands it those too.
--
-- Content only fills a row that has none: Meta redelivers for days, and a
-- message stored already is left alone. A row without content is a
-- placeholder (only statuses, an edit or a revoke seen so far); it gets the
-- content when it comes and keeps what it had. The status only moves up by
-- rank (failed ranks highest: terminal, and it keeps its error); statuses
-- keeps the first sighting of each status. The latest edit by Meta's time
-- stands (edited.timestamp is RFC 3339 in UTC, so it orders as text; edits
-- of one second go by wamid, in byte order as in Go), and the earliest
-- revoke. A row that would not change is not written at all.
--
-- Rows are keyed by id: an inbound message's derives from its wamid, an
-- outbound one's is wam's message id from the send request, whose wamid
-- ('' until then) comes with Meta's acceptance or a status.
--
-- "Had content" is the snapshot the statement started from (the old CTE),
-- which nothing else writes inbound messages into, because one projector at
-- a time holds the checkpoint lock.
-- name: UpsertMessages :many
WITH u AS (
    SELECT unnest(@ids::uuid[]) AS id,
           unnest(@tenant_ids::uuid[]) AS tenant_id,
           unnest(@conversation_ids::uuid[]) AS conversation_id,
           unnest(@wamids::text[]) AS wamid,
           unnest(@directions::text[]) AS direction,
           unnest(@types::text[]) AS type,
           unnest(@contents::jsonb[]) AS content,
           unnest(@previews::text[]) AS preview,
           unnest(@reply_tos::text[]) AS reply_to,
           unnest(@contexts::jsonb[]) AS context,
           unnest(@referrals::jsonb[]) AS referral,
           unnest(@statuses::text[]) AS status,
           unnest(@status_ranks::smallint[]) AS status_rank,
           unnest(@status_times::jsonb[]) AS status_times,
           unnest(@error_codes::integer[]) AS error_code,
           unnest(@error_titles::text[]) AS error_title,
           unnest(@error_details::text[]) AS error_details,
           unnest(@pricings::jsonb[]) AS pricing,
           unnest(@bizs::text[]) AS biz,
           unnest(@editeds::jsonb[]) AS edited,
           unnest(@revoked::boolean[]) AS revoked,
           unnest(@revoked_ats::timestamptz[]) AS revoked_at,
           unnest(@timestamps::timestamptz[]) AS ts,
           unnest(@ats::timestamptz[]) AS at,
           unnest(@seqs::bigint[]) AS seq,
           unnest(@sent_bys::uuid[]) AS sent_by,
           unnest(@message_statuses::text[]) AS message_status
), old AS (
    SELECT m.id, m.content IS NOT NULL AS had_content
    FROM messages m WHERE m.id = ANY(@ids::uuid[])
), up AS (
    INSERT INTO messages AS m (id, tenant_id, conversation_id, wamid, direction, type, content, preview,
                               reply_to, context, referral, status, status_rank, statuses, error_code,
                               error_title, error_details, pricing, biz_opaque_callback_data, edited,
                               revoked_at, timestamp, created_at, updated_at, last_seq, sent_by, message_status)
    SELECT u.id, u.tenant_id, u.conversation_id, u.wamid, u.direction, u.type, u.content, u.preview,
           u.reply_to, u.context, u.referral, u.status, u.status_rank, u.status_times,
           CASE WHEN u.status = 'failed' THEN u.error_code END,
           CASE WHEN u.status = 'failed' THEN u.error_title END,
           CASE WHEN u.status = 'failed' THEN u.error_details END,
           u.pricing, u.biz, u.edited, CASE WHEN u.revoked THEN u.revoked_at END,
           u.ts, u.at, u.at, u.seq, NULLIF(u.sent_by, '00000000-0000-0000-0000-000000000000'::uuid), u.message_status
    FROM u
    ON CONFLICT (id) DO UPDATE SET
        wamid         = CASE WHEN m.wamid = '' THEN excluded.wamid ELSE m.wamid END,
        message_status = CASE WHEN excluded.message_status <> '' THEN excluded.message_status ELSE m.message_status END,
        direction     = CASE WHEN m.content IS NULL AND excluded.content IS NOT NULL THEN excluded.direction ELSE m.direction END,
        type          = CASE WHEN m.content IS NULL AND excluded.content IS NOT NULL THEN excluded.type ELSE m.type END,
        preview       = CASE WHEN m.content IS NULL AND excluded.content IS NOT NULL THEN excluded.preview ELSE m.preview END,
        reply_to      = CASE WHEN m.content IS NULL AND excluded.content IS NOT NULL THEN excluded.reply_to ELSE m.reply_to END,
        context       = CASE WHEN m.content IS NULL AND excluded.content IS NOT NULL THEN excluded.context ELSE m.context END,
        referral      = CASE WHEN m.content IS NULL AND excluded.content IS NOT NULL THEN excluded.referral ELSE m.referral END,
        timestamp     = CASE WHEN m.content IS NULL AND excluded.content IS NOT NULL THEN excluded.timestamp
                             WHEN m.content IS NULL THEN LEAST(m.timestamp, excluded.timestamp)
                             ELSE m.timestamp END,
        content       = COALESCE(m.content, excluded.content),
        status        = CASE WHEN excluded.status_rank > m.status_rank THEN excluded.status ELSE m.status END,
        status_rank   = GREATEST(m.status_rank, excluded.status_rank),
        statuses      = excluded.statuses || m.statuses,
        error_code    = CASE WHEN excluded.status_rank > m.status_rank AND excluded.status = 'failed'
                             THEN excluded.error_code ELSE m.error_code END,
        error_title   = CASE WHEN excluded.status_rank > m.status_rank AND excluded.status = 'failed'
                             THEN excluded.error_title ELSE m.error_title END,
        error_details = CASE WHEN excluded.status_rank > m.status_rank AND excluded.status = 'failed'
                             THEN excluded.error_details ELSE m.error_details END,
        pricing       = CASE WHEN @replay::boolean AND m.pricing IS NOT NULL THEN m.pricing ELSE COALESCE(excluded.pricing, m.pricing) END,
        biz_opaque_callback_data = CASE WHEN excluded.biz_opaque_callback_data <> ''
                             THEN excluded.biz_opaque_callback_data ELSE m.biz_opaque_callback_data END,
        edited        = CASE WHEN excluded.edited IS NOT NULL AND (m.edited IS NULL OR
                                 (excluded.edited->>'timestamp', excluded.edited->>'wamid' COLLATE "C") >
                                 (m.edited->>'timestamp', m.edited->>'wamid' COLLATE "C"))
                             THEN excluded.edited ELSE m.edited END,
        revoked_at    = LEAST(m.revoked_at, excluded.revoked_at),
        updated_at    = excluded.updated_at,
        last_seq      = excluded.last_seq
    WHERE (m.content IS NULL AND excluded.content IS NOT NULL)
       OR excluded.status_rank > m.status_rank
       OR (excluded.statuses || m.statuses) <> m.statuses
       OR (excluded.pricing IS NOT NULL AND excluded.pricing IS DISTINCT FROM m.pricing AND NOT (@replay::boolean AND m.pricing IS NOT NULL))
       OR (excluded.biz_opaque_callback_data <> '' AND excluded.biz_opaque_callback_data <> m.biz_opaque_callback_data)
       OR (m.content IS NULL AND excluded.timestamp < m.timestamp)
       OR (excluded.edited IS NOT NULL AND (m.edited IS NULL OR
           (excluded.edited->>'timestamp', excluded.edited->>'wamid' COLLATE "C") >
           (m.edited->>'timestamp', m.edited->>'wamid' COLLATE "C")))
       OR (excluded.revoked_at IS NOT NULL AND (m.revoked_at IS NULL OR excluded.revoked_at < m.revoked_at))
       OR (m.wamid = '' AND excluded.wamid <> '')
       OR (excluded.message_status <> '' AND excluded.message_status <> m.message_status)
    RETURNING m.id, m.tenant_id, m.conversation_id, m.type, m.direction, m.content IS NOT NULL AS has_content,
              m.timestamp, m.preview, m.updated_at, m.last_seq
)
SELECT up.id, up.tenant_id, up.conversation_id, up.last_seq, up.type, up.direction = 'inbound' AS inbound,
       up.has_content::boolean AS has_content, coalesce(old.had_content, false)::boolean AS had_content,
       up.timestamp, up.preview, up.updated_at
FROM up LEFT JOIN old ON old.id = up.id;

-- AddFreshMessages brings conversations up to date with the messages new
-- to the inbox (projections.freshMessage: content now, none before, a type
-- that counts), one array element each: they move the last message forward
-- (never back in Meta's time); those from the customer also add to
-- unread, extend the 24-hour window and open the conversation again. It
-- returns the conversations it changed and those EnsureConversations
-- created for this batch (all_conversation_ids changed since first_seq:
-- this statement does not see what its own update did to them, so a
-- caller keeps the higher seq), for live notifications. A conversation may
-- come twice.
--
-- Conversations must exist already (EnsureConversations, earlier in the same
-- transaction).
-- name: AddFreshMessages :many
WITH fresh AS (
    SELECT unnest(@conversation_ids::uuid[]) AS conversation_id,
           unnest(@inbound::boolean[]) AS inbound,
           unnest(@timestamps::timestamptz[]) AS timestamp,
           unnest(@previews::text[]) AS preview,
           unnest(@ats::timestamptz[]) AS updated_at,
           unnest(@seqs::bigint[]) AS last_seq
), agg AS (
    SELECT fresh.conversation_id, (count(*) FILTER (WHERE fresh.inbound))::integer AS new_count,
           max(fresh.timestamp) AS last_at, max(fresh.timestamp) FILTER (WHERE fresh.inbound) AS last_inbound_at,
           (array_agg(fresh.preview ORDER BY fresh.timestamp DESC, fresh.last_seq DESC))[1] AS preview,
           max(fresh.updated_at) AS at, max(fresh.last_seq) AS seq
    FROM fresh GROUP BY fresh.conversation_id
), conv AS (
    UPDATE conversations c SET
        unread_count         = c.unread_count + agg.new_count,
        last_message_at      = CASE WHEN c.last_message_at IS NULL OR agg.last_at >= c.last_message_at
                                    THEN agg.last_at ELSE c.last_message_at END,
        last_message_preview = CASE WHEN c.last_message_at IS NULL OR agg.last_at >= c.last_message_at
                                    THEN agg.preview ELSE c.last_message_preview END,
        last_inbound_at      = GREATEST(c.last_inbound_at, agg.last_inbound_at),
        window_expires_at    = GREATEST(c.last_inbound_at, agg.last_inbound_at) + interval '24 hours',
        -- A customer writing opens the conversation again; a reply does not.
        status               = CASE WHEN agg.last_inbound_at IS NOT NULL THEN 'open' ELSE c.status END,
        snoozed_until        = CASE WHEN agg.last_inbound_at IS NOT NULL THEN NULL ELSE c.snoozed_until END,
        updated_at           = agg.at,
        last_seq             = GREATEST(c.last_seq, agg.seq)
    FROM agg
    WHERE c.id = agg.conversation_id
    RETURNING c.id, c.tenant_id, c.last_seq
)
SELECT conv.id, conv.tenant_id, conv.last_seq FROM conv
UNION ALL
SELECT c.id, c.tenant_id, c.last_seq FROM conversations c
WHERE c.id = ANY(@all_conversation_ids::uuid[]) AND c.last_seq >= @first_seq::bigint;

-- ExistingMessages are the ids of those that have a row already: a
-- rebuild's bulk path copies the others in.
-- name: ExistingMessages :many
SELECT id FROM messages WHERE id = ANY(@ids::uuid[]);

-- Conversation events (wam.<tenant>.conversation.*), one statement each,
-- in stream order between the batch's webhooks.

-- name: SetConversationAssignee :exec
UPDATE conversations SET assignee_id = sqlc.narg(assignee_id), updated_at = @at, last_seq = @seq
WHERE tenant_id = @tenant_id AND id = @id;

-- name: SetConversationStatus :exec
UPDATE conversations SET status = @status, snoozed_until = sqlc.narg(snoozed_until), updated_at = @at, last_seq = @seq
WHERE tenant_id = @tenant_id AND id = @id;

-- ExpireSnooze applies conversation.snooze_expired: it reopens the
-- conversation only if the snooze that ended still holds. A conversation
-- re-snoozed (to another time), closed or reopened since the waker saw it
-- is left as it is, so a late or repeated wake-up changes nothing.
-- name: ExpireSnooze :exec
UPDATE conversations SET status = 'open', snoozed_until = NULL, updated_at = @at, last_seq = @seq
WHERE tenant_id = @tenant_id AND id = @id AND status = 'snoozed' AND snoozed_until = @snoozed_until;

-- name: SetConversationTags :exec
UPDATE conversations SET tags = @tags::text[], updated_at = @at, last_seq = @seq
WHERE tenant_id = @tenant_id AND id = @id;

-- name: MarkConversationRead :exec
UPDATE conversations SET unread_count = 0, updated_at = @at, last_seq = @seq
WHERE tenant_id = @tenant_id AND id = @id;

-- name: InsertNote :exec
INSERT INTO notes (id, tenant_id, conversation_id, author_id, body, created_at, last_seq)
SELECT @id, @tenant_id, c.id, sqlc.narg(author_id), @body, @at, @seq
FROM conversations c WHERE c.tenant_id = @tenant_id AND c.id = @conversation_id
ON CONFLICT (id) DO NOTHING;
