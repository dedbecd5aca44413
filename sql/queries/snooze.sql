-- Queries of the snooze waker (projections/snooze.go), run as the table
-- owner across tenants, as the projectors are. DueSnoozes are the snoozes
-- that have ended by @now, in the order they ended, after the cursor
-- (@after_until, @after_id): the waker pages through them.
-- name: DueSnoozes :many
SELECT tenant_id, id, snoozed_until::timestamptz AS snoozed_until
FROM conversations
WHERE status = 'snoozed' AND snoozed_until <= @now::timestamptz
  AND (snoozed_until, id) > (@after_until::timestamptz, @after_id::uuid)
ORDER BY snoozed_until, id
LIMIT @max_rows;

-- NextSnooze is when the first snooze still running after @now ends.
-- name: NextSnooze :one
SELECT snoozed_until::timestamptz AS snoozed_until
FROM conversations
WHERE status = 'snoozed' AND snoozed_until > @now::timestamptz
ORDER BY snoozed_until
LIMIT 1;
