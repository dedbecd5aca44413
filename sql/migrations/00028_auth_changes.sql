-- +goose Up

-- A notification on channel wam_auth whenever something an API key's
-- validity depends on changes: the key itself (revoked, expired, deleted)
-- or its creator (disabled, role changed, deleted). Servers keep the keys
-- they looked up in memory (accounts.KeyCache) only while they listen
-- here, and forget them all on each notification, whichever process made
-- the change (an API server, the CLI). Touching last_used_at does not
-- notify: it changes nothing about the key's validity.
-- +goose StatementBegin
CREATE FUNCTION wam_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wam_auth', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER api_keys_auth_changed
    AFTER UPDATE OF revoked_at, expires_at, hash, tenant_id, created_by OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION wam_auth_changed();
CREATE TRIGGER users_auth_changed
    AFTER UPDATE OF disabled_at, role, tenant_id OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION wam_auth_changed();

-- +goose Down
DROP TRIGGER users_auth_changed ON users;
DROP TRIGGER api_keys_auth_changed ON api_keys;
DROP FUNCTION wam_auth_changed();
