-- UpsertMedia writes the media rows a batch of the inbox projector touches,
-- merged per file beforehand, and the media object of the messages they
-- came with. Rows the batch announces (has_row: a customer's file in its
-- webhook, an upload) are inserted; the others are outcomes (media.stored,
-- media.failed) for rows made by an earlier batch. A state only moves up,
-- pending < failed < stored (domain.MediaStatusRank), so redelivered
-- webhooks and outcomes in any order or batching give the same rows: a
-- redelivered webhook changes nothing, and a file stored after a failure
-- (a rebuild that found it in the object store) is stored.
--
-- It returns what changed, for live notifications: kind 'message' (a
-- message's media changed) or 'media' (a customer's file to download, for
-- the downloader), with the row's id, tenant, conversation (of a message)
-- and last_seq. Messages must exist already (UpsertMessages, earlier in the
-- same transaction).
-- name: UpsertMedia :many
WITH u AS (
    SELECT unnest(@ids::uuid[]) AS id,
           unnest(@tenant_ids::uuid[]) AS tenant_id,
           unnest(@has_rows::boolean[]) AS has_row,
           unnest(@directions::text[]) AS direction,
           unnest(@types::text[]) AS type,
           unnest(@message_ids::uuid[]) AS message_id,
           unnest(@phone_number_ids::text[]) AS phone_number_id,
           unnest(@meta_media_ids::text[]) AS meta_media_id,
           unnest(@mime_types::text[]) AS mime_type,
           unnest(@sha256s::text[]) AS sha256,
           unnest(@filenames::text[]) AS filename,
           unnest(@animated::boolean[]) AS animated,
           unnest(@sizes::bigint[]) AS size,
           unnest(@statuses::text[]) AS status,
           unnest(@errors::text[]) AS error,
           unnest(@attempts::integer[]) AS attempts,
           unnest(@ats::timestamptz[]) AS at,
           unnest(@seqs::bigint[]) AS seq
), ins AS (
    INSERT INTO media AS d (id, tenant_id, direction, type, message_id, phone_number_id, meta_media_id, mime_type,
                            sha256, filename, animated, size, status, error, attempts, next_attempt_at,
                            created_at, updated_at, last_seq)
    SELECT u.id, u.tenant_id, u.direction, u.type, NULLIF(u.message_id, '00000000-0000-0000-0000-000000000000'::uuid),
           u.phone_number_id, u.meta_media_id, u.mime_type, u.sha256, u.filename, u.animated,
           NULLIF(u.size, -1), u.status, u.error, u.attempts,
           CASE WHEN u.status = 'pending' AND u.direction = 'inbound' THEN u.at END,
           u.at, u.at, u.seq
    FROM u WHERE u.has_row
    ON CONFLICT (id) DO UPDATE SET
        status     = excluded.status,
        size       = COALESCE(excluded.size, d.size),
        sha256     = CASE WHEN excluded.status = 'stored' THEN excluded.sha256 ELSE d.sha256 END,
        mime_type  = CASE WHEN excluded.status = 'stored' AND excluded.mime_type <> '' THEN excluded.mime_type ELSE d.mime_type END,
        error      = excluded.error,
        attempts   = GREATEST(d.attempts, excluded.attempts),
        next_attempt_at = NULL,
        updated_at = excluded.updated_at,
        last_seq   = excluded.last_seq
    WHERE (excluded.status = 'stored' AND d.status <> 'stored')
       OR (excluded.status = 'failed' AND d.status = 'pending')
    RETURNING d.id, d.tenant_id, d.direction, d.message_id, d.status, d.mime_type, d.size, d.filename, d.error,
              d.updated_at, d.last_seq
), settled AS (
    UPDATE media d SET
        status     = u.status,
        size       = COALESCE(NULLIF(u.size, -1), d.size),
        sha256     = CASE WHEN u.status = 'stored' THEN u.sha256 ELSE d.sha256 END,
        mime_type  = CASE WHEN u.status = 'stored' AND u.mime_type <> '' THEN u.mime_type ELSE d.mime_type END,
        error      = u.error,
        attempts   = GREATEST(d.attempts, u.attempts),
        next_attempt_at = NULL,
        updated_at = u.at,
        last_seq   = u.seq
    FROM u
    WHERE NOT u.has_row AND d.id = u.id AND d.tenant_id = u.tenant_id
      AND ((u.status = 'stored' AND d.status <> 'stored') OR (u.status = 'failed' AND d.status = 'pending'))
    RETURNING d.id, d.tenant_id, d.direction, d.message_id, d.status, d.mime_type, d.size, d.filename, d.error,
              d.updated_at, d.last_seq
), changed AS (
    SELECT * FROM ins UNION ALL SELECT * FROM settled
), msg AS (
    UPDATE messages m SET
        media      = message_media(changed.id, changed.status, changed.mime_type, changed.size, changed.filename, changed.error),
        updated_at = GREATEST(m.updated_at, changed.updated_at),
        last_seq   = GREATEST(m.last_seq, changed.last_seq)
    FROM changed
    WHERE changed.message_id IS NOT NULL AND m.id = changed.message_id
    RETURNING m.id, m.tenant_id, m.conversation_id, m.last_seq
)
SELECT 'message'::text AS kind, msg.id, msg.tenant_id, msg.conversation_id, msg.last_seq FROM msg
UNION ALL
SELECT 'media'::text, changed.id, changed.tenant_id, '00000000-0000-0000-0000-000000000000'::uuid, changed.last_seq
FROM changed WHERE changed.status = 'pending' AND changed.direction = 'inbound';

