import { describe, expect, it } from 'vitest'
import { QueryClient } from '@tanstack/react-query'
import type { Conversation, Message, MessagePage, ConversationPage, PendingMessage } from '../api/types'
import { addPending, chronological, confirmPending, matches, SeqBook, upsertConversation, upsertMessage, type Infinite } from './merge'
import { applyEvent, keys, unreadTotal } from './apply'

const t = (min: number) => new Date(Date.UTC(2026, 0, 1, 10, min)).toISOString()

function msg(id: string, min: number, over: Partial<Message> = {}): Message {
  return {
    id, conversation_id: 'c1', wamid: `wamid.${id}`, direction: 'inbound', type: 'text', status: 'received',
    content: { body: id }, preview: id, timestamp: t(min), reply_to: null, statuses: {}, ...over,
  } as Message
}

function conv(id: string, min: number, over: Partial<Conversation> = {}): Conversation {
  return {
    id, contact: { wa_id: '1555' + id, phone: '+1555' + id, name: 'Customer ' + id }, phone_number_id: '1', unread_count: 0,
    last_message_at: t(min), last_message_preview: '', window_expires_at: null, status: 'open', snoozed_until: null,
    assignee_id: null, tags: [], ...over,
  }
}

const pages = (...ps: Message[][]): Infinite<MessagePage> => ({ pages: ps.map((data, i) => ({ data, next_cursor: i < ps.length - 1 ? 'x' : '' })), pageParams: ps.map(() => undefined) })

describe('SeqBook', () => {
  it('applies an event once per row and seq, and tracks the highest seq for since', () => {
    const b = new SeqBook()
    expect(b.accept('m:1', 5)).toBe(true)
    expect(b.accept('m:1', 5)).toBe(false) // duplicate
    expect(b.accept('m:1', 4)).toBe(false) // older than the row
    expect(b.accept('m:2', 3)).toBe(true) // another row, older seq: still new for it
    expect(b.accept('m:1', 9)).toBe(true)
    expect(b.high).toBe(9)
  })
})

describe('upsertMessage', () => {
  it('replaces a row of the same id in whatever page holds it', () => {
    const d = pages([msg('c', 3), msg('b', 2)], [msg('a', 1)])
    const out = upsertMessage(d, msg('a', 1, { status: 'read' }))!
    expect(out.pages[1].data[0].status).toBe('read')
    expect(chronological(out).map((m) => m.id)).toEqual(['a', 'b', 'c'])
  })
  it('puts a new message at the newest end and keeps order by time', () => {
    const d = pages([msg('c', 3), msg('a', 1)])
    const out = upsertMessage(upsertMessage(d, msg('d', 4)), msg('b', 2))!
    expect(chronological(out).map((m) => m.id)).toEqual(['a', 'b', 'c', 'd'])
  })
  it('leaves a message older than everything loaded to its page when more pages exist', () => {
    const d = pages([msg('c', 3)])
    expect(upsertMessage(d, msg('a', 1), true)).toBe(d)
    expect(chronological(upsertMessage(d, msg('a', 1), false)).map((m) => m.id)).toEqual(['a', 'c'])
  })
  it('confirms an optimistic row instead of adding a second one', () => {
    const pending = { ...msg('pending:k1', 5, { direction: 'outbound', status: 'queued', preview: 'hi' }), pending: 'sending' as const, client_key: 'k1' }
    const d = addPending(pages([msg('a', 1)]), pending)
    const server = msg('real', 5, { direction: 'outbound', status: 'sent', preview: 'hi' })
    // The live event comes before the POST's answer…
    const live = upsertMessage(d, server)!
    expect(chronological(live).map((m) => m.id)).toEqual(['a', 'real'])
    // …and the answer then changes nothing.
    const answered = confirmPending(live, 'k1', { ...server, status: 'queued' })!
    expect(chronological(answered).map((m) => m.id)).toEqual(['a', 'real'])
    expect(chronological(answered)[1].status).toBe('sent')
  })
  it('confirms an optimistic media row by its upload, whatever the server calls it', () => {
    const p = { ...msg('pending:k2', 5, { direction: 'outbound', type: 'image', preview: 'Here it is', content: { id: 'up-1', caption: 'Here it is' } }), pending: 'sending', client_key: 'k2' } as PendingMessage
    let d = addPending(pages([msg('a', 1)]), p)
    const other = msg('s0', 5, { direction: 'outbound', type: 'image', preview: '📷 Here it is', content: { type: 'image', image: { id: 'up-0', caption: 'Here it is' } } })
    d = upsertMessage(d, other)!
    expect(chronological(d).map((m) => m.id)).toEqual(['a', 'pending:k2', 's0']) // another upload: not this one
    const server = msg('s1', 5, { direction: 'outbound', type: 'image', preview: '📷 Here it is', content: { type: 'image', image: { id: 'up-1', caption: 'Here it is' } } })
    d = upsertMessage(d, server)!
    expect(chronological(d).map((m) => m.id)).toEqual(['a', 's1', 's0'])
  })

  it('the POST answer replaces the optimistic row when it comes first', () => {
    const pending = { ...msg('pending:k1', 5, { direction: 'outbound', status: 'queued', preview: 'hi' }), pending: 'sending' as const, client_key: 'k1' }
    const d = addPending(pages([msg('a', 1)]), pending)
    const out = confirmPending(d, 'k1', msg('real', 5, { direction: 'outbound', status: 'queued', preview: 'hi' }))!
    expect(chronological(out).map((m) => m.id)).toEqual(['a', 'real'])
    // The event of the same message then updates it in place.
    const after = upsertMessage(out, msg('real', 5, { direction: 'outbound', status: 'delivered', preview: 'hi' }))!
    expect(chronological(after).map((m) => [m.id, m.status])).toEqual([['a', 'received'], ['real', 'delivered']])
  })

  it('of messages in the same second, puts the one that arrived last newest', () => {
    let d: Infinite<MessagePage> | undefined = pages([msg('b', 2), msg('a', 1)])
    d = upsertMessage(d, msg('c', 2))
    d = upsertMessage(d, msg('d', 2))
    expect(chronological(d).map((m) => m.id)).toEqual(['a', 'b', 'c', 'd'])
  })

  it('orders by instant, not by the text of timestamps of different precision', () => {
    const d = pages([msg('in', 0, { timestamp: '2026-01-01T10:00:08Z' })])
    const out = upsertMessage(d, msg('out', 0, { timestamp: '2026-01-01T10:00:10.564351791Z' }))!
    const late = upsertMessage(out, msg('in2', 0, { timestamp: '2026-01-01T10:00:11Z' }))!
    expect(chronological(late).map((m) => m.id)).toEqual(['in', 'out', 'in2'])
  })
})

