-- +goose Up

-- Invitations by link: the invitee sets their own password with a one-time
-- token (stored as its SHA-256) before it expires.
ALTER TABLE users
    ADD COLUMN invite_hash       bytea UNIQUE,
    ADD COLUMN invite_expires_at timestamptz;

-- +goose Down
ALTER TABLE users DROP COLUMN invite_hash, DROP COLUMN invite_expires_at;
