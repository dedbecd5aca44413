-- +goose Up

-- Tombstones of erased contacts (package erasure): a keyed hash of the
-- tenant and the contact's WhatsApp id, never the id itself, and when.
-- Configuration of record, not a read model: a rebuild keeps it, and the
-- inbox projector leaves out whatever a webhook says of such a contact
-- from before erased_at (Meta delivering an old webhook again, a replay).
-- The stream holds the same tombstone as a contact.erased event.
CREATE TABLE contact_erasures (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hash             text NOT NULL,
    erased_at        timestamptz NOT NULL,
    tombstone_seq    bigint NOT NULL DEFAULT 0,
    events_deleted   integer NOT NULL DEFAULT 0,
    events_rewritten integer NOT NULL DEFAULT 0,
    media_deleted    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, hash)
);
ALTER TABLE contact_erasures ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_erasures TO wam_tenant
    USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE contact_erasures;
