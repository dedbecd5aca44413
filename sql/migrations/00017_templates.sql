-- +goose Up

-- Templates are events too: a sync with Meta (template.synced), a creation
-- (template.created) and a deletion (template.deleted) are published and
-- applied by the inbox projector with the status webhooks, so a rebuild
-- gives these rows back. Each fact has its own clock, and each column takes
-- the newest one, so that the rows do not depend on the order in which
-- facts of different origins arrive (nor on how batches are cut):
--
--   status, reason, provisional, updated_at: the newest status; a status
--     that is only Meta's answer to a creation (PENDING) is provisional and
--     gives way to any update or listing, whatever their time;
--   category, components, synced_at: the newest listing or creation;
--   seen_at: the latest sign that Meta has the template (a listing, a
--     creation, a status update); gone_at: the latest sign that it is gone
--     (a listing without it, a deletion, a DELETED update). It is deleted
--     while gone_at is the later.
ALTER TABLE templates
    ADD COLUMN category    text NOT NULL DEFAULT '',
    ADD COLUMN components  jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN synced_at   timestamptz,
    ADD COLUMN provisional boolean NOT NULL DEFAULT false,
    ADD COLUMN seen_at     timestamptz,
    ADD COLUMN gone_at     timestamptz,
    ADD COLUMN deleted     boolean NOT NULL
        GENERATED ALWAYS AS (gone_at IS NOT NULL AND (seen_at IS NULL OR gone_at > seen_at)) STORED;
UPDATE templates SET
    seen_at = CASE WHEN status IN ('DELETED', 'PENDING_DELETION') THEN NULL ELSE updated_at END,
    gone_at = CASE WHEN status IN ('DELETED', 'PENDING_DELETION') THEN updated_at END;
-- A send finds its template by WABA, name and language.
CREATE INDEX templates_name ON templates (tenant_id, waba_id, name, language);

-- When each WABA's templates were last listed in full (a read model of
-- template.synced): the sync worker lists those not listed for a while.
CREATE TABLE template_syncs (
    tenant_id uuid NOT NULL,
    waba_id   text NOT NULL,
    synced_at timestamptz NOT NULL,
    templates integer NOT NULL,
    last_seq  bigint NOT NULL,
    PRIMARY KEY (tenant_id, waba_id)
);
ALTER TABLE template_syncs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON template_syncs TO wam_tenant
    USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE template_syncs;
DROP INDEX templates_name;
ALTER TABLE templates DROP COLUMN deleted, DROP COLUMN category, DROP COLUMN components, DROP COLUMN synced_at,
    DROP COLUMN provisional, DROP COLUMN seen_at, DROP COLUMN gone_at;
