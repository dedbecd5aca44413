// Server state: the queries and mutations of the inbox.
import * as React from 'react'
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, auth } from '@/api/client'
import type { Accepted, Conversation, ConversationPage, Message, MessagePage, NoteList, NumberList, PatchConversationRequest, PendingMessage, SendMessageRequest, TeammateList, TemplatePage, User } from '@/api/types'
import { applyConversation, keys } from '@/live/apply'
import { addPending, chronological, confirmPending, filterQuery, hasPending, patchPending, removePending, type ConversationFilter, type Infinite } from '@/live/merge'
import { retryable, sendIdempotent } from '@/live/outbox'
import { presence } from '@/live/live'
import { useStore } from './store'
import { uuid } from './utils'

export function useConversations(f: ConversationFilter) {
  return useInfiniteQuery({
    queryKey: keys.conversations(f),
    queryFn: ({ pageParam, signal }) => api.get<ConversationPage>('/api/conversations', { ...filterQuery(f), cursor: pageParam, limit: 50 }, signal),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.next_cursor || undefined,
  })
}

export function useConversation(id: string | undefined) {
  return useQuery({
    queryKey: keys.conversation(id ?? ''),
    queryFn: ({ signal }) => api.get<Conversation>(`/api/conversations/${id}`, undefined, signal),
    enabled: !!id,
  })
}

export const MESSAGE_PAGE = 100

export function useMessages(id: string | undefined) {
  const q = useInfiniteQuery({
    queryKey: keys.messages(id ?? ''),
    queryFn: ({ pageParam, signal }) => api.get<MessagePage>(`/api/conversations/${id}/messages`, { cursor: pageParam, limit: MESSAGE_PAGE }, signal),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.next_cursor || undefined,
    enabled: !!id,
  })
  const messages = React.useMemo(() => chronological(q.data), [q.data])
  return { ...q, messages }
}

export function useNotes(id: string | undefined) {
  return useQuery({ queryKey: keys.notes(id ?? ''), queryFn: () => api.get<NoteList>(`/api/conversations/${id}/notes`), enabled: !!id })
}

export function useNumbers() {
  return useQuery({ queryKey: ['numbers'], queryFn: () => api.get<NumberList>('/api/waba/credentials'), staleTime: 60_000 })
}

export function useTemplates(enabled = true) {
  return useQuery({ queryKey: ['templates', 'approved'], queryFn: () => api.get<TemplatePage>('/api/templates', { status: 'APPROVED', limit: 200 }), enabled, staleTime: 60_000 })
}

/** The people of the tenant by id: the full list for owners and admins; for agents, who is online and themselves. */
export function useDirectory(me: User): Record<string, { name: string; online?: boolean }> {
  // Everyone's names, agents' too: an assignee who is offline is still named.
  const users = useQuery({ queryKey: ['users', 'teammates'], queryFn: () => api.get<TeammateList>('/api/teammates'), staleTime: 60_000 })
  const online = useStore(presence)
  return React.useMemo(() => {
    const out: Record<string, { name: string; online?: boolean }> = { [me.id]: { name: me.name } }
    for (const u of users.data?.data ?? []) out[u.id] = { name: u.name }
    for (const [id, p] of Object.entries(online)) out[id] = { name: p.name, online: p.status === 'online' }
    return out
  }, [users.data, online, me])
}

/** usePatchConversation changes a conversation, showing the change at once; live events confirm it. */
export function usePatchConversation() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: ({ id, patch }: { id: string; patch: PatchConversationRequest; current?: Conversation }) => api.patch<Accepted>(`/api/conversations/${id}`, patch),
    onMutate: ({ patch, current }) => {
      if (!current) return
      const next: Conversation = { ...current }
      if ('assignee_id' in patch) next.assignee_id = patch.assignee_id ?? null
      if (patch.status) next.status = patch.status
      if (patch.snoozed_until) next.snoozed_until = patch.snoozed_until
      if (patch.tags) next.tags = patch.tags
      applyConversation(qc, next, auth.user?.id)
      return { current }
    },
    onError: (_e, _v, ctx) => {
      if (ctx?.current) applyConversation(qc, ctx.current, auth.user?.id)
    },
  })
}

export function useAddNote(id: string) {
  return useMutation({ mutationFn: (body: string) => api.post<Accepted>(`/api/conversations/${id}/notes`, { body }) })
}

export function markConversationRead(id: string) {
  return api.post<Accepted>(`/api/conversations/${id}/read`).catch(() => undefined)
}

// The requests of sends not confirmed yet, by Idempotency-Key: a retry the
// agent asks for after the automatic ones gave up sends the same request
// with the same key, so it cannot go out twice either.
const unsent = new Map<string, { conversationId: string; req: SendMessageRequest }>()

/** sendOptimistic shows the message at once and sends it with one Idempotency-Key across retries. */
export async function sendOptimistic(
  qc: ReturnType<typeof useQueryClient>,
  conversationId: string,
  req: SendMessageRequest,
  preview: string,
  content: unknown,
): Promise<Message | undefined> {
  const key = uuid()
  const pending: PendingMessage = {
    id: `pending:${key}`,
    client_key: key,
    pending: 'sending',
    conversation_id: conversationId,
    wamid: '',
    direction: 'outbound',
    type: req.type,
    status: 'queued',
    content,
    preview,
    timestamp: new Date().toISOString(),
    reply_to: req.context?.message_id ?? null,
    statuses: {},
    sent_by: auth.user?.id,
  }
  qc.setQueryData<Infinite<MessagePage>>(keys.messages(conversationId), (d) => addPending(d, pending))
  unsent.set(key, { conversationId, req })
  return deliver(qc, key)
}

/** resend tries a failed send again, with its original key. */
export function resend(qc: ReturnType<typeof useQueryClient>, key: string): Promise<Message | undefined> | undefined {
  if (!unsent.has(key)) return undefined
  return deliver(qc, key)
}

// deliver resolves with the server's message, or with undefined when every
// answer was lost but the message came back live (its optimistic row was
// replaced by the server's copy): it went out, and that is no error.
async function deliver(qc: ReturnType<typeof useQueryClient>, key: string): Promise<Message | undefined> {
  const { conversationId, req } = unsent.get(key)!
  const mkey = keys.messages(conversationId)
  qc.setQueryData<Infinite<MessagePage>>(mkey, (d) => patchPending(d, key, { pending: 'sending', pending_error: undefined }))
  try {
    const m = await sendIdempotent({ ...req, conversation_id: conversationId }, key, {
      post: (body, k) => api.post<Message>('/api/messages', body, { 'Idempotency-Key': k }),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      onRetry: () => qc.setQueryData<Infinite<MessagePage>>(mkey, (d) => patchPending(d, key, { pending: 'retrying' })),
    })
    unsent.delete(key)
    qc.setQueryData<Infinite<MessagePage>>(mkey, (d) => confirmPending(d, key, m))
    return m
  } catch (err) {
    if (!hasPending(qc.getQueryData<Infinite<MessagePage>>(mkey), key)) {
      unsent.delete(key)
      return undefined
    }
    if (retryable(err)) {
      qc.setQueryData<Infinite<MessagePage>>(mkey, (d) => patchPending(d, key, { pending: 'failed', pending_error: err instanceof Error ? err.message : String(err) }))
    } else {
      // Refused (the window closed, a bad parameter): the composer says why; the row goes.
      unsent.delete(key)
      qc.setQueryData<Infinite<MessagePage>>(mkey, (d) => removePending(d, key))
    }
    throw err
  }
}
