-- +goose Up

-- Unrouted webhooks are adopted into their owner's history once the owner is
-- known: when routing could not be looked up as they arrived (PostgreSQL
-- slow or away: "deferred"), or when the number is connected later. The
-- adopter (ingest/adopt.go) publishes the owned parts to the tenant's subject
-- with a Wam-Adopted-From header; projecting that copy marks the original.
-- Both marks come from events, so a rebuild gives them back.
ALTER TABLE webhook_log
    -- WABA ids of the changes that name no phone number (template updates):
    -- those are routed by their WABA.
    ADD COLUMN waba_ids text[] NOT NULL DEFAULT '{}',
    -- 'deferred': routing could not be looked up when it arrived.
    ADD COLUMN routing text NOT NULL DEFAULT '',
    -- Set when it came to a tenant's own endpoint (/api/webhook/{tenant_id}):
    -- only that tenant may adopt it.
    ADD COLUMN routing_tenant uuid,
    -- The tenant's app secret could not be read when it arrived, so its
    -- signature is checked on adoption.
    ADD COLUMN unverified boolean NOT NULL DEFAULT false,
    -- On an unrouted original: the sequence of the copy that adopted it.
    ADD COLUMN adopted_by bigint,
    -- On an adopted copy: the sequence of the unrouted original.
    ADD COLUMN adopted_from bigint,
    -- Why adoption refused it (a signature that does not match).
    ADD COLUMN refused text NOT NULL DEFAULT '';

-- What the adopter looks through: unrouted, not adopted yet, by the ids named.
CREATE INDEX webhook_log_adoptable_numbers ON webhook_log USING gin (phone_number_ids)
    WHERE tenant_id IS NULL AND adopted_by IS NULL;
CREATE INDEX webhook_log_adoptable_wabas ON webhook_log USING gin (waba_ids)
    WHERE tenant_id IS NULL AND adopted_by IS NULL;
-- One copy per original and owner: a second adoption of the same original
-- (two adopters racing past the stream's duplicate window) is not logged twice.
CREATE UNIQUE INDEX webhook_log_adopted_once ON webhook_log
    (adopted_from, coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid))
    WHERE adopted_from IS NOT NULL;

-- +goose Down
DROP INDEX webhook_log_adopted_once, webhook_log_adoptable_wabas, webhook_log_adoptable_numbers;
ALTER TABLE webhook_log DROP COLUMN waba_ids, DROP COLUMN routing, DROP COLUMN routing_tenant,
    DROP COLUMN unverified, DROP COLUMN adopted_by, DROP COLUMN adopted_from, DROP COLUMN refused;
