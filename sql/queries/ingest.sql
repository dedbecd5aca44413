-- Queries of webhook ingest (ingest/): routing Meta's webhooks to their
-- tenants and adopting the ones that could not be routed when they came.
-- They run as the table owner, across tenants.

-- RouteOwners finds, for webhook routing, the tenant of each of the phone
-- number ids and WABA ids given (kind 'p' and 'w'), all in one round trip;
-- ids nobody owns have no row. A WABA belongs to one tenant (migration
-- 00013), so it has one row at most.
-- name: RouteOwners :many
SELECT 'p'::text AS kind, phone_number_id AS id, tenant_id FROM phone_numbers
WHERE phone_number_id = ANY (@phone_number_ids::text[])
UNION ALL
SELECT DISTINCT 'w'::text, waba_id, tenant_id FROM phone_numbers
WHERE waba_id = ANY (@waba_ids::text[]);

-- TenantWebhookSecrets are the sealed app secrets and verify tokens of a
-- tenant's own Meta app, for /api/webhook/{tenant_id}.
-- name: TenantWebhookSecrets :many
SELECT phone_number_id, secret_key_id, app_secret_enc, verify_token_enc FROM phone_numbers
WHERE tenant_id = @tenant_id AND (app_secret_enc IS NOT NULL OR verify_token_enc IS NOT NULL);

-- AdoptableWebhooks are unrouted webhooks, not adopted yet, after seq
-- after, that name a phone number (or, for changes without one, a WABA)
-- that has an owner now. One that came to a tenant's own endpoint is only
-- that tenant's to adopt.
-- name: AdoptableWebhooks :many
-- The candidates are found through the GIN indexes on the ids named (few
-- rows, however long the unrouted list); MATERIALIZED keeps the planner
-- from walking the whole log in seq order instead.
WITH candidates AS MATERIALIZED (
    SELECT w.seq, w.unverified, w.routing_tenant FROM webhook_log w
    WHERE w.tenant_id IS NULL AND w.adopted_by IS NULL AND w.refused = ''
      AND (w.phone_number_ids && (SELECT coalesce(array_agg(p.phone_number_id), '{}')::text[] FROM phone_numbers p)
           OR w.waba_ids && (SELECT coalesce(array_agg(DISTINCT p.waba_id), '{}')::text[] FROM phone_numbers p WHERE p.waba_id <> ''))
      AND (w.routing_tenant IS NULL OR EXISTS (
           SELECT 1 FROM phone_numbers p WHERE p.tenant_id = w.routing_tenant
             AND (p.phone_number_id = ANY (w.phone_number_ids) OR (p.waba_id <> '' AND p.waba_id = ANY (w.waba_ids)))))
)
SELECT seq, unverified, routing_tenant FROM candidates
WHERE seq > @after
ORDER BY seq
LIMIT @lim;

-- RefuseWebhook keeps an unrouted webhook out of adoption for good.
-- name: RefuseWebhook :exec
UPDATE webhook_log SET refused = @reason WHERE seq = @seq AND tenant_id IS NULL;
