-- Queries of the operators' tools (package ops): operators and their audit
-- log, webhook history, replay jobs, parked events and health figures.

-- name: InsertOperator :one
INSERT INTO operators (id, email, name, password_hash) VALUES (@id, @email, @name, @password_hash)
RETURNING *;

-- name: OperatorByEmail :one
SELECT * FROM operators WHERE email = @email;

-- name: ActiveOperator :one
SELECT * FROM operators WHERE id = @id AND disabled_at IS NULL;

-- name: RecordOperatorLogin :exec
UPDATE operators SET last_login_at = @at WHERE id = @id;

-- name: InsertOpsAudit :exec
INSERT INTO ops_audit_log (operator_id, action, tenant_id, target, detail, request_id, ip)
VALUES (sqlc.narg(operator_id), @action, sqlc.narg(tenant_id), @target, @detail, @request_id, @ip);

-- name: ListOpsAudit :many
SELECT * FROM ops_audit_log
WHERE (@before::bigint = 0 OR id < @before::bigint)
ORDER BY id DESC
LIMIT @lim;

-- Webhook history. scope is 'all', 'tenant' (tenant_id's) or 'unrouted'.
-- The same filter stands in ListWebhookLog, CountWebhookSelection and
-- WebhookSelectionPage: what a listing shows is what a replay of the same
-- filter selects, but for the unrouted originals already adopted: the
-- listing shows them, with a link to their copy, and a replay takes the
-- copy alone, which is the webhook as its tenant's history holds it (a
-- router that could not answer in time keeps a webhook of a connected
-- number unrouted for a moment, so an operator's selection would
-- otherwise count such a webhook twice). They run after PlanForParameters, so that the filters
-- left empty are planned away. A wamid or a phone number is looked up
-- first, in its GIN index (@>, which = ANY cannot use), and the sequences
-- found are then read by primary key: PostgreSQL has no statistics for
-- values as rare as a wamid (it guesses 0.5% of the rows), and given the
-- condition beside the others it walked the whole log backwards by
-- sequence looking for them. So such a filter costs what the webhooks that
-- name the value cost, however long the history.

-- PlanForParameters makes PostgreSQL plan the transaction's statements for
-- their actual parameters. pgx prepares statements, and the generic plan
-- PostgreSQL switches to after five executions keeps every "@x = '' OR"
-- of the filter, so it could use no index of the filters given.
-- name: PlanForParameters :exec
SELECT set_config('plan_cache_mode', 'force_custom_plan', true);

-- name: ListWebhookLog :many
SELECT w.seq, w.received_at, w.tenant_id, w.phone_number_ids, w.waba_ids, w.kinds, w.decode_result,
       w.decode_error, w.size_bytes, w.routing, w.adopted_by, w.adopted_from, w.refused,
       w.message_count, w.status_count,
       EXISTS (SELECT 1 FROM parked_events p WHERE p.seq = w.seq) AS parked
FROM webhook_log w
WHERE (@before::bigint = 0 OR w.seq < @before::bigint)
  AND (sqlc.narg(from_time)::timestamptz IS NULL OR w.received_at >= sqlc.narg(from_time)::timestamptz)
  AND (sqlc.narg(to_time)::timestamptz IS NULL OR w.received_at < sqlc.narg(to_time)::timestamptz)
  AND (@scope::text = 'all' OR (@scope::text = 'tenant' AND w.tenant_id = @tenant_id::uuid)
       OR (@scope::text = 'unrouted' AND w.tenant_id IS NULL))
  AND (@phone_number_id::text = '' OR @phone_number_id::text = ANY (w.phone_number_ids))
  AND (@kind::text = '' OR @kind::text = ANY (w.kinds))
  AND (@wamid::text = '' OR w.seq = ANY (ARRAY(SELECT x.seq FROM webhook_log x WHERE x.wamids @> ARRAY[@wamid::text])))
  AND (@contact_phone::text = '' OR w.seq = ANY (ARRAY(
       SELECT x.seq FROM webhook_log x WHERE x.contact_phones @> ARRAY[@contact_phone::text])))
  AND (@result::text = '' OR w.decode_result = @result::text
       OR (@result::text = 'parked' AND EXISTS (SELECT 1 FROM parked_events p WHERE p.seq = w.seq)))
ORDER BY w.seq DESC
LIMIT @lim;

