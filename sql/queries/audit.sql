-- name: InsertAudit :exec
INSERT INTO audit_log (tenant_id, actor_user, actor_key, action, target, detail, request_id, ip)
VALUES (@tenant_id, sqlc.narg(actor_user), sqlc.narg(actor_key), @action, @target, @detail, @request_id, @ip);

-- name: ListAudit :many
SELECT * FROM audit_log
WHERE tenant_id = @tenant_id AND (@before::bigint = 0 OR id < @before::bigint)
ORDER BY id DESC
LIMIT @lim;
