-- +goose Up

-- What a tenant may change about itself (name, branding for the UI) and
-- what its plan allows (set by operators).
ALTER TABLE tenants
    ADD COLUMN plan text NOT NULL DEFAULT 'free',
    ADD COLUMN api_requests_per_minute integer NOT NULL DEFAULT 600 CHECK (api_requests_per_minute > 0),
    ADD COLUMN branding jsonb NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE tenants DROP COLUMN plan, DROP COLUMN api_requests_per_minute, DROP COLUMN branding;
