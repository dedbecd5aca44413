-- Queries of online rebuilds (package rebuild).

-- name: CreateRebuild :one
INSERT INTO rebuilds (id, projector, tenant_id, state, shadow, requested_by, started_at, updated_at)
VALUES (@id, @projector, sqlc.narg(tenant_id), 'running', @shadow, @requested_by, @now, @now)
RETURNING *;

-- name: GetRebuild :one
SELECT * FROM rebuilds WHERE id = @id;

-- ListRebuilds are the newest jobs first.
-- name: ListRebuilds :many
SELECT * FROM rebuilds ORDER BY started_at DESC, id DESC LIMIT @lim;

-- RequestRebuildCancel records that the job is to stop, if it has not
-- ended (a swap records its end in its own transaction, which holds the
-- row meanwhile).
-- name: RequestRebuildCancel :one
UPDATE rebuilds SET cancel_requested_at = coalesce(cancel_requested_at, @now::timestamptz)
WHERE id = @id AND state IN ('running', 'swapping')
RETURNING *;

-- RebuildCancelRequested tells whether the job is to stop; LockRebuild
-- too, holding the job's row until the transaction ends (the swap's).
-- name: RebuildCancelRequested :one
SELECT (cancel_requested_at IS NOT NULL)::boolean AS asked FROM rebuilds WHERE id = @id;

-- name: LockRebuild :one
SELECT (cancel_requested_at IS NOT NULL)::boolean AS asked FROM rebuilds WHERE id = @id FOR UPDATE;

-- name: RunningRebuild :one
SELECT * FROM rebuilds WHERE projector = @projector AND state IN ('running', 'swapping');

-- name: UpdateRebuildProgress :exec
UPDATE rebuilds SET state = @state, checkpoint = @checkpoint, events_left = @events_left,
    events_done = @events_done, updated_at = @now
WHERE id = @id;

-- name: FinishRebuild :exec
UPDATE rebuilds SET state = @state, checkpoint = @checkpoint, events_left = @events_left,
    events_done = @events_done, error = @error, updated_at = @now, finished_at = @now
WHERE id = @id;

-- ShadowSchemas are the schemas rebuilds build in or retire to; those of
-- no running rebuild are left over from a crash.
-- name: ShadowSchemas :many
SELECT nspname::text FROM pg_catalog.pg_namespace
WHERE nspname LIKE 'wam\_rebuild\_%' OR nspname LIKE 'wam\_retired\_%';

-- TableShape describes what a read-model table has beside its columns,
-- each as the DDL that makes it, with the table's name standing for
-- itself: the shadow of a table must end up with exactly the same.
-- kind is 'index' (an index no constraint owns), 'constraint' (primary
-- key, unique, exclusion, foreign key and check constraints, by name),
-- 'policy', 'grant', 'rls' or 'force_rls'; unique tells indexes and
-- constraints the projector's ON CONFLICT clauses and lookups need during
-- the build from those built after it.
-- name: TableShape :many
SELECT 'index'::text AS kind, i.relname::text AS name, pg_catalog.pg_get_indexdef(x.indexrelid) AS def,
       x.indisunique AS unique
FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = CAST(@rel::text AS regclass)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid)
UNION ALL
SELECT 'constraint', c.conname::text, pg_catalog.pg_get_constraintdef(c.oid), c.contype IN ('p', 'u', 'x')
FROM pg_catalog.pg_constraint c WHERE c.conrelid = CAST(@rel::text AS regclass) AND c.contype IN ('p', 'u', 'x', 'f')
UNION ALL
SELECT 'policy', p.polname::text,
       'AS ' || CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END
       || ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                   WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
       || ' TO ' || (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ' ORDER BY r)
                     FROM unnest(p.polroles) AS r)
       || coalesce(' USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')', '')
       || coalesce(' WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')', ''),
       false
FROM pg_catalog.pg_policy p WHERE p.polrelid = CAST(@rel::text AS regclass)
UNION ALL
SELECT 'grant', a.privilege_type::text,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
       || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
       false
FROM pg_catalog.pg_class t, aclexplode(t.relacl) AS a
WHERE t.oid = CAST(@rel::text AS regclass) AND a.grantee <> t.relowner
UNION ALL
SELECT 'rls', '', '', false FROM pg_catalog.pg_class t WHERE t.oid = CAST(@rel::text AS regclass) AND t.relrowsecurity
UNION ALL
SELECT 'force_rls', '', '', false FROM pg_catalog.pg_class t WHERE t.oid = CAST(@rel::text AS regclass) AND t.relforcerowsecurity
ORDER BY 1, 2, 3;

-- HoldCheckpoint locks a projector's checkpoint row: its runner's next
-- commit waits until the transaction ends (see LockCheckpoint).
-- name: HoldCheckpoint :one
SELECT last_seq FROM projector_checkpoints WHERE name = @name FOR UPDATE;

-- name: TablePersistence :one
SELECT relpersistence::text FROM pg_catalog.pg_class WHERE oid = CAST(@rel::text AS regclass);

-- TableColumns are the columns a copy of rows writes (not the generated ones).
-- name: TableColumns :many
SELECT quote_ident(attname)::text FROM pg_catalog.pg_attribute
WHERE attrelid = CAST(@rel::text AS regclass) AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum;

-- IndexedColumns are the columns a table's indexes have (as keys or
-- included): what the planner's choices turn on.
-- name: IndexedColumns :many
SELECT DISTINCT quote_ident(a.attname)::text FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey)
WHERE x.indrelid = CAST(@rel::text AS regclass) ORDER BY 1;