describe('conversation lists', () => {
  const cp = (rows: Conversation[], next = ''): Infinite<ConversationPage> => ({ pages: [{ data: rows, next_cursor: next }], pageParams: [undefined] })
  it('moves an updated conversation to the top', () => {
    const d = cp([conv('a', 3), conv('b', 2), conv('c', 1)])
    const out = upsertConversation(d, conv('c', 9, { unread_count: 2 }), { view: 'all' }, 'me')!
    expect(out.pages[0].data.map((c) => c.id)).toEqual(['c', 'a', 'b'])
    expect(out.pages[0].data[0].unread_count).toBe(2)
  })
  it('drops a conversation that no longer matches the filter, adds one that now does', () => {
    const mine = cp([conv('a', 3, { assignee_id: 'me' })])
    expect(upsertConversation(mine, conv('a', 3, { assignee_id: 'other' }), { view: 'mine' }, 'me')!.pages[0].data).toEqual([])
    const un = cp([])
    expect(upsertConversation(un, conv('z', 4), { view: 'unassigned' }, 'me')!.pages[0].data.map((c) => c.id)).toEqual(['z'])
    expect(upsertConversation(un, conv('z', 4, { status: 'closed' }), { view: 'unassigned' }, 'me')!.pages[0].data).toEqual([])
  })
  it('matches search, tag and number', () => {
    const c = conv('42', 1, { tags: ['vip'], phone_number_id: '7' })
    expect(matches(c, { view: 'all', q: 'customer 4' }, 'me')).toBe(true)
    expect(matches(c, { view: 'all', q: 'nobody' }, 'me')).toBe(false)
    expect(matches(c, { view: 'all', tag: 'vip', phone_number_id: '7' }, 'me')).toBe(true)
    expect(matches(c, { view: 'all', tag: 'late' }, 'me')).toBe(false)
  })
})

