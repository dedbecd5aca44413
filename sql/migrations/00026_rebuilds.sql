-- +goose Up

-- Online rebuilds of read models (package rebuild): one row per job, its
-- progress written about once a second by the process that runs it, so
-- any process can answer GET /api/ops/rebuilds/{id}. Operators' business,
-- not a tenant's: no row-level security, and wam_tenant gets no grant.
CREATE TABLE rebuilds (
    id          uuid PRIMARY KEY,
    projector   text NOT NULL,
    tenant_id   uuid,                      -- NULL: every tenant, by swapping the tables
    state       text NOT NULL CHECK (state IN ('running', 'swapping', 'done', 'failed')),
    shadow      text NOT NULL,             -- the schema the shadow tables are built in
    checkpoint  bigint NOT NULL DEFAULT 0, -- stream sequence the shadow has reached
    events_done bigint NOT NULL DEFAULT 0, -- events the shadow has applied
    events_left bigint NOT NULL DEFAULT 0, -- the projector's events stored after the checkpoint
    error       text NOT NULL DEFAULT '',
    requested_by text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz
);
-- One rebuild of a projector at a time.
CREATE UNIQUE INDEX rebuilds_one_running ON rebuilds (projector) WHERE state IN ('running', 'swapping');
REVOKE ALL ON rebuilds FROM wam_tenant;

-- +goose Down
DROP TABLE rebuilds;
