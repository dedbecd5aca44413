// Pure state logic of the live inbox: how events and sends change the
// cached pages. TanStack Query holds the pages; these functions return
// new values for it and never mutate their input.
import type { Conversation, ConversationPage, Message, MessagePage, Note, NoteList, PendingMessage } from '../api/types'

export interface Infinite<P> {
  pages: P[]
  pageParams: unknown[]
}

/**
 * SeqBook remembers the stream sequence of every row the client holds and
 * the highest sequence it has seen: an event is applied only when its seq
 * is higher than the row's (dedup), and `high` is the next `since`.
 */
export class SeqBook {
  private rows = new Map<string, number>()
  high = 0

  /** accept tells whether an event of seq for row is new, and records it. */
  accept(row: string, seq: number): boolean {
    if (seq > this.high) this.high = seq
    const held = this.rows.get(row) ?? 0
    if (seq <= held) return false
    this.rows.set(row, seq)
    return true
  }

  seen(seq: number) {
    if (seq > this.high) this.high = seq
  }

  rowSeq(row: string): number {
    return this.rows.get(row) ?? 0
  }
}

/** ms is a timestamp's instant: RFC 3339 strings of different precision ("…:10Z", "…:10.56Z") do not sort as strings. */
export const ms = (t: string | null | undefined) => (t ? Date.parse(t) : 0)
const byTimeDesc = (a: { timestamp: string }, b: { timestamp: string }) => ms(b.timestamp) - ms(a.timestamp)

const MEDIA = new Set(['image', 'video', 'audio', 'document', 'sticker'])

function samePending(p: PendingMessage, m: Message): boolean {
  if (!p.pending || m.direction !== 'outbound' || p.type !== m.type) return false
  if (p.sent_by && m.sent_by && p.sent_by !== m.sent_by) return false
  if (MEDIA.has(m.type)) {
    // The server's preview of media is its own ("📷 caption", "📄 file"):
    // the upload the message sends tells them apart instead.
    const sent = (m.content as Record<string, { id?: string } | undefined> | null)?.[m.type]?.id
    const mine = (p.content as { id?: string } | null)?.id
    return !!sent && sent === mine
  }
  return p.preview === m.preview
}

/**
 * upsertMessage puts m into the pages of its conversation (newest first):
 * it replaces the row of the same id, or an optimistic one it confirms,
 * or goes where its timestamp sorts when that is within what is loaded.
 * hasOlder tells whether pages older than the last loaded one exist: a
 * message older than everything loaded then waits for that page.
 */
export function upsertMessage(data: Infinite<MessagePage> | undefined, m: Message, hasOlder = false): Infinite<MessagePage> | undefined {
  if (!data) return data
  let found = false
  const pages = data.pages.map((p) => {
    const i = p.data.findIndex((x) => x.id === m.id)
    if (i < 0) return p
    found = true
    const next = p.data.slice()
    next[i] = m
    return { ...p, data: next }
  })
  if (found) return { ...data, pages }
  // An optimistic row this message is the server's copy of.
  for (let pi = 0; pi < pages.length; pi++) {
    const i = pages[pi].data.findIndex((x) => samePending(x as PendingMessage, m))
    if (i >= 0) {
      const next = pages[pi].data.slice()
      next[i] = m
      pages[pi] = { ...pages[pi], data: next }
      return { ...data, pages }
    }
  }
  if (pages.length === 0) return { ...data, pages: [{ data: [m], next_cursor: '' }] }
  for (let pi = 0; pi < pages.length; pi++) {
    const rows = pages[pi].data
    const oldest = rows[rows.length - 1]
    const isLast = pi === pages.length - 1
    if (rows.length === 0 || ms(m.timestamp) >= ms(oldest.timestamp) || (isLast && !hasOlder)) {
      // m first: of messages with the same timestamp (Meta's are to the
      // second) the one that arrived last is the newest, as the API
      // orders them.
      const next = [m, ...rows].sort(byTimeDesc)
      pages[pi] = { ...pages[pi], data: next }
      return { ...data, pages }
    }
  }
  return data
}

/** addPending shows a message being sent, at the newest end. */
export function addPending(data: Infinite<MessagePage> | undefined, p: PendingMessage): Infinite<MessagePage> {
  if (!data || data.pages.length === 0) return { pages: [{ data: [p], next_cursor: '' }], pageParams: [undefined] }
  const [first, ...rest] = data.pages
  return { ...data, pages: [{ ...first, data: [p, ...first.data] }, ...rest] }
}

/** hasPending tells whether the optimistic row of key is still shown (not yet replaced by the server's copy). */
export function hasPending(data: Infinite<MessagePage> | undefined, key: string): boolean {
  return !!data?.pages.some((p) => p.data.some((x) => (x as PendingMessage).client_key === key))
}

/** patchPending changes the optimistic row of key (its state, its error). */
export function patchPending(data: Infinite<MessagePage> | undefined, key: string, patch: Partial<PendingMessage>): Infinite<MessagePage> | undefined {
  if (!data) return data
  return {
    ...data,
    pages: data.pages.map((p) => ({ ...p, data: p.data.map((x) => ((x as PendingMessage).client_key === key ? { ...x, ...patch } : x)) })),
  }
}