-- name: CountWebhookSelection :one
SELECT count(*) FROM webhook_log w
WHERE w.adopted_by IS NULL AND w.seq >= @from_seq::bigint AND (@to_seq::bigint = 0 OR w.seq <= @to_seq::bigint)
  AND (sqlc.narg(from_time)::timestamptz IS NULL OR w.received_at >= sqlc.narg(from_time)::timestamptz)
  AND (sqlc.narg(to_time)::timestamptz IS NULL OR w.received_at < sqlc.narg(to_time)::timestamptz)
  AND (@scope::text = 'all' OR (@scope::text = 'tenant' AND w.tenant_id = @tenant_id::uuid)
       OR (@scope::text = 'unrouted' AND w.tenant_id IS NULL))
  AND (@phone_number_id::text = '' OR @phone_number_id::text = ANY (w.phone_number_ids))
  AND (@kind::text = '' OR @kind::text = ANY (w.kinds))
  AND (@wamid::text = '' OR w.seq = ANY (ARRAY(SELECT x.seq FROM webhook_log x WHERE x.wamids @> ARRAY[@wamid::text])))
  AND (@contact_phone::text = '' OR w.seq = ANY (ARRAY(
       SELECT x.seq FROM webhook_log x WHERE x.contact_phones @> ARRAY[@contact_phone::text])))
  AND (@result::text = '' OR w.decode_result = @result::text
       OR (@result::text = 'parked' AND EXISTS (SELECT 1 FROM parked_events p WHERE p.seq = w.seq)));

-- name: WebhookSelectionPage :many
SELECT w.seq FROM webhook_log w
WHERE w.adopted_by IS NULL AND w.seq > @after::bigint AND w.seq >= @from_seq::bigint AND (@to_seq::bigint = 0 OR w.seq <= @to_seq::bigint)
  AND (sqlc.narg(from_time)::timestamptz IS NULL OR w.received_at >= sqlc.narg(from_time)::timestamptz)
  AND (sqlc.narg(to_time)::timestamptz IS NULL OR w.received_at < sqlc.narg(to_time)::timestamptz)
  AND (@scope::text = 'all' OR (@scope::text = 'tenant' AND w.tenant_id = @tenant_id::uuid)
       OR (@scope::text = 'unrouted' AND w.tenant_id IS NULL))
  AND (@phone_number_id::text = '' OR @phone_number_id::text = ANY (w.phone_number_ids))
  AND (@kind::text = '' OR @kind::text = ANY (w.kinds))
  AND (@wamid::text = '' OR w.seq = ANY (ARRAY(SELECT x.seq FROM webhook_log x WHERE x.wamids @> ARRAY[@wamid::text])))
  AND (@contact_phone::text = '' OR w.seq = ANY (ARRAY(
       SELECT x.seq FROM webhook_log x WHERE x.contact_phones @> ARRAY[@contact_phone::text])))
  AND (@result::text = '' OR w.decode_result = @result::text
       OR (@result::text = 'parked' AND EXISTS (SELECT 1 FROM parked_events p WHERE p.seq = w.seq)))
ORDER BY w.seq
LIMIT @lim;

-- name: WebhookLogEntry :one
SELECT w.seq, w.received_at, w.tenant_id, w.phone_number_ids, w.waba_ids, w.kinds, w.decode_result,
       w.decode_error, w.size_bytes, w.routing, w.adopted_by, w.adopted_from, w.refused,
       w.message_count, w.status_count,
       EXISTS (SELECT 1 FROM parked_events p WHERE p.seq = w.seq) AS parked
FROM webhook_log w WHERE w.seq = @seq;

-- MessagesByWamids are the messages a webhook touched, for its detail view.
-- name: MessagesByWamids :many
SELECT id, conversation_id, wamid, direction, type, status FROM messages
WHERE tenant_id = @tenant_id AND wamid = ANY (@wamids::text[]);

-- CountAdoptable is how many unrouted webhooks the adopter would take now
-- (the filter of AdoptableWebhooks), for a replay's matched count.
-- name: CountAdoptable :one
SELECT count(*) FROM webhook_log w
WHERE w.tenant_id IS NULL AND w.adopted_by IS NULL AND w.refused = ''
  AND (w.phone_number_ids && (SELECT coalesce(array_agg(p.phone_number_id), '{}')::text[] FROM phone_numbers p
                              WHERE sqlc.narg(tenant_id)::uuid IS NULL OR p.tenant_id = sqlc.narg(tenant_id)::uuid)
       OR w.waba_ids && (SELECT coalesce(array_agg(DISTINCT p.waba_id), '{}')::text[] FROM phone_numbers p
                         WHERE p.waba_id <> '' AND (sqlc.narg(tenant_id)::uuid IS NULL OR p.tenant_id = sqlc.narg(tenant_id)::uuid)))
  AND (w.routing_tenant IS NULL OR EXISTS (
       SELECT 1 FROM phone_numbers p WHERE p.tenant_id = w.routing_tenant
         AND (p.phone_number_id = ANY (w.phone_number_ids) OR (p.waba_id <> '' AND p.waba_id = ANY (w.waba_ids)))));

-- Replay jobs, as the replay.* events make them (ops.JobsProjection).

-- name: UpsertReplayRequested :exec
INSERT INTO replay_jobs (id, tenant_id, mode, selection, state, matched, requested_by, requested_at, updated_at, last_seq)
VALUES (@id, sqlc.narg(tenant_id), @mode, @selection, 'requested', @matched, @requested_by, @at, @at, @seq)
ON CONFLICT (id) DO NOTHING;

