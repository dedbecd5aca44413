-- Queries of erasure (package erasure).

-- name: ContactForErasure :one
SELECT id, wa_id, user_id, phone, profile_name FROM contacts WHERE tenant_id = @tenant_id AND id = @id;

-- name: ContactByPhone :one
SELECT id FROM contacts WHERE tenant_id = @tenant_id AND (phone = @phone OR wa_id = @wa_id)
ORDER BY id LIMIT 1;

-- What of a contact the read models know, to find in the stream and the
-- object store, and to delete.
-- name: ContactFootprint :many
SELECT 'conversation'::text AS kind, c.id::text AS value FROM conversations c
WHERE c.tenant_id = @tenant_id AND c.contact_id = @contact_id
UNION ALL
SELECT 'message', m.id::text FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE c.tenant_id = @tenant_id AND c.contact_id = @contact_id
UNION ALL
SELECT 'wamid', m.wamid FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE c.tenant_id = @tenant_id AND c.contact_id = @contact_id AND m.wamid <> ''
UNION ALL
SELECT 'media', d.id::text FROM media d JOIN messages m ON m.id = d.message_id JOIN conversations c ON c.id = m.conversation_id
WHERE c.tenant_id = @tenant_id AND c.contact_id = @contact_id
UNION ALL
SELECT 'media', coalesce(m.media->>'id', '') FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE c.tenant_id = @tenant_id AND c.contact_id = @contact_id AND m.media ? 'id';

-- name: RecordErasure :exec
INSERT INTO contact_erasures (tenant_id, hash, erased_at) VALUES (@tenant_id, @hash, @erased_at)
ON CONFLICT (tenant_id, hash) DO UPDATE SET erased_at = excluded.erased_at;

-- name: FinishErasure :exec
UPDATE contact_erasures SET tombstone_seq = @tombstone_seq, events_deleted = @events_deleted,
    events_rewritten = @events_rewritten, media_deleted = @media_deleted
WHERE tenant_id = @tenant_id AND hash = @hash;

-- name: AllErasures :many
SELECT tenant_id, hash, erased_at FROM contact_erasures;

-- name: DeleteContactRows :one
-- Every read-model row of the contact, in one statement; the count of rows.
WITH convs AS (
    SELECT cv.id FROM conversations cv WHERE cv.tenant_id = @tenant_id AND cv.contact_id = @contact_id
), msgs AS (
    SELECT m.id FROM messages m WHERE m.tenant_id = @tenant_id AND m.conversation_id IN (SELECT id FROM convs)
), n AS (
    DELETE FROM notes x WHERE x.tenant_id = @tenant_id AND x.conversation_id IN (SELECT id FROM convs) RETURNING 1
), d AS (
    DELETE FROM media x WHERE x.tenant_id = @tenant_id AND (x.message_id IN (SELECT id FROM msgs) OR x.id = ANY(@media_ids::uuid[])) RETURNING 1
), i AS (
    DELETE FROM send_idempotency x WHERE x.tenant_id = @tenant_id AND x.message_id IN (SELECT id FROM msgs) RETURNING 1
), m AS (
    DELETE FROM messages x WHERE x.tenant_id = @tenant_id AND x.id IN (SELECT id FROM msgs) RETURNING 1
), c AS (
    DELETE FROM conversations x WHERE x.tenant_id = @tenant_id AND x.id IN (SELECT id FROM convs) RETURNING 1
), k AS (
    DELETE FROM contacts x WHERE x.tenant_id = @tenant_id AND x.id = @contact_id RETURNING 1
)
SELECT ((SELECT count(*) FROM n) + (SELECT count(*) FROM d) + (SELECT count(*) FROM i) + (SELECT count(*) FROM m)
        + (SELECT count(*) FROM c) + (SELECT count(*) FROM k))::bigint AS rows;

-- name: DeleteEventRows :one
-- The webhook log and parked events of deleted stream sequences.
WITH w AS (
    DELETE FROM webhook_log WHERE seq = ANY(@seqs::bigint[]) RETURNING 1
), p AS (
    DELETE FROM parked_events WHERE seq = ANY(@seqs::bigint[]) RETURNING 1
)
SELECT ((SELECT count(*) FROM w) + (SELECT count(*) FROM p))::bigint AS rows;

-- TenantPhoneNumberIDs are the tenant's numbers: the unrouted webhooks an
-- erasure scans are those that name one.
-- name: TenantPhoneNumberIDs :many
SELECT phone_number_id FROM phone_numbers WHERE tenant_id = @tenant_id ORDER BY created_at, phone_number_id;
