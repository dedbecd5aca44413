-- +goose Up

-- The operators' stats count the sends waiting for the sender, per number:
-- outbound messages still queued (requested, no outcome projected yet).
-- They are few at any time, so the index is small and the count cheap.
CREATE INDEX messages_queued ON messages (conversation_id) WHERE status = 'queued';

-- +goose Down
DROP INDEX messages_queued;
