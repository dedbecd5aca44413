// The tab's live connection, wired to the caches and the page: typing,
// presence, notifications, the unread total in the title.
import type { QueryClient } from '@tanstack/react-query'
import { auth } from '@/api/client'
import { createStore } from '@/lib/store'
import { applyEvent, reapply, Recent, unreadTotal } from './apply'
import { SeqBook } from './merge'
import { LiveClient, type LiveState } from './socket'

export interface Typist {
  id: string
  name: string
  until: number
}

export const liveState = createStore<LiveState>({ kind: 'stopped' })
export const typing = createStore<Record<string, Typist[]>>({})
export const presence = createStore<Record<string, { name: string; status: 'online' | 'away' }>>({})
export const unread = createStore<number>(0)
/** The conversation open in this tab, whose new messages notify nobody when the tab is visible. */
export const openConversation = createStore<string | null>(null)
export const soundOn = createStore<boolean>(localStorage.getItem('wam.sound') !== 'off')

let client: LiveClient | null = null
let book = new SeqBook()
let unwatch: (() => void) | null = null

export function liveClient(): LiveClient | null {
  return client
}

export function wsURL(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${proto}//${location.host}/api/ws`
}

export function startLive(qc: QueryClient, onRevoked: () => void) {
  stopLive()
  book = new SeqBook()
  const me = auth.user?.id
  // REST answers read before the latest events must not undo them.
  const recent = new Recent()
  const started = new Map<string, number>()
  unwatch = qc.getQueryCache().subscribe((e) => {
    if (e.type !== 'updated') return
    const hash = e.query.queryHash
    if (e.action.type === 'fetch') started.set(hash, Date.now())
    else if (e.action.type === 'success' && !e.action.manual && started.has(hash)) {
      const t = started.get(hash)!
      started.delete(hash)
      const evs = recent.since(t)
      if (evs.length) queueMicrotask(() => reapply(qc, e.query.queryKey, evs, me))
    }
  })
  client = new LiveClient({
    url: wsURL(),
    token: async () => {
      if (!auth.accessToken || auth.expiresAt - Date.now() < 30_000) await auth.refresh()
      return auth.accessToken
    },
    refresh: () => auth.refresh(),
    onEvent: (ev, live) => {
      const applied = applyEvent(qc, book, ev, me)
      if (applied) recent.add(ev)
      if (applied && ev.type === 'message.created' && ev.data.direction === 'inbound') {
        clearTyping(ev.conversation_id)
        if (live) notifyMessage(ev.conversation_id, ev.data.preview)
      }
      if (applied && ev.type === 'conversation.updated') unread.set(unreadTotal(qc))
    },
    onEphemeral: (ev) => {
      if (ev.type === 'typing') {
        if (ev.user.id === me) return
        const until = Date.now() + 5000
        typing.set((t) => ({ ...t, [ev.conversation_id]: [...(t[ev.conversation_id] ?? []).filter((x) => x.id !== ev.user.id), { ...ev.user, until }] }))
        setTimeout(() => typing.set((t) => ({ ...t, [ev.conversation_id]: (t[ev.conversation_id] ?? []).filter((x) => x.until > Date.now()) })), 5100)
      } else {
        presence.set(Object.fromEntries(ev.users.map((u) => [u.id, { name: u.name, status: u.status }])))
      }
    },
    onState: (s) => liveState.set(s),
    onResync: () => void qc.invalidateQueries(),
    onRevoked,
  })
  client.start()
}

export function stopLive() {
  unwatch?.()
  unwatch = null
  client?.stop()
  client = null
}

function clearTyping(conversationId: string) {
  typing.set((t) => (t[conversationId]?.length ? { ...t, [conversationId]: [] } : t))
}

// Page visibility is the agent's presence; going back online retries at once.
document.addEventListener('visibilitychange', () => client?.setPresence(document.hidden ? 'away' : 'online'))
window.addEventListener('online', () => client?.retryNow())
auth.subscribe(() => {
  if (client && auth.accessToken) client.reauth(auth.accessToken)
})

let audio: AudioContext | null = null
function chime() {
  if (!soundOn.get()) return
  try {
    audio ??= new AudioContext()
    const o = audio.createOscillator()
    const g = audio.createGain()
    o.type = 'sine'
    o.frequency.setValueAtTime(880, audio.currentTime)
    o.frequency.setValueAtTime(1320, audio.currentTime + 0.09)
    g.gain.setValueAtTime(0.0001, audio.currentTime)
    g.gain.exponentialRampToValueAtTime(0.15, audio.currentTime + 0.02)
    g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.3)
    o.connect(g).connect(audio.destination)
    o.start()
    o.stop(audio.currentTime + 0.32)
  } catch {
    /* no audio */
  }
}

function notifyMessage(conversationId: string, preview: string) {
  if (!document.hidden) return
  chime()
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return
  const n = new Notification('New message', { body: preview, tag: conversationId })
  n.onclick = () => {
    window.focus()
    history.pushState(null, '', `/inbox/${conversationId}`)
    dispatchEvent(new PopStateEvent('popstate'))
    n.close()
  }
}

export function askNotifications() {
  if (typeof Notification !== 'undefined' && Notification.permission === 'default') void Notification.requestPermission()
}

export function setSound(on: boolean) {
  localStorage.setItem('wam.sound', on ? 'on' : 'off')
  soundOn.set(on)
}
