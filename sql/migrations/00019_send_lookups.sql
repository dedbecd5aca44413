-- +goose Up

-- A send to a phone number finds the contact Meta knows by that number
-- (messaging: ContactWaIDByPhone): without an index each send read all of
-- the tenant's contacts.
CREATE INDEX contacts_phone ON contacts (tenant_id, phone) WHERE phone <> '';

-- +goose Down
DROP INDEX contacts_phone;