-- ExistingMedia are the ids of those that have a row already: a rebuild's
-- bulk path copies the others in.
-- name: ExistingMedia :many
SELECT id FROM media WHERE id = ANY(@ids::uuid[]);

-- SetMessageMedia gives the messages of the media rows ids (copied in by a
-- rebuild's bulk path) their media object, as UpsertMedia does.
-- name: SetMessageMedia :exec
UPDATE messages m SET
    media      = message_media(d.id, d.status, d.mime_type, d.size, d.filename, d.error),
    updated_at = GREATEST(m.updated_at, d.updated_at),
    last_seq   = GREATEST(m.last_seq, d.last_seq)
FROM media d
WHERE d.id = ANY(@ids::uuid[]) AND d.message_id IS NOT NULL AND m.id = d.message_id;

-- ClaimMediaDownloads takes up to lim customers' files due for a download
-- attempt, for the downloader of this process, and leases them until
-- lease_until (another process's downloader skips them meanwhile; after it,
-- a download that died with its process is due again).
-- name: ClaimMediaDownloads :many
UPDATE media d SET next_attempt_at = @lease_until::timestamptz
WHERE d.id IN (
    SELECT x.id FROM media x
    WHERE x.status = 'pending' AND x.direction = 'inbound' AND x.next_attempt_at <= @now::timestamptz
    ORDER BY x.next_attempt_at
    LIMIT @lim
    FOR UPDATE SKIP LOCKED)
RETURNING d.id, d.tenant_id, d.type, d.phone_number_id, d.meta_media_id, d.mime_type, d.sha256, d.filename,
          d.animated, d.attempts;

-- PostponeMediaDownload records a failed attempt and when to try again.
-- name: PostponeMediaDownload :exec
UPDATE media SET attempts = @attempts, next_attempt_at = @next_attempt_at, error = @error
WHERE id = @id AND status = 'pending';

-- ReleaseMediaDownload gives back the lease of an attempt cut short (wam
-- stopping): the file is due again at once, here or in another process.
-- name: ReleaseMediaDownload :exec
UPDATE media SET next_attempt_at = @next_attempt_at
WHERE id = @id AND status = 'pending';

-- NextMediaDownload is when the next customer's file is due.
-- name: NextMediaDownload :one
SELECT next_attempt_at::timestamptz FROM media
WHERE status = 'pending' AND direction = 'inbound' AND next_attempt_at IS NOT NULL
ORDER BY next_attempt_at LIMIT 1;

-- MediaRow is one media row of a tenant.
-- name: MediaRow :one
SELECT * FROM media WHERE tenant_id = @tenant_id AND id = @id;

-- MetaUpload is the Meta media id file media_id was uploaded as for
-- number phone_number_id, and until when Meta keeps it.
-- name: MetaUpload :one
SELECT meta_media_id, expires_at FROM media_meta_uploads
WHERE tenant_id = @tenant_id AND media_id = @media_id AND phone_number_id = @phone_number_id;

-- SaveMetaUpload records an upload of a file to a number.
-- name: SaveMetaUpload :exec
INSERT INTO media_meta_uploads (tenant_id, media_id, phone_number_id, meta_media_id, uploaded_at, expires_at)
VALUES (@tenant_id, @media_id, @phone_number_id, @meta_media_id, @uploaded_at, @expires_at)
ON CONFLICT (tenant_id, media_id, phone_number_id) DO UPDATE SET
    meta_media_id = excluded.meta_media_id, uploaded_at = excluded.uploaded_at, expires_at = excluded.expires_at;
