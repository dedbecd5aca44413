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

/**
 * Recent keeps the latest event of every row for a while, so that a page
 * fetched over REST while events kept coming cannot undo them: when a
 * fetch that began at t succeeds, the events received since t are applied
 * to its data again (the REST answer may have been read before them).
 */
export class Recent {
  private rows = new Map<string, { ev: LiveEvent; at: number }>()
  constructor(private keep = 120_000, private now: () => number = Date.now) {}

  add(ev: LiveEvent) {
    const key = ev.type === 'conversation.updated' ? `c:${ev.data.id}` : ev.type === 'note.added' ? `n:${ev.data.id}` : `m:${ev.data.id}`
    this.rows.set(key, { ev, at: this.now() })
    const old = this.now() - this.keep
    if (this.rows.size > 2000) for (const [k, v] of this.rows) if (v.at < old) this.rows.delete(k)
  }

  /** since answers the events received at or after t, in seq order. */
  since(t: number): LiveEvent[] {
    return [...this.rows.values()].filter((r) => r.at >= t).map((r) => r.ev).sort((a, b) => a.seq - b.seq)
  }
}

/** reapply merges events into one query's data again, after its fetch. */
export function reapply(qc: QueryClient, queryKey: readonly unknown[], events: LiveEvent[], me: string | undefined) {
  if (queryKey[0] === 'conversations' && queryKey[1]) {
    const f = queryKey[1] as ConversationFilter
    qc.setQueryData<Infinite<ConversationPage>>(queryKey, (d) => events.reduce((acc, ev) => (ev.type === 'conversation.updated' ? upsertConversation(acc, ev.data, f, me) : acc), d))
  } else if (queryKey[0] === 'messages') {
    qc.setQueryData<Infinite<MessagePage>>(queryKey, (d) =>
      events.reduce((acc, ev) => {
        if ((ev.type !== 'message.created' && ev.type !== 'message.updated') || ev.conversation_id !== queryKey[1]) return acc
        const last = acc?.pages[acc.pages.length - 1]
        return upsertMessage(acc, ev.data, !!last && last.next_cursor !== '')
      }, d),
    )
  } else if (queryKey[0] === 'conversation') {
    const mine = events.filter((ev) => ev.type === 'conversation.updated' && ev.data.id === queryKey[1])
    if (mine.length) qc.setQueryData(queryKey, (mine[mine.length - 1] as Extract<LiveEvent, { type: 'conversation.updated' }>).data)
  } else if (queryKey[0] === 'notes') {
    qc.setQueryData<NoteList>(queryKey, (d) => events.reduce((acc, ev) => (ev.type === 'note.added' && ev.conversation_id === queryKey[1] ? addNote(acc, ev.data) : acc), d))
  }
}
