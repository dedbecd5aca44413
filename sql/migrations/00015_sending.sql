-- +goose Up

-- Outbound messages are rows before Meta has named them: a send request
-- makes the row under wam's message id, and the wamid comes with Meta's
-- acceptance (or a status webhook naming the message in its
-- biz_opaque_callback_data). So the wamid is unique only once known.
ALTER TABLE messages DROP CONSTRAINT messages_tenant_id_wamid_key;
CREATE UNIQUE INDEX messages_wamid ON messages (tenant_id, wamid) WHERE wamid <> '';
ALTER TABLE messages
    ADD COLUMN sent_by uuid,                          -- the user who sent it; NULL: an API key, or inbound
    ADD COLUMN message_status text NOT NULL DEFAULT ''; -- Meta's answer to the send: accepted, held_for_quality_assessment, paused

-- Idempotency-Key of POST /api/messages: a request repeated with the same
-- key and body answers the message of the first, the same key with another
-- body is refused. Bookkeeping of the API, not a read model (a rebuild keeps
-- it): kept for 48 hours. event is the send request as published, published
-- again by a repeat when the first publish may not have been stored.
CREATE TABLE send_idempotency (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    message_id   uuid NOT NULL,
    event        jsonb NOT NULL,
    published    boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX send_idempotency_created ON send_idempotency (created_at);
ALTER TABLE send_idempotency ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON send_idempotency TO wam_tenant
    USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE send_idempotency;
ALTER TABLE messages DROP COLUMN sent_by, DROP COLUMN message_status;
DROP INDEX messages_wamid;
ALTER TABLE messages ADD CONSTRAINT messages_tenant_id_wamid_key UNIQUE (tenant_id, wamid);
