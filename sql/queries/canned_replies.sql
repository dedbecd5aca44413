-- name: ListCannedReplies :many
SELECT * FROM canned_replies WHERE tenant_id = @tenant_id ORDER BY shortcut;

-- name: GetCannedReply :one
SELECT * FROM canned_replies WHERE tenant_id = @tenant_id AND id = @id;

-- name: CreateCannedReply :one
INSERT INTO canned_replies (id, tenant_id, shortcut, text, created_by, created_at, updated_at)
VALUES (@id, @tenant_id, @shortcut, @text, sqlc.narg(created_by), @now, @now)
RETURNING *;

-- name: UpdateCannedReply :one
UPDATE canned_replies SET shortcut = @shortcut, text = @text, updated_at = @now
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: DeleteCannedReply :execrows
DELETE FROM canned_replies WHERE tenant_id = @tenant_id AND id = @id;
