-- +goose Up

-- Messages of the same second (Meta's timestamps have no finer grain, and
-- customers often send several in one) are listed in the order wam
-- received them: created_at is the stream time of the event that made the
-- row, so the order is the same after a rebuild. Before, they were ordered
-- by their random ids.
CREATE INDEX messages_conversation_order ON messages (conversation_id, timestamp DESC, created_at DESC, id DESC);
DROP INDEX messages_conversation;

-- +goose Down
CREATE INDEX messages_conversation ON messages (conversation_id, timestamp DESC, id DESC);
DROP INDEX messages_conversation_order;
