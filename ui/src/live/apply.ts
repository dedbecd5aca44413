// Applying live events to TanStack Query's caches.
import type { QueryClient } from '@tanstack/react-query'
import type { Conversation, ConversationPage, MessagePage, NoteList } from '../api/types'
import { addNote, type ConversationFilter, type Infinite, SeqBook, upsertConversation, upsertMessage } from './merge'
import type { LiveEvent } from './socket'

export const keys = {
  conversations: (f?: ConversationFilter) => (f ? ['conversations', f] : ['conversations']) as readonly unknown[],
  conversation: (id: string) => ['conversation', id] as const,
  messages: (id: string) => ['messages', id] as const,
  notes: (id: string) => ['notes', id] as const,
}

/** applyEvent merges one event into the caches when its seq is new for its row; it answers whether it did. */
export function applyEvent(qc: QueryClient, book: SeqBook, ev: LiveEvent, me: string | undefined): boolean {
  switch (ev.type) {
    case 'message.created':
    case 'message.updated': {
      if (!book.accept(`m:${ev.data.id}`, ev.seq)) return false
      const key = keys.messages(ev.conversation_id)
      const state = qc.getQueryState(key)
      if (!state) return true
      qc.setQueryData<Infinite<MessagePage>>(key, (d) => {
        const last = d?.pages[d.pages.length - 1]
        return upsertMessage(d, ev.data, !!last && last.next_cursor !== '')
      })
      return true
    }
    case 'conversation.updated': {
      if (!book.accept(`c:${ev.data.id}`, ev.seq)) return false
      applyConversation(qc, ev.data, me)
      return true
    }
    case 'note.added': {
      if (!book.accept(`n:${ev.data.id}`, ev.seq)) return false
      qc.setQueryData<NoteList>(keys.notes(ev.conversation_id), (d) => addNote(d, ev.data))
      return true
    }
  }
}

export function applyConversation(qc: QueryClient, c: Conversation, me: string | undefined) {
  if (qc.getQueryState(keys.conversation(c.id))) qc.setQueryData(keys.conversation(c.id), c)
  for (const [key] of qc.getQueriesData<Infinite<ConversationPage>>({ queryKey: ['conversations'] })) {
    const f = key[1] as ConversationFilter | undefined
    if (!f) continue
    qc.setQueryData<Infinite<ConversationPage>>(key, (d) => upsertConversation(d, c, f, me))
  }
}

/** unreadTotal counts the unread messages of the conversations in the caches, each once. */
export function unreadTotal(qc: QueryClient): number {
  const seen = new Map<string, number>()
  for (const [, d] of qc.getQueriesData<Infinite<ConversationPage>>({ queryKey: ['conversations'] })) {
    for (const p of d?.pages ?? []) for (const c of p.data) if (c.status !== 'closed') seen.set(c.id, c.unread_count)
  }
  let n = 0
  for (const v of seen.values()) n += v
  return n
}
