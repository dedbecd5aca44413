-- +goose Up

-- Media files, whose bytes live in the JetStream object store wam_media
-- (<tenant>/<id>). A read model: the inbox projector makes a row for each
-- customer's file from its webhook (pending) and for each upload
-- (media.uploaded, stored), and applies media.stored and media.failed. The
-- rows of pending customers' files are the download queue, so it survives
-- restarts and is remade by a rebuild; attempts and next_attempt_at are the
-- downloader's own bookkeeping on them (a rebuild starts the count again).
CREATE TABLE media (
    id              uuid PRIMARY KEY,       -- domain.MediaID(tenant, wamid) for a customer's file; random for an upload
    tenant_id       uuid NOT NULL,
    direction       text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    type            text NOT NULL,          -- the message type: image, audio, video, document, sticker
    message_id      uuid,                   -- the inbound message it came with
    phone_number_id text NOT NULL DEFAULT '', -- the number it came to (its token downloads it)
    meta_media_id   text NOT NULL DEFAULT '', -- Meta's id of a customer's file
    mime_type       text NOT NULL DEFAULT '',
    sha256          text NOT NULL DEFAULT '', -- as the webhook gave it (base64); hex once stored
    filename        text NOT NULL DEFAULT '',
    animated        boolean NOT NULL DEFAULT false,
    size            bigint,                 -- once stored
    status          text NOT NULL CHECK (status IN ('pending', 'stored', 'failed')),
    error           text NOT NULL DEFAULT '',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    last_seq        bigint NOT NULL
);
CREATE INDEX media_tenant ON media (tenant_id);
CREATE INDEX media_due ON media (next_attempt_at) WHERE status = 'pending' AND direction = 'inbound';
ALTER TABLE media ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON media TO wam_tenant
    USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid);

-- A message's file as the API shows it: {id, status, mime_type, size,
-- filename, error}, kept by the projector with the media row.
ALTER TABLE messages ADD COLUMN media jsonb;

-- The Meta media ids of wam's files, per sending number: a file is
-- uploaded to a number once and sent by that id while Meta keeps it (30
-- days). Bookkeeping of the sender's media, not a read model: a rebuild
-- keeps it.
CREATE TABLE media_meta_uploads (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    media_id        uuid NOT NULL,
    phone_number_id text NOT NULL,
    meta_media_id   text NOT NULL,
    uploaded_at     timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, media_id, phone_number_id)
);
ALTER TABLE media_meta_uploads ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON media_meta_uploads TO wam_tenant
    USING (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('wam.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE media_meta_uploads;
ALTER TABLE messages DROP COLUMN media;
DROP TABLE media;
