-- Queries of the live inbox (live/): the rows named by the projector's
-- notices, read across tenants as the table owner (one read per batch of
-- notices for every client of the process), and the changes a reconnecting
-- client missed, read inside its tenant.

-- name: LiveMessages :many
SELECT * FROM messages WHERE id = ANY(@ids::uuid[]);

-- name: LiveConversations :many
SELECT c.id, c.tenant_id, c.phone_number_id, c.status, c.unread_count, c.last_message_at,
       c.last_message_preview, c.window_expires_at, c.created_at, c.last_seq,
       c.assignee_id, c.snoozed_until, c.tags,
       k.wa_id, k.user_id, k.phone, k.profile_name
FROM conversations c
JOIN contacts k ON k.id = c.contact_id
WHERE c.id = ANY(@ids::uuid[]);

-- LiveNotes are the notes added by the events of the given sequences to
-- the given conversations (a note's notice names its conversation).
-- name: LiveNotes :many
SELECT * FROM notes WHERE conversation_id = ANY(@conversation_ids::uuid[]) AND last_seq = ANY(@seqs::bigint[]);

-- name: MessagesChangedSince :many
SELECT * FROM messages
WHERE tenant_id = @tenant_id AND (last_seq, id) > (@after_seq::bigint, @after_id::uuid)
ORDER BY last_seq, id
LIMIT @lim;

-- name: ConversationsChangedSince :many
SELECT c.id, c.tenant_id, c.phone_number_id, c.status, c.unread_count, c.last_message_at,
       c.last_message_preview, c.window_expires_at, c.created_at, c.last_seq,
       c.assignee_id, c.snoozed_until, c.tags,
       k.wa_id, k.user_id, k.phone, k.profile_name
FROM conversations c
JOIN contacts k ON k.id = c.contact_id
WHERE c.tenant_id = @tenant_id AND (c.last_seq, c.id) > (@after_seq::bigint, @after_id::uuid)
ORDER BY c.last_seq, c.id
LIMIT @lim;

-- name: NotesChangedSince :many
SELECT * FROM notes
WHERE tenant_id = @tenant_id AND (last_seq, id) > (@after_seq::bigint, @after_id::uuid)
ORDER BY last_seq, id
LIMIT @lim;

-- LiveUser is who holds a live connection, and whether they still may: not
-- disabled, not deleted; the session epoch says whether the sign-in stands.
-- name: LiveUser :one
SELECT name, role, session_epoch FROM users WHERE tenant_id = @tenant_id AND id = @id AND disabled_at IS NULL;
