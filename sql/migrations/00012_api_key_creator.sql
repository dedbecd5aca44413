-- +goose Up
-- An API key acts for the person who made it: it stops working when they
-- can no longer manage the tenant (disabled, or no longer an owner or admin)
-- and goes with them when they are deleted. Keys made by an operator
-- (`wam tenant create`) have no creator.
ALTER TABLE api_keys ADD COLUMN created_by uuid REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX api_keys_created_by ON api_keys (created_by) WHERE created_by IS NOT NULL;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN created_by;
