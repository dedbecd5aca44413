-- +goose Up

-- The live inbox resumes a client that reconnects by sequence: every row of
-- its tenant that changed after the last sequence it saw, in sequence
-- order, however long it was away. These indexes make that a range scan
-- per table instead of a scan of the tenant's whole history.
CREATE INDEX messages_changes ON messages (tenant_id, last_seq, id);
CREATE INDEX conversations_changes ON conversations (tenant_id, last_seq, id);
CREATE INDEX notes_changes ON notes (tenant_id, last_seq, id);

-- +goose Down
DROP INDEX notes_changes;
DROP INDEX conversations_changes;
DROP INDEX messages_changes;
