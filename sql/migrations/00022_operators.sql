-- +goose Up

-- Operators run a wam installation, above tenants: they sign in with a
-- password as users do, but belong to no tenant, and reach /api/ops only.
-- Configuration of record, like users.
CREATE TABLE operators (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
    name          text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    password_hash text NOT NULL,          -- argon2id, PHC string
    session_epoch integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    disabled_at   timestamptz
);

-- What operators did (and failed sign-ins at their addresses). Apart from
-- the tenants' audit_log: an operator's action may name no tenant, or all.
-- No policy for wam_tenant: tenants never see it.
CREATE TABLE ops_audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    operator_id uuid,                -- NULL: a failed sign-in of an unknown address, or the CLI
    action      text NOT NULL,       -- login, login_failed, replay.requested, parked.discarded, …
    tenant_id   uuid,                -- the tenant acted on, if one
    target      text NOT NULL DEFAULT '',
    detail      jsonb NOT NULL DEFAULT '{}',
    request_id  text NOT NULL DEFAULT '',
    ip          text NOT NULL DEFAULT ''
);
ALTER TABLE ops_audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE operators ENABLE ROW LEVEL SECURITY;

-- Replay jobs: a read model of the replay.* events (ops/replay.go). A job of
-- one tenant has its tenant_id; an operator's job across tenants has none.
CREATE TABLE replay_jobs (
    id           uuid PRIMARY KEY,
    tenant_id    uuid,
    mode         text NOT NULL,          -- reproject | adopt_unrouted | redeliver
    selection    jsonb NOT NULL,
    state        text NOT NULL,          -- requested | running | finished | cancelled | failed
    matched      bigint NOT NULL DEFAULT 0,
    done         bigint NOT NULL DEFAULT 0,
    rate         double precision NOT NULL DEFAULT 0, -- events per second lately
    cursor       bigint NOT NULL DEFAULT 0,           -- last stream sequence done, to resume from
    error        text NOT NULL DEFAULT '',
    requested_by text NOT NULL DEFAULT '', -- operator:<id>, user:<id>, api_key:<id>, cli
    requested_at timestamptz NOT NULL,
    started_at   timestamptz,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    last_seq     bigint NOT NULL
);
CREATE INDEX replay_jobs_tenant ON replay_jobs (tenant_id, requested_at DESC);
CREATE INDEX replay_jobs_open ON replay_jobs (requested_at) WHERE state IN ('requested', 'running');
ALTER TABLE replay_jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON replay_jobs TO wam_tenant
    USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid);

-- Webhook history is browsed by time and by tenant and time.
CREATE INDEX webhook_log_received ON webhook_log (received_at DESC, seq DESC);

-- +goose Down
DROP INDEX webhook_log_received;
DROP TABLE replay_jobs, ops_audit_log, operators;
