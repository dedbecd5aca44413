-- Queries of sending (messaging/). Each names the tenant: a send reads and
-- records without a transaction (messaging.Service.Send), mark-read inside
-- one confined to the tenant (rls.InTenant).

-- SendTarget is what sending needs to know of a conversation: its number,
-- its contact, who it is assigned to and when its 24-hour window closes.
-- SendContext is all a send decides on, read in one round trip without a
-- transaction (every table is filtered by the tenant): the number to send
-- from, the conversation and its window, the contact Meta knows by the
-- phone number, and the template named. The conversation is the one named
-- by conversation_id, or else the one of the contact (by the wa_id Meta gave
-- the phone number's contact, else to_wa_id) with the chosen number.
-- number_id is NULL when phone_number_id is not the tenant's, or none was
-- given and the tenant has not exactly one number.
-- name: SendContext :one
WITH nums AS (
    SELECT phone_number_id, waba_id FROM phone_numbers WHERE tenant_id = @tenant_id::uuid
), named AS (
    SELECT c.id, c.phone_number_id, c.assignee_id, c.window_expires_at, k.wa_id, k.phone
    FROM conversations c JOIN contacts k ON k.id = c.contact_id AND k.tenant_id = @tenant_id::uuid
    WHERE c.tenant_id = @tenant_id::uuid AND c.id = sqlc.narg(conversation_id)::uuid
), known AS (
    SELECT wa_id FROM contacts
    WHERE tenant_id = @tenant_id::uuid AND @phone::text <> '' AND phone = @phone::text AND wa_id <> ''
    ORDER BY created_at LIMIT 1
), num AS (
    SELECT CASE
        WHEN sqlc.narg(conversation_id)::uuid IS NOT NULL THEN (SELECT phone_number_id FROM named)
        WHEN @phone_number_id::text <> '' THEN (SELECT phone_number_id FROM nums WHERE phone_number_id = @phone_number_id::text)
        WHEN (SELECT count(*) FROM nums) = 1 THEN (SELECT phone_number_id FROM nums)
    END AS id
), target AS (
    SELECT * FROM named
    UNION ALL
    SELECT c.id, c.phone_number_id, c.assignee_id, c.window_expires_at, k.wa_id, k.phone
    FROM contacts k JOIN conversations c ON c.contact_id = k.id AND c.tenant_id = @tenant_id::uuid
    WHERE sqlc.narg(conversation_id)::uuid IS NULL AND k.tenant_id = @tenant_id::uuid
      AND k.wa_id = coalesce((SELECT wa_id FROM known), @to_wa_id::text)
      AND c.phone_number_id = (SELECT id FROM num)
    LIMIT 1
), tmpl AS (
    SELECT t.status, t.deleted, t.synced_at, t.components
    FROM templates t JOIN nums n ON n.waba_id = t.waba_id AND n.waba_id <> ''
    WHERE @template_name::text <> '' AND n.phone_number_id = (SELECT id FROM num)
      AND t.tenant_id = @tenant_id::uuid AND t.name = @template_name::text AND t.language = @template_language::text
    ORDER BY t.deleted, t.seen_at DESC NULLS LAST, t.template_id
    LIMIT 1
)
SELECT
    (SELECT count(*) FROM nums)::int AS number_count,
    coalesce((SELECT id FROM num), '')::text AS number_id,
    coalesce((SELECT waba_id FROM nums WHERE phone_number_id = (SELECT id FROM num)), '')::text AS waba_id,
    coalesce((SELECT wa_id FROM known), '')::text AS known_wa_id,
    target.id AS conversation_id, target.assignee_id, target.window_expires_at,
    target.wa_id AS conversation_wa_id, target.phone AS conversation_phone,
    tmpl.status AS template_status, tmpl.deleted AS template_deleted,
    tmpl.synced_at AS template_synced_at, tmpl.components AS template_components
FROM (SELECT) AS one LEFT JOIN target ON true LEFT JOIN tmpl ON true;

-- name: SendTarget :one
SELECT c.id, c.phone_number_id, c.assignee_id, c.window_expires_at, k.wa_id, k.phone
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.tenant_id = @tenant_id AND c.id = @id;

-- MessageRef finds a message by wam's id, for replies and reactions that
-- refer to it by that id: its conversation and wamid ('' until Meta gives one).
-- name: MessageRef :one
SELECT id, conversation_id, wamid, direction FROM messages WHERE tenant_id = @tenant_id AND id = @id;

-- PutIdempotency records a key's request, replacing a record of it made
-- before @before (expired); no row when a fresh one exists (another request
-- with the key came first).
-- name: PutIdempotency :one
INSERT INTO send_idempotency AS i (tenant_id, key, request_hash, message_id, event)
VALUES (@tenant_id, @key, @request_hash, @message_id, @event)
ON CONFLICT (tenant_id, key) DO UPDATE
SET request_hash = excluded.request_hash, message_id = excluded.message_id, event = excluded.event,
    published = false, created_at = excluded.created_at
WHERE i.created_at < @before
RETURNING message_id;

-- name: GetIdempotency :one
SELECT request_hash, message_id, event, published, created_at FROM send_idempotency
WHERE tenant_id = @tenant_id AND key = @key;

-- name: MarkIdempotencyPublished :exec
UPDATE send_idempotency SET published = true WHERE tenant_id = @tenant_id AND key = @key;

-- PurgeIdempotency forgets keys older than before (across tenants).
-- name: PurgeIdempotency :execrows
DELETE FROM send_idempotency WHERE created_at < @before;

-- name: ListTenantMessages :many
-- Filters are optional (NULL: no filter); newest first, by the same cursor
-- as a conversation's messages.
SELECT * FROM messages
WHERE tenant_id = @tenant_id
  AND (sqlc.narg(conversation_id)::uuid IS NULL OR conversation_id = sqlc.narg(conversation_id)::uuid)
  AND (sqlc.narg(direction)::text IS NULL OR direction = sqlc.narg(direction)::text)
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (NOT @after::boolean OR (timestamp, created_at, id) < (@cursor_at::timestamptz, @cursor_then::timestamptz, @cursor_id::uuid))
ORDER BY timestamp DESC, created_at DESC, id DESC
LIMIT @lim;
