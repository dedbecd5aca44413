-- +goose Up

-- The webhook history is searched by a message's wamid and by a contact's
-- phone number (ops.Filter). The inbox projector logs, with each webhook,
-- the wamids of the messages and statuses it carries and the E.164 numbers
-- of the people it names (contacts, senders, recipients of statuses), in
-- the webhook's own row: no table beside it to keep in step, and a rebuild
-- or a re-projection fills them like every other column of the log.
-- Webhooks logged before this migration have neither until they are
-- re-projected (`wam replay`) or the read models rebuilt.
ALTER TABLE webhook_log
    ADD COLUMN wamids         text[] NOT NULL DEFAULT '{}',
    ADD COLUMN contact_phones text[] NOT NULL DEFAULT '{}';

-- A wamid names a webhook or three (the message, its statuses); a number
-- a contact's history. Queries use @> so that these indexes serve them.
CREATE INDEX webhook_log_wamids ON webhook_log USING gin (wamids);
CREATE INDEX webhook_log_contact_phones ON webhook_log USING gin (contact_phones);

-- +goose Down
DROP INDEX webhook_log_contact_phones, webhook_log_wamids;
ALTER TABLE webhook_log DROP COLUMN contact_phones, DROP COLUMN wamids;