describe('applyEvent into the query caches', () => {
  it('merges created and updated messages, skips duplicates and stale seqs, moves the list', () => {
    const qc = new QueryClient()
    const book = new SeqBook()
    qc.setQueryData(keys.messages('c1'), pages([msg('a', 1)]))
    qc.setQueryData(keys.conversations({ view: 'all' }), { pages: [{ data: [conv('c0', 5), conv('c1', 1)], next_cursor: '' }], pageParams: [undefined] })
    const created = { type: 'message.created' as const, seq: 10, conversation_id: 'c1', data: msg('b', 2) }
    expect(applyEvent(qc, book, created, 'me')).toBe(true)
    expect(applyEvent(qc, book, created, 'me')).toBe(false) // the same event again (a resume overlapping live)
    expect(applyEvent(qc, book, { type: 'message.updated', seq: 12, conversation_id: 'c1', data: msg('b', 2, { status: 'read' }) }, 'me')).toBe(true)
    expect(applyEvent(qc, book, { type: 'message.updated', seq: 11, conversation_id: 'c1', data: msg('b', 2, { status: 'delivered' }) }, 'me')).toBe(false)
    const rows = chronological(qc.getQueryData(keys.messages('c1')))
    expect(rows.map((m) => [m.id, m.status])).toEqual([['a', 'received'], ['b', 'read']])
    applyEvent(qc, book, { type: 'conversation.updated', seq: 13, data: conv('c1', 2, { unread_count: 3 }) }, 'me')
    const list = qc.getQueryData<Infinite<ConversationPage>>(keys.conversations({ view: 'all' }))!
    expect(list.pages[0].data.map((c) => c.id)).toEqual(['c0', 'c1'])
    expect(unreadTotal(qc)).toBe(3)
    applyEvent(qc, book, { type: 'conversation.updated', seq: 14, data: conv('c1', 9, { unread_count: 4 }) }, 'me')
    expect(qc.getQueryData<Infinite<ConversationPage>>(keys.conversations({ view: 'all' }))!.pages[0].data.map((c) => c.id)).toEqual(['c1', 'c0'])
    expect(book.high).toBe(14)
  })
  it('adds a note once', () => {
    const qc = new QueryClient()
    const book = new SeqBook()
    qc.setQueryData(keys.notes('c1'), { data: [] })
    const ev = { type: 'note.added' as const, seq: 3, conversation_id: 'c1', data: { id: 'n1', author_id: null, body: 'call back', created_at: t(1) } }
    applyEvent(qc, book, ev, 'me')
    applyEvent(qc, book, { ...ev, seq: 4 }, 'me')
    expect(qc.getQueryData<{ data: unknown[] }>(keys.notes('c1'))!.data).toHaveLength(1)
  })
})

describe('buildRows (the chat timeline)', () => {
  it('puts a separator per day, notes among messages by time, reactions on their messages', async () => {
    const { buildRows } = await import('../components/inbox/Timeline')
    const day1 = '2026-01-01T10:00:00Z'
    const day2 = '2026-01-02T09:00:00Z'
    const { rows, reactions } = buildRows(
      [
        msg('a', 0, { timestamp: day1, wamid: 'wamid.a' }),
        msg('r', 0, { timestamp: '2026-01-01T10:01:00Z', type: 'reaction', content: { message_id: 'wamid.a', emoji: '👍' } }),
        msg('b', 0, { timestamp: day2 }),
      ],
      [{ id: 'n', author_id: null, body: 'note', created_at: '2026-01-01T11:00:00Z' }],
    )
    expect(rows.map((r) => r.kind)).toEqual(['day', 'msg', 'note', 'day', 'msg'])
    expect(reactions.get('wamid.a')).toEqual(['👍'])
  })
})

describe('a REST page read before the latest events', () => {
  it('gets them applied again when its fetch ends', async () => {
    const { Recent, reapply } = await import('./apply')
    let now = 1000
    const recent = new Recent(120_000, () => now)
    const qc = new QueryClient()
    const f = { view: 'all' as const, q: 'Customer' }
    const fetchStarted = now
    // While the page is being fetched, the conversation is snoozed (seq 7)…
    now = 1500
    recent.add({ type: 'conversation.updated', seq: 7, data: conv('a', 5, { status: 'snoozed' }) })
    // …and the answer, read before, still says open.
    now = 2000
    qc.setQueryData(keys.conversations(f), { pages: [{ data: [conv('a', 5), conv('b', 4)], next_cursor: '' }], pageParams: [''] })
    reapply(qc, keys.conversations(f), recent.since(fetchStarted), 'me')
    const d = qc.getQueryData<Infinite<ConversationPage>>(keys.conversations(f))!
    expect(d.pages[0].data.map((c) => c.id)).toEqual(['b'])
    // Events from before the fetch began are not replayed.
    expect(recent.since(1600)).toEqual([])
  })
})
