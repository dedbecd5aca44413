-- Accounts and tokens. Sign-in finds a user by email before any tenant is
-- known, so these run as the table owner; the handlers scope by the ids
-- they found.

-- name: CreateUser :one
INSERT INTO users (id, tenant_id, email, name, password_hash, role)
VALUES (@id, @tenant_id, @email, @name, @password_hash, @role)
RETURNING *;

-- name: UserByEmail :one
SELECT * FROM users WHERE email = @email;

-- name: UserByID :one
SELECT * FROM users WHERE tenant_id = @tenant_id AND id = @id;

-- name: UserForUpdate :one
-- A user's row is the lock of their sign-ins: whatever creates, spends or
-- revokes their refresh tokens takes it first, so that a revocation sees
-- every token a concurrent refresh made, and a refresh sees every
-- revocation that committed while it waited.
SELECT * FROM users WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: RefreshTokenByHash :one
SELECT * FROM refresh_tokens WHERE hash = @hash;

-- name: RecordLogin :exec
UPDATE users SET last_login_at = @at::timestamptz WHERE id = @id;

-- name: CreateRefreshToken :exec
INSERT INTO refresh_tokens (id, tenant_id, user_id, family_id, hash, created_at, expires_at)
VALUES (@id, @tenant_id, @user_id, @family_id, @hash, @created_at, @expires_at);

-- name: UseRefreshToken :exec
UPDATE refresh_tokens SET used_at = @at::timestamptz WHERE id = @id;

-- name: RevokeRefreshFamily :exec
UPDATE refresh_tokens SET revoked_at = @at::timestamptz
WHERE family_id = @family_id AND revoked_at IS NULL;

-- name: ListUsers :many
SELECT * FROM users WHERE tenant_id = @tenant_id ORDER BY created_at, id;

-- name: UpdateUser :one
UPDATE users SET
    name        = coalesce(sqlc.narg(name), name),
    role        = coalesce(sqlc.narg(role), role),
    disabled_at = CASE WHEN sqlc.narg(disabled)::boolean IS NULL THEN disabled_at
                       WHEN sqlc.narg(disabled)::boolean THEN coalesce(disabled_at, now())
                       ELSE NULL END
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: DeleteUser :execrows
DELETE FROM users WHERE tenant_id = @tenant_id AND id = @id;

-- name: SetInvite :exec
UPDATE users SET invite_hash = @invite_hash, invite_expires_at = @expires_at::timestamptz
WHERE tenant_id = @tenant_id AND id = @id;

-- name: UserByInvite :one
SELECT * FROM users WHERE invite_hash = @invite_hash;

-- name: UserByInviteForUpdate :one
SELECT * FROM users WHERE invite_hash = @invite_hash FOR UPDATE;

-- name: ActiveUser :one
-- The role and session epoch of a user who may act now: not disabled, not
-- deleted.
SELECT role, session_epoch FROM users WHERE tenant_id = @tenant_id AND id = @id AND disabled_at IS NULL;

-- name: PurgeRefreshTokens :execrows
-- Forgets sign-ins that are over: families whose every token has expired.
-- A family with a live token keeps its spent ones, so that presenting one
-- of them again still revokes the family.
DELETE FROM refresh_tokens r
WHERE r.expires_at < @now::timestamptz
  AND NOT EXISTS (SELECT 1 FROM refresh_tokens l WHERE l.family_id = r.family_id AND l.expires_at >= @now::timestamptz);

-- name: SetPassword :one
-- A new password starts a new session epoch: older access tokens stop. It
-- also voids a pending invitation link, which would set another password.
UPDATE users SET password_hash = @password_hash, session_epoch = session_epoch + 1,
    invite_hash = NULL, invite_expires_at = NULL
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: RevokeUserRefreshTokens :exec
-- Ends every sign-in of a user.
UPDATE refresh_tokens SET revoked_at = @at::timestamptz
WHERE tenant_id = @tenant_id AND user_id = @user_id AND revoked_at IS NULL;
