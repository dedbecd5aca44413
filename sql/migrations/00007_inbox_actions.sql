-- +goose Up

-- What agents do to conversations: assign, close, snooze, tag, note. Each
-- is an event in the stream (wam.<tenant>.conversation.*) projected here,
-- so a rebuild keeps it.
ALTER TABLE conversations
    ADD COLUMN assignee_id   uuid,
    ADD COLUMN snoozed_until timestamptz,
    ADD COLUMN tags          text[] NOT NULL DEFAULT '{}',
    DROP CONSTRAINT conversations_status_check,
    ADD CONSTRAINT conversations_status_check CHECK (status IN ('open', 'closed', 'snoozed'));

CREATE TABLE notes (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    author_id       uuid,             -- the user who wrote it; NULL for an API key
    body            text NOT NULL,
    created_at      timestamptz NOT NULL,
    last_seq        bigint NOT NULL
);
CREATE INDEX notes_conversation ON notes (conversation_id, created_at);

ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notes TO wam_tenant
    USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE notes;
ALTER TABLE conversations DROP COLUMN assignee_id, DROP COLUMN snoozed_until, DROP COLUMN tags,
    DROP CONSTRAINT conversations_status_check,
    ADD CONSTRAINT conversations_status_check CHECK (status IN ('open', 'closed'));
