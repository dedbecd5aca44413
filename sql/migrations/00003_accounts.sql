-- +goose Up

-- People who sign in: a tenant's owner, admins and agents.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email         text NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash text NOT NULL,          -- argon2id, PHC string
    role          text NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    disabled_at   timestamptz
);
-- One account per address across tenants: login needs no tenant name.
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_tenant ON users (tenant_id);

-- Refresh tokens are single use: each use marks the token used and issues
-- the next one of its family. A used token presented again means it was
-- stolen (or replayed): the whole family is revoked.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid NOT NULL,
    hash        bytea NOT NULL UNIQUE,    -- sha256 of the token; the token is never stored
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users TO wam_tenant
    USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid);
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refresh_tokens TO wam_tenant
    USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE refresh_tokens, users;
