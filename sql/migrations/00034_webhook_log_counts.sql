-- +goose Up

-- How many messages and statuses each webhook carries, for the history's
-- list (its items show them). Webhooks logged before are 0 until
-- re-projected (RelogWebhooks) or rebuilt.
ALTER TABLE webhook_log
    ADD COLUMN message_count integer NOT NULL DEFAULT 0,
    ADD COLUMN status_count  integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE webhook_log DROP COLUMN status_count, DROP COLUMN message_count;
