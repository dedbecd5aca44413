-- +goose Up

-- Row-level security backs up the tenant id every query already takes.
-- Requests made on behalf of a tenant run as the role wam_tenant with the
-- setting wam.tenant_id set for their transaction (api.Server.inTenant);
-- the policies then show and accept only that tenant's rows, and a
-- transaction that sets no tenant sees nothing. The table owner (the role
-- wam connects as) is not subject to them: projectors, webhook routing and
-- the operator CLI work across tenants by design.

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'wam_tenant') THEN
        CREATE ROLE wam_tenant NOLOGIN;
    END IF;
END
$$;
-- +goose StatementEnd
GRANT wam_tenant TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO wam_tenant;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO wam_tenant;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO wam_tenant;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants TO wam_tenant
    USING (id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (id = nullif(current_setting('wam.tenant_id', true), '')::uuid);

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['api_keys', 'phone_numbers', 'contacts', 'conversations',
                             'messages', 'templates', 'webhook_log'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I TO wam_tenant
            USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)$p$, t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenants', 'api_keys', 'phone_numbers', 'contacts', 'conversations',
                             'messages', 'templates', 'webhook_log'] LOOP
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t);
        EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
REVOKE SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public FROM wam_tenant;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM wam_tenant;
REVOKE USAGE ON SCHEMA public FROM wam_tenant;