/**
 * confirmPending replaces the optimistic row of key by the server's
 * message; when a live event brought that message first, the optimistic
 * row simply goes, so it is never shown twice.
 */
export function confirmPending(data: Infinite<MessagePage> | undefined, key: string, m: Message): Infinite<MessagePage> | undefined {
  if (!data) return data
  const present = data.pages.some((p) => p.data.some((x) => x.id === m.id))
  return {
    ...data,
    pages: data.pages.map((p) => ({
      ...p,
      data: p.data.flatMap((x) => ((x as PendingMessage).client_key === key ? (present ? [] : [m]) : [x])),
    })),
  }
}

export function removePending(data: Infinite<MessagePage> | undefined, key: string): Infinite<MessagePage> | undefined {
  if (!data) return data
  return { ...data, pages: data.pages.map((p) => ({ ...p, data: p.data.filter((x) => (x as PendingMessage).client_key !== key) })) }
}

/** The filters of a conversation list, as the list's query key holds them. */
export interface ConversationFilter {
  view: 'mine' | 'unassigned' | 'all' | 'closed' | 'snoozed'
  phone_number_id?: string
  tag?: string
  q?: string
}

/** The API query of a filter. */
export function filterQuery(f: ConversationFilter): Record<string, string | undefined> {
  const status = f.view === 'closed' ? 'closed' : f.view === 'snoozed' ? 'snoozed' : 'open'
  const assignee = f.view === 'mine' ? 'me' : f.view === 'unassigned' ? 'unassigned' : undefined
  return { status, assignee, phone_number_id: f.phone_number_id || undefined, tag: f.tag || undefined, q: f.q || undefined }
}

/** matches tells whether c belongs in the list of filter f for user me. */
export function matches(c: Conversation, f: ConversationFilter, me: string | undefined): boolean {
  const q = filterQuery(f)
  if (c.status !== q.status) return false
  if (q.assignee === 'me' && c.assignee_id !== me) return false
  if (q.assignee === 'unassigned' && c.assignee_id) return false
  if (q.phone_number_id && c.phone_number_id !== q.phone_number_id) return false
  if (q.tag && !c.tags.includes(q.tag)) return false
  if (q.q) {
    const needle = q.q.toLowerCase()
    if (!c.contact.name.toLowerCase().includes(needle) && !c.contact.phone.includes(needle) && !c.contact.wa_id.includes(needle)) return false
  }
  return true
}

const convTime = (c: Conversation) => ms(c.last_message_at)

/**
 * upsertConversation moves c to where it sorts (most recent first) in a
 * list of filter f, or out of it when it no longer matches; a row that
 * sorts below everything loaded while more pages exist waits for them.
 */
export function upsertConversation(
  data: Infinite<ConversationPage> | undefined,
  c: Conversation,
  f: ConversationFilter,
  me: string | undefined,
): Infinite<ConversationPage> | undefined {
  if (!data) return data
  const without = data.pages.map((p) => ({ ...p, data: p.data.filter((x) => x.id !== c.id) }))
  if (!matches(c, f, me)) {
    const changed = without.some((p, i) => p.data.length !== data.pages[i].data.length)
    return changed ? { ...data, pages: without } : data
  }
  if (without.length === 0) return { ...data, pages: [{ data: [c], next_cursor: '' }] }
  const lastPage = without[without.length - 1]
  const hasMore = lastPage.next_cursor !== ''
  for (let pi = 0; pi < without.length; pi++) {
    const rows = without[pi].data
    const isLast = pi === without.length - 1
    const oldest = rows[rows.length - 1]
    if (rows.length === 0 || convTime(c) >= convTime(oldest) || (isLast && !hasMore)) {
      const at = rows.findIndex((x) => convTime(c) >= convTime(x))
      const next = rows.slice()
      next.splice(at < 0 ? rows.length : at, 0, c)
      without[pi] = { ...without[pi], data: next }
      return { ...data, pages: without }
    }
  }
  return { ...data, pages: without }
}

export function addNote(list: NoteList | undefined, n: Note): NoteList | undefined {
  if (!list) return list
  if (list.data.some((x) => x.id === n.id)) return list
  return { data: [...list.data, n].sort((a, b) => (a.created_at < b.created_at ? -1 : 1)) }
}

/** Messages oldest first, for the chat view. */
export function chronological(data: Infinite<MessagePage> | undefined): Message[] {
  if (!data) return []
  const out: Message[] = []
  for (let pi = data.pages.length - 1; pi >= 0; pi--) {
    const rows = data.pages[pi].data
    for (let i = rows.length - 1; i >= 0; i--) out.push(rows[i])
  }
  // Pages may overlap by a row when messages arrived between two loads.
  const seen = new Set<string>()
  return out.filter((m) => (seen.has(m.id) ? false : (seen.add(m.id), true)))
}
