-- +goose Up

-- Security-relevant actions (sign-ins, failed sign-ins, users, keys,
-- numbers), for the tenant's owner to read. Written in the transaction of
-- the change it records where there is one.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_user uuid,                 -- the signed-in user who acted, if any
    actor_key  uuid,                 -- the API key that acted, if any
    action     text NOT NULL,        -- login, login_failed, user.invited, api_key.created, …
    target     text NOT NULL DEFAULT '',
    detail     jsonb NOT NULL DEFAULT '{}',
    request_id text NOT NULL DEFAULT '',
    ip         text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id DESC);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log TO wam_tenant
    USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid);
GRANT USAGE ON SEQUENCE audit_log_id_seq TO wam_tenant;

-- +goose Down
DROP TABLE audit_log;
