-- +goose Up

-- A send finds everything it decides on in one query (messaging:
-- SendContext): the contact Meta knows by a phone number, the contact of a
-- wa_id and that contact's conversation with a number. Without these
-- indexes each send read all of the tenant's contacts or conversations.
-- Not partial: the query's values are parameters, and a generic plan
-- cannot prove them non-empty, so a partial index went unused and each
-- send scanned all of the tenant's contacts again.
CREATE INDEX contacts_phone ON contacts (tenant_id, phone);
CREATE INDEX contacts_wa_id ON contacts (tenant_id, wa_id);
CREATE INDEX conversations_contact ON conversations (contact_id, phone_number_id);

-- +goose Down
DROP INDEX conversations_contact;
DROP INDEX contacts_wa_id;
DROP INDEX contacts_phone;
