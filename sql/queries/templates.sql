-- Message templates: the statements of the inbox projector that keep the
-- templates read model (projections/templates.go), and the queries of the
-- templates area (templates/).
--
-- Every column of a template row follows its own clock (migration 00017), so
-- that the row does not depend on the order in which a listing, a creation,
-- a deletion and Meta's status updates arrive, nor on how batches are cut.

-- UpsertTemplates merges a batch's facts about templates, one merged row a
-- template (templateRow in projections/templates.go merges alike):
-- non-empty ids and names replace the known ones; the status takes the
-- newer time, and a provisional one (a creation's PENDING) is taken only
-- when none is known and gives way to any other; category and components
-- take the newer listing or creation; seen_at and gone_at the latest.
-- Zero times are sent for "none".
-- name: UpsertTemplates :exec
INSERT INTO templates (tenant_id, template_id, waba_id, name, language, status, reason, provisional, updated_at,
                       category, components, synced_at, seen_at, gone_at, last_seq)
SELECT u.tenant_id, u.template_id,
       CASE WHEN u.waba_id <> '' THEN u.waba_id ELSE coalesce(t.waba_id, '') END,
       CASE WHEN u.name <> '' THEN u.name ELSE coalesce(t.name, '') END,
       CASE WHEN u.language <> '' THEN u.language ELSE coalesce(t.language, '') END,
       CASE WHEN w.status THEN u.status ELSE coalesce(t.status, '') END,
       CASE WHEN w.status THEN u.reason ELSE coalesce(t.reason, '') END,
       CASE WHEN w.status THEN u.provisional ELSE coalesce(t.provisional, false) END,
       CASE WHEN w.status THEN u.at ELSE coalesce(t.updated_at, u.at) END,
       CASE WHEN w.content THEN u.category ELSE coalesce(t.category, '') END,
       CASE WHEN w.content THEN u.components ELSE coalesce(t.components, '[]') END,
       CASE WHEN w.content THEN u.synced_at ELSE t.synced_at END,
       greatest(t.seen_at, u.seen_at),
       greatest(t.gone_at, u.gone_at),
       greatest(t.last_seq, u.seq)
FROM (SELECT a.tenant_id, a.template_id, a.waba_id, a.name, a.language, a.status, a.reason, a.provisional, a.at,
             a.category, a.components,
             nullif(a.synced_at, '0001-01-01 00:00:00Z') AS synced_at,
             nullif(a.seen_at, '0001-01-01 00:00:00Z') AS seen_at,
             nullif(a.gone_at, '0001-01-01 00:00:00Z') AS gone_at,
             a.seq
      FROM (SELECT unnest(@tenant_ids::uuid[]) AS tenant_id,
                   unnest(@template_ids::text[]) AS template_id,
                   unnest(@waba_ids::text[]) AS waba_id,
                   unnest(@names::text[]) AS name,
                   unnest(@languages::text[]) AS language,
                   unnest(@statuses::text[]) AS status,
                   unnest(@reasons::text[]) AS reason,
                   unnest(@provisionals::boolean[]) AS provisional,
                   unnest(@ats::timestamptz[]) AS at,
                   unnest(@categories::text[]) AS category,
                   unnest(@components::jsonb[]) AS components,
                   unnest(@synced_ats::timestamptz[]) AS synced_at,
                   unnest(@seen_ats::timestamptz[]) AS seen_at,
                   unnest(@gone_ats::timestamptz[]) AS gone_at,
                   unnest(@seqs::bigint[]) AS seq) AS a) AS u
LEFT JOIN templates t ON t.tenant_id = u.tenant_id AND t.template_id = u.template_id
CROSS JOIN LATERAL (SELECT
    u.status <> '' AND (t.status IS NULL OR t.status = ''
                        OR NOT u.provisional AND (t.provisional OR u.at >= t.updated_at)) AS status,
    u.synced_at IS NOT NULL AND (t.synced_at IS NULL OR u.synced_at >= t.synced_at) AS content) AS w
ON CONFLICT (tenant_id, template_id) DO UPDATE SET
    waba_id     = excluded.waba_id,
    name        = excluded.name,
    language    = excluded.language,
    status      = excluded.status,
    reason      = excluded.reason,
    provisional = excluded.provisional,
    updated_at  = excluded.updated_at,
    category    = excluded.category,
    components  = excluded.components,
    synced_at   = excluded.synced_at,
    seen_at     = excluded.seen_at,
    gone_at     = excluded.gone_at,
    last_seq    = excluded.last_seq;

-- MarkTemplatesGone applies a complete listing of a WABA at time at to the
-- rows known before the batch: the WABA's templates Meta did not list are
-- gone as of then. (The batch's own rows are merged in memory.) It runs
-- before UpsertTemplates.
-- name: MarkTemplatesGone :exec
UPDATE templates SET gone_at = greatest(gone_at, @at::timestamptz), last_seq = greatest(last_seq, @seq::bigint)
WHERE tenant_id = @tenant_id AND waba_id = @waba_id AND NOT (template_id = ANY (@listed::text[]));

-- MarkTemplateNameGone applies a deletion of template name, in every
-- language, from WABA waba_id to the rows known before the batch.
-- name: MarkTemplateNameGone :exec
UPDATE templates SET gone_at = greatest(gone_at, @at::timestamptz), last_seq = greatest(last_seq, @seq::bigint)
WHERE tenant_id = @tenant_id AND waba_id = @waba_id AND name = @name;

-- UpsertTemplateSyncs records complete listings: the latest of each WABA.
-- name: UpsertTemplateSyncs :exec
INSERT INTO template_syncs (tenant_id, waba_id, synced_at, templates, last_seq)
SELECT unnest(@tenant_ids::uuid[]), unnest(@waba_ids::text[]), unnest(@synced_ats::timestamptz[]),
       unnest(@counts::integer[]), unnest(@seqs::bigint[])
ON CONFLICT (tenant_id, waba_id) DO UPDATE SET
    templates = CASE WHEN excluded.synced_at >= template_syncs.synced_at THEN excluded.templates ELSE template_syncs.templates END,
    synced_at = greatest(template_syncs.synced_at, excluded.synced_at),
    last_seq  = greatest(template_syncs.last_seq, excluded.last_seq);

-- Queries of the templates area (templates/). Those named "in the tenant"
-- run in a transaction confined to it (sql/rls); the others, of the sync
-- worker, across tenants as the table owner.

-- TenantWABAs are the WhatsApp Business Accounts of a tenant's numbers.
-- name: TenantWABAs :many
SELECT DISTINCT waba_id FROM phone_numbers WHERE tenant_id = @tenant_id AND waba_id <> '' ORDER BY waba_id;

-- TemplateSyncsDue are the tenants with a WABA that a number with a working
-- access token may list and that was not listed since before: never, or
-- too long ago. (A token Meta refused waits for its replacement, which
-- nudges a sync.)
-- name: TemplateSyncsDue :many
SELECT DISTINCT p.tenant_id
FROM phone_numbers p
LEFT JOIN template_syncs s ON s.tenant_id = p.tenant_id AND s.waba_id = p.waba_id
WHERE p.waba_id <> '' AND p.access_token_enc IS NOT NULL AND p.token_status = 'valid'
  AND (s.synced_at IS NULL OR s.synced_at < @before)
ORDER BY p.tenant_id
LIMIT @lim;

-- ListTemplates lists a tenant's templates that are not deleted, by name,
-- language and id, filtered (NULL: no filter; name: a part of it).
-- name: ListTemplates :many
SELECT * FROM templates
WHERE tenant_id = @tenant_id AND NOT deleted
  AND (NOT @after::boolean
       OR (name, language, template_id) > (@cursor_name::text, @cursor_language::text, @cursor_id::text))
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(category)::text IS NULL OR category = sqlc.narg(category)::text)
  AND (sqlc.narg(language)::text IS NULL OR language = sqlc.narg(language)::text)
  AND (sqlc.narg(name)::text IS NULL OR name LIKE '%' || sqlc.narg(name)::text || '%')
ORDER BY name, language, template_id
LIMIT @lim;

-- NumberWABA is the WABA of a tenant's number ('' when it was connected
-- without one).
-- name: NumberWABA :one
SELECT waba_id FROM phone_numbers WHERE tenant_id = @tenant_id AND phone_number_id = @phone_number_id;

-- TemplatesNamed are the templates of a WABA with a name and language,
-- those that are not deleted first, the latest seen first: what a send
-- names.
-- name: TemplatesNamed :many
SELECT * FROM templates
WHERE tenant_id = @tenant_id AND waba_id = @waba_id AND name = @name AND language = @language
ORDER BY deleted, seen_at DESC NULLS LAST, template_id;

-- TemplateLanguages are the WABAs and languages in which a tenant has a
-- template of that name that is not deleted, in one WABA or all.
-- name: TemplateLanguages :many
SELECT DISTINCT waba_id, language FROM templates
WHERE tenant_id = @tenant_id AND name = @name AND NOT deleted
  AND (sqlc.narg(waba_id)::text IS NULL OR waba_id = sqlc.narg(waba_id)::text)
ORDER BY waba_id, language;
