-- +goose Up

-- A number's Meta credentials, encrypted with AES-256-GCM under the key
-- ring (auth.KeyRing); secret_key_id names the key, and each ciphertext is
-- bound to the tenant and phone_number_id. Never returned, never logged.
ALTER TABLE phone_numbers
    ADD COLUMN verified_name       text NOT NULL DEFAULT '',
    ADD COLUMN messages_per_second integer NOT NULL DEFAULT 80 CHECK (messages_per_second BETWEEN 1 AND 1000),
    ADD COLUMN secret_key_id       text NOT NULL DEFAULT '',
    ADD COLUMN access_token_enc    bytea,
    ADD COLUMN app_secret_enc      bytea,
    ADD COLUMN verify_token_enc    bytea;

-- +goose Down
ALTER TABLE phone_numbers DROP COLUMN verified_name, DROP COLUMN messages_per_second,
    DROP COLUMN secret_key_id, DROP COLUMN access_token_enc, DROP COLUMN app_secret_enc, DROP COLUMN verify_token_enc;
