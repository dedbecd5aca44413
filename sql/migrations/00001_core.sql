-- +goose Up

-- Configuration of record: ordinary tables, never truncated by a rebuild.

CREATE TABLE tenants (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '',
    prefix       text NOT NULL,           -- shown to people to tell keys apart
    hash         bytea NOT NULL UNIQUE,   -- sha256 of the whole key; the key itself is never stored
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE phone_numbers (
    id                   uuid PRIMARY KEY,
    tenant_id            uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone_number_id      text NOT NULL UNIQUE,  -- Meta's id: one number belongs to one tenant
    display_phone_number text NOT NULL,         -- E.164
    waba_id              text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX phone_numbers_tenant ON phone_numbers (tenant_id);
CREATE INDEX phone_numbers_waba ON phone_numbers (waba_id) WHERE waba_id <> '';

-- Projector bookkeeping.

CREATE TABLE projector_checkpoints (
    name       text PRIMARY KEY,
    last_seq   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Events a projector could not apply; kept with the error, the projector goes on.
CREATE TABLE parked_events (
    projector text NOT NULL,
    seq       bigint NOT NULL,
    subject   text NOT NULL,
    error     text NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projector, seq)
);

-- Read models: derived from the stream, may be dropped and rebuilt.
-- Every row keeps last_seq, the stream sequence of the last event that changed it.

CREATE TABLE contacts (
    id           uuid PRIMARY KEY,          -- domain.ContactID(tenant, wa_id or user id)
    tenant_id    uuid NOT NULL,
    wa_id        text NOT NULL DEFAULT '',
    user_id      text NOT NULL DEFAULT '',  -- business-scoped user id, when Meta sends one
    phone        text NOT NULL DEFAULT '',  -- E.164
    profile_name text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    last_seq     bigint NOT NULL
);
CREATE INDEX contacts_tenant ON contacts (tenant_id);

CREATE TABLE conversations (
    id                   uuid PRIMARY KEY,  -- domain.ConversationID(tenant, contact key, phone_number_id)
    tenant_id            uuid NOT NULL,
    contact_id           uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    phone_number_id      text NOT NULL,
    status               text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    unread_count         integer NOT NULL DEFAULT 0,
    last_message_at      timestamptz,
    last_message_preview text NOT NULL DEFAULT '',
    last_inbound_at      timestamptz,
    window_expires_at    timestamptz,       -- last inbound + 24 h
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    last_seq             bigint NOT NULL
);
CREATE INDEX conversations_list ON conversations (tenant_id, (coalesce(last_message_at, 'epoch')) DESC, id DESC);

CREATE TABLE messages (
    id              uuid PRIMARY KEY,       -- domain.MessageID(tenant, wamid)
    tenant_id       uuid NOT NULL,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    wamid           text NOT NULL,
    direction       text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    type            text NOT NULL,          -- 'unknown' while only statuses have been seen
    content         jsonb,                  -- typed payload; NULL on a placeholder
    preview         text NOT NULL DEFAULT '',
    reply_to        text NOT NULL DEFAULT '', -- wamid this message answers
    context         jsonb,
    referral        jsonb,
    status          text NOT NULL,
    status_rank     smallint NOT NULL DEFAULT 0,
    statuses        jsonb NOT NULL DEFAULT '{}', -- status -> RFC 3339 time of its first sighting
    error_code      integer,
    error_title     text,
    error_details   text,
    pricing         jsonb,
    biz_opaque_callback_data text NOT NULL DEFAULT '',
    edited          jsonb,                  -- latest edit of an inbound message
    revoked_at      timestamptz,
    timestamp       timestamptz NOT NULL,   -- when the message was sent (Meta's timestamp)
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    last_seq        bigint NOT NULL,
    UNIQUE (tenant_id, wamid)
);
CREATE INDEX messages_conversation ON messages (conversation_id, timestamp DESC, id DESC);

CREATE TABLE templates (
    tenant_id       uuid NOT NULL,
    template_id     text NOT NULL,
    waba_id         text NOT NULL DEFAULT '',
    name            text NOT NULL DEFAULT '',
    language        text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT '',
    reason          text NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL,
    last_seq        bigint NOT NULL,
    PRIMARY KEY (tenant_id, template_id)
);

CREATE TABLE webhook_log (
    seq              bigint PRIMARY KEY,    -- stream sequence
    received_at      timestamptz NOT NULL,
    tenant_id        uuid,                  -- NULL: unrouted
    phone_number_ids text[] NOT NULL DEFAULT '{}',
    kinds            text[] NOT NULL DEFAULT '{}', -- changes[].field values, plus messages/statuses/errors
    decode_result    text NOT NULL,         -- ok | undecodable | partial
    decode_error     text NOT NULL DEFAULT '',
    size_bytes       integer NOT NULL
);
CREATE INDEX webhook_log_tenant ON webhook_log (tenant_id, seq DESC);

-- +goose Down
DROP TABLE webhook_log, templates, messages, conversations, contacts, parked_events,
    projector_checkpoints, phone_numbers, api_keys, tenants;
