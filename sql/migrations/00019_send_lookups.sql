-- +goose Up

-- A send finds everything it decides on in one query (messaging:
-- SendContext): the contact Meta knows by a phone number, the contact of a
-- wa_id and that contact's conversation with a number. Without these
-- indexes each send read all of the tenant's contacts or conversations.
CREATE INDEX contacts_phone ON contacts (tenant_id, phone) WHERE phone <> '';
CREATE INDEX contacts_wa_id ON contacts (tenant_id, wa_id) WHERE wa_id <> '';
CREATE INDEX conversations_contact ON conversations (contact_id, phone_number_id);

-- +goose Down
DROP INDEX conversations_contact;
DROP INDEX contacts_wa_id;
DROP INDEX contacts_phone;
