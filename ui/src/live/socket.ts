// The live connection: one WebSocket per tab to GET /api/ws, the access
// token in the first frame (never in the URL), resume with `since` after
// every reconnect, reconnect forever with capped backoff and jitter.
import type { Conversation, Message, Note } from '../api/types'

export type LiveEvent =
  | { type: 'message.created' | 'message.updated'; seq: number; conversation_id: string; data: Message }
  | { type: 'conversation.updated'; seq: number; data: Conversation }
  | { type: 'note.added'; seq: number; conversation_id: string; data: Note }

export type Ephemeral =
  | { type: 'typing'; conversation_id: string; user: { id: string; name: string } }
  | { type: 'presence'; users: { id: string; name: string; status: 'online' | 'away' }[] }

export type ServerFrame =
  | LiveEvent
  | Ephemeral
  | { type: 'hello'; user_id: string; tenant_id: string; role: string; head: number }
  | { type: 'synced'; seq: number }

export type LiveState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'syncing' }
  | { kind: 'live' }
  | { kind: 'offline'; attempt: number; retryAt: number; reason: string }
  | { kind: 'stopped' }

export interface SocketLike {
  readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: ((ev: unknown) => void) | null
}

export interface LiveOptions {
  url: string
  /** The current access token (refreshing it first when it is stale). */
  token: () => Promise<string | null>
  /** Refresh the access token; false when the sign-in is over. */
  refresh: () => Promise<boolean>
  /** Every event with a seq, live or resumed, in order. */
  onEvent: (ev: LiveEvent, live: boolean) => void
  onEphemeral?: (ev: Ephemeral) => void
  onState?: (s: LiveState) => void
  /** The server did a fresh start (since = 0): cached pages must be fetched again. */
  onResync?: () => void
  /** 4003: the session was revoked or the user removed. */
  onRevoked?: () => void
  /** The highest seq seen before, e.g. by an earlier connection. */
  since?: number
  open?: (url: string) => SocketLike
  random?: () => number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (t: unknown) => void
  now?: () => number
}

export const BACKOFF_BASE_MS = 500
export const BACKOFF_CAP_MS = 30_000

/** backoff is the wait before reconnect attempt n (1-based): exponential, capped, with jitter in [50%, 100%]. */
export function backoff(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt - 1, 16))
  return Math.round(ceiling * (0.5 + random() * 0.5))
}

export class LiveClient {
  since: number
  private ws: SocketLike | null = null
  private attempt = 0
  private timer: unknown = null
  private stopped = true
  private synced = false
  private lastTyping = new Map<string, number>()
  private presence: 'online' | 'away' = 'online'
  private o: Required<Omit<LiveOptions, 'onEphemeral' | 'onState' | 'onResync' | 'onRevoked' | 'since'>> & LiveOptions
  state: LiveState = { kind: 'stopped' }

  constructor(o: LiveOptions) {
    this.o = {
      open: (url) => new WebSocket(url) as unknown as SocketLike,
      random: Math.random,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
      now: Date.now,
      ...o,
    }
    this.since = o.since ?? 0
  }

  start() {
    if (!this.stopped) return
    this.stopped = false
    void this.connect()
  }

  stop() {
    this.stopped = true
    if (this.timer) this.o.clearTimer(this.timer)
    this.timer = null
    const ws = this.ws
    this.ws = null
    if (ws) ws.close(1000, 'bye')
    this.setState({ kind: 'stopped' })
  }

  /** Reconnect now if waiting (the browser went back online, say). */
  retryNow() {
    if (this.state.kind === 'offline') {
      if (this.timer) this.o.clearTimer(this.timer)
      this.timer = null
      void this.connect()
    }
  }

  /** Send a fresh access token on the live connection. */
  reauth(token: string) {
    this.sendFrame({ type: 'auth', token })
  }

