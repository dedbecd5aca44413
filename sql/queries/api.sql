-- Queries of the HTTP API and the operator CLI. Every tenant-scoped query
-- takes the tenant id of the authenticated principal.

-- name: CreateTenant :one
INSERT INTO tenants (id, name) VALUES (@id, @name)
RETURNING *;

-- name: CreateAPIKey :one
INSERT INTO api_keys (id, tenant_id, name, prefix, hash, expires_at, created_by)
VALUES (@id, @tenant_id, @name, @prefix, @hash, @expires_at, sqlc.narg(created_by))
RETURNING id, tenant_id, name, prefix, created_at, expires_at;

-- name: GetAPIKeyByHash :one
-- creator_active: the key's creator may still manage the tenant (or an
-- operator made the key).
SELECT k.id, k.tenant_id, k.created_by, k.expires_at, k.revoked_at, k.last_used_at,
       (k.created_by IS NULL OR (u.disabled_at IS NULL AND u.role IN ('owner', 'admin')))::boolean AS creator_active
FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
WHERE k.hash = @hash;

-- name: TouchAPIKey :exec
UPDATE api_keys SET last_used_at = @now::timestamptz WHERE id = @id;

-- name: AddPhoneNumber :one
INSERT INTO phone_numbers (id, tenant_id, phone_number_id, display_phone_number, waba_id)
VALUES (@id, @tenant_id, @phone_number_id, @display_phone_number, @waba_id)
RETURNING *;

-- Filters are optional (NULL: no filter). assignee: a user id;
-- unassigned: only conversations without one.
-- name: ListConversations :many
SELECT c.id, c.phone_number_id, c.status, c.unread_count, c.last_message_at,
       c.last_message_preview, c.window_expires_at, c.created_at, c.last_seq,
       c.assignee_id, c.snoozed_until, c.tags,
       coalesce(c.last_message_at, 'epoch')::timestamptz AS sort_at,
       k.wa_id, k.user_id, k.phone, k.profile_name
FROM conversations c
JOIN contacts k ON k.id = c.contact_id
WHERE c.tenant_id = @tenant_id
  AND (NOT @after::boolean
       OR (coalesce(c.last_message_at, 'epoch'), c.id) < (@cursor_at::timestamptz, @cursor_id::uuid))
  AND (sqlc.narg(status)::text IS NULL OR c.status = sqlc.narg(status)::text)
  AND (sqlc.narg(assignee)::uuid IS NULL OR c.assignee_id = sqlc.narg(assignee)::uuid)
  AND (NOT @unassigned::boolean OR c.assignee_id IS NULL)
  AND (sqlc.narg(phone_number_id)::text IS NULL OR c.phone_number_id = sqlc.narg(phone_number_id)::text)
  AND (sqlc.narg(tag)::text IS NULL OR sqlc.narg(tag)::text = ANY (c.tags))
  AND (NOT @unread_only::boolean OR c.unread_count > 0)
  AND (sqlc.narg(search)::text IS NULL
       OR k.profile_name ILIKE '%' || sqlc.narg(search)::text || '%'
       OR k.phone LIKE '%' || sqlc.narg(search)::text || '%')
ORDER BY coalesce(c.last_message_at, 'epoch') DESC, c.id DESC
LIMIT @lim;

-- name: GetConversation :one
SELECT id FROM conversations WHERE tenant_id = @tenant_id AND id = @id;

-- name: ListMessages :many
SELECT * FROM messages
WHERE tenant_id = @tenant_id AND conversation_id = @conversation_id
  AND (NOT @after::boolean OR (timestamp, created_at, id) < (@cursor_at::timestamptz, @cursor_then::timestamptz, @cursor_id::uuid))
ORDER BY timestamp DESC, created_at DESC, id DESC
LIMIT @lim;

-- name: GetMessage :one
SELECT * FROM messages WHERE tenant_id = @tenant_id AND id = @id;

-- EnterTenant confines the current transaction to one tenant: it switches
-- to the role wam_tenant, whose row-level security policies show only rows
-- of the tenant named by wam.tenant_id.
-- name: EnterTenant :exec
SELECT set_config('role', 'wam_tenant', true), set_config('wam.tenant_id', @tenant_id::text, true);

-- name: ListAPIKeys :many
SELECT id, name, prefix, created_at, expires_at, last_used_at, revoked_at
FROM api_keys WHERE tenant_id = @tenant_id ORDER BY created_at, id;

-- name: RevokeAPIKey :execrows
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE tenant_id = @tenant_id AND id = @id;

-- name: GetTenant :one
SELECT * FROM tenants WHERE id = @id;

-- name: UpdateTenant :one
UPDATE tenants SET name = @name, branding = @branding WHERE id = @id
RETURNING *;

-- name: ConnectNumber :one
INSERT INTO phone_numbers (id, tenant_id, phone_number_id, display_phone_number, waba_id, verified_name,
                           messages_per_second, secret_key_id, access_token_enc, app_secret_enc, verify_token_enc)
VALUES (@id, @tenant_id, @phone_number_id, @display_phone_number, @waba_id, @verified_name,
        @messages_per_second, @secret_key_id, @access_token_enc, @app_secret_enc, @verify_token_enc)
RETURNING *;

-- name: ListNumbers :many
SELECT * FROM phone_numbers WHERE tenant_id = @tenant_id ORDER BY created_at, id;

-- name: DeleteNumber :one
DELETE FROM phone_numbers WHERE tenant_id = @tenant_id AND id = @id
RETURNING phone_number_id;

-- Every number's secrets, for `wam keys rotate` (run by the operator,
-- across tenants).
-- name: AllNumberSecrets :many
SELECT id, tenant_id, phone_number_id, secret_key_id, access_token_enc, app_secret_enc, verify_token_enc
FROM phone_numbers WHERE access_token_enc IS NOT NULL ORDER BY id;

-- name: SetNumberSecrets :exec
UPDATE phone_numbers SET secret_key_id = @secret_key_id, access_token_enc = @access_token_enc,
    app_secret_enc = @app_secret_enc, verify_token_enc = @verify_token_enc
WHERE id = @id;

-- name: SetTenantQuota :exec
UPDATE tenants SET api_requests_per_minute = @api_requests_per_minute, messages_per_minute = @messages_per_minute
WHERE id = @id;

-- name: ListNotes :many
SELECT * FROM notes WHERE tenant_id = @tenant_id AND conversation_id = @conversation_id
ORDER BY created_at, id;

-- ConversationView is one conversation as ListConversations shows it.
-- name: ConversationView :one
SELECT c.id, c.phone_number_id, c.status, c.unread_count, c.last_message_at,
       c.last_message_preview, c.window_expires_at, c.created_at, c.last_seq,
       c.assignee_id, c.snoozed_until, c.tags,
       k.wa_id, k.user_id, k.phone, k.profile_name
FROM conversations c
JOIN contacts k ON k.id = c.contact_id
WHERE c.tenant_id = @tenant_id AND c.id = @id;

-- name: GetNumber :one
SELECT * FROM phone_numbers WHERE tenant_id = @tenant_id AND id = @id;

-- ReplaceNumberCredentials stores a number's secrets sealed anew (a new
-- access token among them) and its rate; the token works again.
-- name: ReplaceNumberCredentials :one
UPDATE phone_numbers SET secret_key_id = @secret_key_id, access_token_enc = @access_token_enc,
    app_secret_enc = @app_secret_enc, verify_token_enc = @verify_token_enc,
    messages_per_second = @messages_per_second,
    token_status = 'valid', token_error = '', token_invalid_at = NULL
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;