-- Progress never moves a job back, and a job that ended stays ended.
-- name: UpdateReplayProgress :exec
UPDATE replay_jobs SET state = CASE WHEN state = 'requested' THEN 'running' ELSE state END,
    started_at = coalesce(started_at, @at), matched = @matched, done = GREATEST(done, @done),
    rate = @rate, cursor = GREATEST(cursor, @cursor), updated_at = @at, last_seq = @seq
WHERE id = @id AND state IN ('requested', 'running') AND last_seq < @seq;

-- name: EndReplay :exec
UPDATE replay_jobs SET state = @state, done = GREATEST(done, @done), error = @error,
    updated_at = @at, finished_at = @at, last_seq = @seq
WHERE id = @id AND state IN ('requested', 'running') AND last_seq < @seq;

-- name: GetReplayJob :one
SELECT * FROM replay_jobs WHERE id = @id;

-- name: ListReplayJobs :many
SELECT * FROM replay_jobs
WHERE (@scope::text = 'all' OR tenant_id = @tenant_id::uuid)
ORDER BY requested_at DESC LIMIT @lim;

-- name: OpenReplayJobs :many
SELECT * FROM replay_jobs WHERE state IN ('requested', 'running') ORDER BY requested_at;

-- name: CountReplayJobs :many
SELECT state, count(*)::bigint AS jobs FROM replay_jobs GROUP BY state ORDER BY state;

-- Parked events. tenant_subject is the subject prefix of one tenant
-- ('wam.<tenant>.'), '' for all.

-- name: ListParked :many
SELECT projector, seq, subject, error, parked_at FROM parked_events
WHERE (@tenant_subject::text = '' OR starts_with(subject, @tenant_subject::text))
  AND (@after::bigint = 0 OR seq > @after::bigint)
ORDER BY seq
LIMIT @lim;

-- name: GetParked :one
SELECT projector, seq, subject, error, parked_at FROM parked_events WHERE projector = @projector AND seq = @seq;

-- name: DeleteParked :execrows
DELETE FROM parked_events WHERE projector = @projector AND seq = @seq;

-- UnparkApplied removes the parked rows of events that were applied at last.
-- name: UnparkApplied :exec
DELETE FROM parked_events WHERE projector = @projector AND seq = ANY (@seqs::bigint[]);

-- name: CountParked :many
SELECT projector, count(*)::bigint AS events FROM parked_events GROUP BY projector ORDER BY projector;

-- name: ListCheckpoints :many
SELECT name, last_seq, updated_at FROM projector_checkpoints ORDER BY name;

-- LockCheckpointRow serializes a replay batch with the projector's own
-- batches (which take the row too, LockCheckpoint) and returns how far the
-- projector has come.
-- name: LockCheckpointRow :one
SELECT last_seq FROM projector_checkpoints WHERE name = @name FOR UPDATE;

-- name: MediaCounts :one
SELECT count(*) FILTER (WHERE status = 'pending')::bigint AS pending,
       count(*) FILTER (WHERE status = 'failed')::bigint AS failed,
       count(*) FILTER (WHERE status = 'stored')::bigint AS stored
FROM media;

-- PendingSends are the sends waiting for the sender by number: outbound
-- messages the read model shows queued (requested, no outcome projected
-- yet; index messages_queued), with the held numbers (Meta refused their
-- token) even when nothing waits, most waiting first; and the total.
-- name: PendingSends :many
WITH queued AS (
    SELECT c.tenant_id, c.phone_number_id, count(*)::bigint AS pending, min(m.created_at)::timestamptz AS oldest
    FROM messages m JOIN conversations c ON c.id = m.conversation_id
    WHERE m.status = 'queued'
    GROUP BY c.tenant_id, c.phone_number_id
), held AS (
    SELECT p.tenant_id, p.phone_number_id FROM phone_numbers p WHERE p.token_status = 'invalid'
)
SELECT coalesce(q.tenant_id, h.tenant_id)::uuid AS tenant_id,
       coalesce(q.phone_number_id, h.phone_number_id)::text AS phone_number_id,
       coalesce(q.pending, 0)::bigint AS pending,
       q.oldest AS oldest_queued_at,
       (h.phone_number_id IS NOT NULL)::boolean AS held,
       (sum(coalesce(q.pending, 0)) OVER ())::bigint AS total
FROM queued q FULL JOIN held h ON h.tenant_id = q.tenant_id AND h.phone_number_id = q.phone_number_id
ORDER BY 3 DESC, 5 DESC, 2
LIMIT @lim;

-- name: CountHeldNumbers :one
SELECT count(*) FILTER (WHERE token_status = 'invalid')::bigint AS held, count(*)::bigint AS numbers FROM phone_numbers;
