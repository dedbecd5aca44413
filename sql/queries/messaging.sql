-- Queries of sending (messaging/), run inside a transaction confined to the
-- tenant (rls.InTenant); each takes the tenant id all the same.

-- SendTarget is what sending needs to know of a conversation: its number,
-- its contact, who it is assigned to and when its 24-hour window closes.
-- name: SendTarget :one
SELECT c.id, c.phone_number_id, c.assignee_id, c.window_expires_at, k.wa_id, k.phone
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.tenant_id = @tenant_id AND c.id = @id;

-- ContactWaIDByPhone is the wa_id Meta gave a contact whose phone number is
-- phone (E.164): a wa_id is not always the number's digits.
-- name: ContactWaIDByPhone :one
SELECT wa_id FROM contacts
WHERE tenant_id = @tenant_id AND phone = @phone AND wa_id <> ''
ORDER BY created_at LIMIT 1;

-- TenantPhoneNumberIDs are the tenant's numbers, for sends that name none.
-- name: TenantPhoneNumberIDs :many
SELECT phone_number_id FROM phone_numbers WHERE tenant_id = @tenant_id ORDER BY created_at, phone_number_id;

-- MessageRef finds a message by wam's id, for replies and reactions that
-- refer to it by that id: its conversation and wamid ('' until Meta gives one).
-- name: MessageRef :one
SELECT id, conversation_id, wamid, direction FROM messages WHERE tenant_id = @tenant_id AND id = @id;

-- name: InsertIdempotency :one
INSERT INTO send_idempotency (tenant_id, key, request_hash, message_id, event)
VALUES (@tenant_id, @key, @request_hash, @message_id, @event)
ON CONFLICT (tenant_id, key) DO NOTHING
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
  AND (NOT @after::boolean OR (timestamp, id) < (@cursor_at::timestamptz, @cursor_id::uuid))
ORDER BY timestamp DESC, id DESC
LIMIT @lim;

-- DeleteIdempotencyBefore forgets key when it was recorded before before.
-- name: DeleteIdempotencyBefore :execrows
DELETE FROM send_idempotency WHERE tenant_id = @tenant_id AND key = @key AND created_at < @before;
