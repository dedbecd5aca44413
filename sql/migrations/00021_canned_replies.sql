-- +goose Up

-- Canned replies: texts agents insert with "/shortcut" in the composer,
-- with variables such as {{contact.name}} filled in by the app. A tenant's
-- configuration, like its branding: an ordinary table, not a projection.
CREATE TABLE canned_replies (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    shortcut   text NOT NULL CHECK (shortcut ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    text       text NOT NULL CHECK (length(text) BETWEEN 1 AND 4096),
    created_by uuid,                        -- the user who made it; NULL for an operator's API key
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (tenant_id, shortcut)
);

ALTER TABLE canned_replies ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON canned_replies TO wam_tenant
    USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE canned_replies;
