-- +goose Up

-- The snooze waker (projections/snooze.go) looks for ended snoozes across
-- tenants at least every 30 seconds; this index holds only the snoozed
-- conversations, in the order their snoozes end.
CREATE INDEX conversations_snoozed ON conversations (snoozed_until, id) WHERE status = 'snoozed';

-- +goose Down
DROP INDEX conversations_snoozed;
