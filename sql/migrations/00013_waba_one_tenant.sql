-- +goose Up

-- A WhatsApp Business Account belongs to one tenant. Its WABA-level
-- webhooks (template status updates) are routed by its id: claimed by two
-- tenants, they reached neither, and a tenant could claim another's WABA to
-- make that happen. btree_gist lets an exclusion constraint compare text and
-- uuid; it is a trusted extension, which a user with CREATE on the database
-- may create.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- A WABA several tenants claim already cannot be handed to one of them
-- here. Their claims are cleared instead, which leaves its webhooks routed
-- as they were (to the unrouted subject, kept); the rightful tenant
-- reconnects its numbers, and Meta now vouches for the WABA.
UPDATE phone_numbers SET waba_id = ''
WHERE waba_id IN (SELECT waba_id FROM phone_numbers WHERE waba_id <> ''
                  GROUP BY waba_id HAVING count(DISTINCT tenant_id) > 1);

ALTER TABLE phone_numbers ADD CONSTRAINT phone_numbers_waba_one_tenant
    EXCLUDE USING gist (waba_id WITH =, tenant_id WITH <>) WHERE (waba_id <> '');

-- +goose Down
ALTER TABLE phone_numbers DROP CONSTRAINT phone_numbers_waba_one_tenant;
