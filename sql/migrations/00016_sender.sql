-- +goose Up

-- The plan's sending limit, and whether a number's access token still works:
-- Meta's error 190 marks it invalid and holds the number's queue until a
-- new token is given (PATCH /api/waba/credentials/{id}).
ALTER TABLE tenants
    ADD COLUMN messages_per_minute integer NOT NULL DEFAULT 6000 CHECK (messages_per_minute > 0);
ALTER TABLE phone_numbers
    ADD COLUMN token_status     text NOT NULL DEFAULT 'valid' CHECK (token_status IN ('valid', 'invalid')),
    ADD COLUMN token_error      text NOT NULL DEFAULT '',
    ADD COLUMN token_invalid_at timestamptz;

-- +goose Down
ALTER TABLE phone_numbers DROP COLUMN token_status, DROP COLUMN token_error, DROP COLUMN token_invalid_at;
ALTER TABLE tenants DROP COLUMN messages_per_minute;
