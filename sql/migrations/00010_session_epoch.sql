-- +goose Up

-- Access tokens carry their user's session epoch; changing the password
-- moves it on, and tokens of an earlier epoch stop working at once, not
-- when they run out.
ALTER TABLE users ADD COLUMN session_epoch integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN session_epoch;
