-- +goose Up

-- Read models are derived from the stream, written by one projector that
-- creates contacts, then conversations, then messages, in one transaction.
-- The foreign keys between them checked what that order already ensures,
-- at a price per row: each message insert ran a trigger that locked its
-- conversation's row (FOR KEY SHARE), dirtying the conversation's page and
-- writing WAL for the lock.
ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_fkey;
ALTER TABLE conversations DROP CONSTRAINT conversations_contact_id_fkey;

-- +goose Down
ALTER TABLE conversations ADD CONSTRAINT conversations_contact_id_fkey
    FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE CASCADE;
ALTER TABLE messages ADD CONSTRAINT messages_conversation_id_fkey
    FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE;
