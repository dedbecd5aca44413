-- +goose Up

-- A rebuild can be cancelled (POST /api/ops/rebuilds/{id}/cancel, or
-- Ctrl-C on wam rebuild): cancel_requested_at is the request, which the
-- process running the job looks for at every step, in whichever process
-- that is; the job then ends cancelled, its shadow dropped.
ALTER TABLE rebuilds DROP CONSTRAINT rebuilds_state_check,
    ADD CONSTRAINT rebuilds_state_check CHECK (state IN ('running', 'swapping', 'done', 'failed', 'cancelled')),
    ADD COLUMN cancel_requested_at timestamptz;

-- +goose Down
UPDATE rebuilds SET state = 'failed' WHERE state = 'cancelled';
ALTER TABLE rebuilds DROP COLUMN cancel_requested_at, DROP CONSTRAINT rebuilds_state_check,
    ADD CONSTRAINT rebuilds_state_check CHECK (state IN ('running', 'swapping', 'done', 'failed'));
