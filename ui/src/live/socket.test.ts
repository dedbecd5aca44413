import { describe, expect, it } from 'vitest'
import { backoff, BACKOFF_CAP_MS, LiveClient, type LiveEvent, type LiveState, type SocketLike } from './socket'

class FakeSocket implements SocketLike {
  readyState = 0
  sent: unknown[] = []
  onopen: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onclose: ((ev: { code: number; reason: string }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  constructor(public url: string) {}
  send(d: string) {
    this.sent.push(JSON.parse(d))
  }
  close() {
    this.readyState = 3
  }
  open() {
    this.readyState = 1
    this.onopen?.({})
  }
  frame(f: unknown) {
    this.onmessage?.({ data: JSON.stringify(f) })
  }
  /** frames sends several frames in one message, one per line, as the server does. */
  frames(...fs: unknown[]) {
    this.onmessage?.({ data: fs.map((f) => JSON.stringify(f)).join('\n') })
  }
  drop(code: number) {
    this.readyState = 3
    this.onclose?.({ code, reason: '' })
  }
}

function harness(opts: { token?: () => Promise<string | null>; refresh?: () => Promise<boolean> } = {}) {
  const sockets: FakeSocket[] = []
  const timers: { fn: () => void; ms: number }[] = []
  const events: [LiveEvent, boolean][] = []
  const states: LiveState[] = []
  let revoked = 0
  let resyncs = 0
  const c = new LiveClient({
    url: 'ws://x/api/ws',
    token: opts.token ?? (async () => 'tok'),
    refresh: opts.refresh ?? (async () => true),
    onEvent: (e, live) => events.push([e, live]),
    onState: (s) => states.push(s),
    onRevoked: () => revoked++,
    onResync: () => resyncs++,
    open: (u) => {
      const s = new FakeSocket(u)
      sockets.push(s)
      return s
    },
    random: () => 1,
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
  })
  return { c, sockets, timers, events, states, revoked: () => revoked, resyncs: () => resyncs }
}

const tick = () => new Promise((r) => setTimeout(r, 0))
const ev = (seq: number) => ({ type: 'message.created', seq, conversation_id: 'c', data: { id: 'm' + seq } })

describe('LiveClient', () => {
  it('authenticates in the first frame, never in the URL, and resumes with the highest seq seen', async () => {
    const h = harness()
    h.c.start()
    await tick()
    const s1 = h.sockets[0]
    expect(s1.url).toBe('ws://x/api/ws')
    s1.open()
    expect(s1.sent[0]).toEqual({ type: 'auth', token: 'tok', since: 0 })
    s1.frame({ type: 'hello', user_id: 'u', tenant_id: 't', role: 'agent', head: 40 })
    s1.frame({ type: 'synced', seq: 40 })
    expect(h.resyncs()).toBe(1)
    s1.frame(ev(41))
    s1.frame(ev(42))
    expect(h.events.map(([e, live]) => [e.seq, live])).toEqual([[41, true], [42, true]])
    s1.drop(1006)
    expect(h.states.at(-1)).toMatchObject({ kind: 'offline', attempt: 1 })
    h.timers.shift()!.fn()
    await tick()
    const s2 = h.sockets[1]
    s2.open()
    expect(s2.sent[0]).toEqual({ type: 'auth', token: 'tok', since: 42 })
    s2.frame({ type: 'hello', user_id: 'u', tenant_id: 't', role: 'agent', head: 50 })
    s2.frame(ev(43)) // resumed, before synced
    s2.frame({ type: 'synced', seq: 50 })
    expect(h.events.at(-1)).toEqual([expect.objectContaining({ seq: 43 }), false])
    expect(h.c.since).toBe(50)
    expect(h.resyncs()).toBe(1) // a resume needs no refetch
    expect(h.states.at(-1)).toEqual({ kind: 'live' })
  })

  it('takes every frame of a message that holds several, one per line, in order', async () => {
    const h = harness()
    h.c.start()
    await tick()
    const s = h.sockets[0]
    s.open()
    s.frames({ type: 'hello', head: 10 }, ev(11), ev(12), { type: 'synced', seq: 12 })
    expect(h.events.map(([e, live]) => [e.seq, live])).toEqual([[11, false], [12, false]])
    s.frames(ev(13), { type: 'conversation.updated', seq: 13, data: { id: 'c' } }, ev(14))
    expect(h.events.slice(2).map(([e, live]) => [e.type, e.seq, live])).toEqual([
      ['message.created', 13, true],
      ['conversation.updated', 13, true],
      ['message.created', 14, true],
    ])
    expect(h.c.since).toBe(14)
    expect(h.states.at(-1)).toEqual({ kind: 'live' })
  })

  it('reconnects forever with capped, jittered backoff', async () => {
    const h = harness()
    h.c.start()
    await tick()
    for (let i = 0; i < 30; i++) {
      h.sockets.at(-1)!.drop(1006)
      const t = h.timers.shift()!
      expect(t.ms).toBeLessThanOrEqual(BACKOFF_CAP_MS)
      t.fn()
      await tick()
    }
    expect(h.sockets).toHaveLength(31)
    expect(backoff(1, () => 0)).toBe(250)
    expect(backoff(1, () => 1)).toBe(500)
    expect(backoff(40, () => 1)).toBe(BACKOFF_CAP_MS)
    expect(backoff(40, () => 0)).toBe(BACKOFF_CAP_MS / 2)
  })

  it('4001 refreshes the token and reconnects with since; 4003 signs out', async () => {
    let token = 'old'
    let refreshed = 0
    const h = harness({ token: async () => token, refresh: async () => ((token = 'new'), refreshed++, true) })
    h.c.start()
    await tick()
    h.sockets[0].open()
    h.sockets[0].frame({ type: 'hello', head: 7 })
    h.sockets[0].frame({ type: 'synced', seq: 7 })
    h.sockets[0].drop(4001)
    await tick()
    await tick()
    expect(refreshed).toBe(1)
    h.sockets[1].open()
    expect(h.sockets[1].sent[0]).toEqual({ type: 'auth', token: 'new', since: 7 })
    h.sockets[1].drop(4003)
    expect(h.revoked()).toBe(1)
    expect(h.states.at(-1)).toEqual({ kind: 'stopped' })
    expect(h.timers).toHaveLength(0)
  })

  it('1012 (restart) and 4008 (too slow) resume at once', async () => {
    const h = harness()
    h.c.start()
    await tick()
    h.sockets[0].open()
    h.sockets[0].frame({ type: 'hello', head: 3 })
    h.sockets[0].frame({ type: 'synced', seq: 3 })
    h.sockets[0].drop(1012)
    await tick()
    expect(h.sockets).toHaveLength(2)
    expect(h.timers).toHaveLength(0)
  })

  it('sends typing at most every 3 s, only on a synced connection', async () => {
    const h = harness()
    h.c.start()
    await tick()
    const s = h.sockets[0]
    s.open()
    h.c.typing('c1') // not synced yet: dropped
    s.frame({ type: 'hello', head: 0 })
    s.frame({ type: 'synced', seq: 0 })
    h.c.typing('c1')
    h.c.typing('c1')
    h.c.typing('c2')
    expect(s.sent.filter((f) => (f as { type: string }).type === 'typing')).toEqual([
      { type: 'typing', conversation_id: 'c1' },
      { type: 'typing', conversation_id: 'c2' },
    ])
  })
})