  /** typing tells the others the agent types in conversation id, at most every 3 s. */
  typing(conversationId: string) {
    const now = this.o.now()
    if (now - (this.lastTyping.get(conversationId) ?? 0) < 3000) return
    if (this.sendFrame({ type: 'typing', conversation_id: conversationId })) this.lastTyping.set(conversationId, now)
  }

  setPresence(status: 'online' | 'away') {
    this.presence = status
    this.sendFrame({ type: 'presence', status })
  }

  private sendFrame(f: unknown): boolean {
    if (!this.ws || this.ws.readyState !== 1 || !this.synced) return false
    this.ws.send(JSON.stringify(f))
    return true
  }

  private setState(s: LiveState) {
    this.state = s
    this.o.onState?.(s)
  }

  private async connect() {
    if (this.stopped) return
    this.setState({ kind: 'connecting', attempt: this.attempt })
    let token: string | null
    try {
      token = await this.o.token()
    } catch {
      token = null
      this.scheduleRetry('could not reach the server')
      return
    }
    if (this.stopped) return
    if (!token) {
      this.o.onRevoked?.()
      this.stop()
      return
    }
    let ws: SocketLike
    try {
      ws = this.o.open(this.o.url)
    } catch {
      this.scheduleRetry('could not open the connection')
      return
    }
    this.ws = ws
    this.synced = false
    const since = this.since
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'auth', token, since }))
    }
    ws.onmessage = (ev) => {
      // A message holds one or more frames, one JSON object per line.
      for (const line of String(ev.data).split('\n')) {
        if (this.ws !== ws) return
        let f: ServerFrame
        try {
          f = JSON.parse(line)
        } catch {
          continue
        }
        this.handle(f, since)
      }
    }
    ws.onerror = () => {
      /* onclose follows */
    }
    ws.onclose = (ev) => {
      if (this.ws !== ws) return
      this.ws = null
      this.synced = false
      void this.closed(ev.code, ev.reason)
    }
  }

  private handle(f: ServerFrame, since: number) {
    switch (f.type) {
      case 'hello':
        this.attempt = 0
        this.setState({ kind: 'syncing' })
        if (since === 0) {
          // A first start: the pages come over REST, after head.
          if (f.head > this.since) this.since = f.head
        }
        return
      case 'synced':
        if (f.seq > this.since) this.since = f.seq
        this.synced = true
        if (since === 0) this.o.onResync?.()
        this.setState({ kind: 'live' })
        if (this.presence !== 'online') this.sendFrame({ type: 'presence', status: this.presence })
        return
      case 'typing':
      case 'presence':
        this.o.onEphemeral?.(f)
        return
      case 'message.created':
      case 'message.updated':
      case 'conversation.updated':
      case 'note.added':
        if (typeof f.seq === 'number' && f.seq > this.since) this.since = f.seq
        this.o.onEvent(f, this.synced)
        return
    }
  }

  private async closed(code: number, reason: string) {
    if (this.stopped) return
    switch (code) {
      case 4003:
        this.o.onRevoked?.()
        this.stop()
        return
      case 4001: {
        let ok = false
        try {
          ok = await this.o.refresh()
        } catch {
          this.scheduleRetry('could not refresh the sign-in')
          return
        }
        if (!ok) {
          this.o.onRevoked?.()
          this.stop()
          return
        }
        void this.connect()
        return
      }
      case 4008:
      case 1012:
        // Too slow, or the server restarts: resume at once (then back off).
        if (this.attempt === 0) {
          this.attempt = 1
          void this.connect()
          return
        }
    }
    this.scheduleRetry(code === 1012 ? 'the server is restarting' : reason || 'the connection was lost')
  }

  private scheduleRetry(reason: string) {
    if (this.stopped) return
    this.attempt++
    const wait = backoff(this.attempt, this.o.random)
    this.setState({ kind: 'offline', attempt: this.attempt, retryAt: this.o.now() + wait, reason })
    this.timer = this.o.setTimer(() => {
      this.timer = null
      void this.connect()
    }, wait)
  }
}
