import * as React from 'react'
import { useVirtualizer } from '@tanstack/react-virtual'
import { ArrowDown, Loader2, StickyNote } from 'lucide-react'
import type { Message, Note, PendingMessage, Template } from '@/api/types'
import { cn, dayKey, formatDay, formatTime } from '@/lib/utils'
import { Bubble, payload } from './Bubble'
import { ms } from '@/live/merge'

export type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'msg'; key: string; m: PendingMessage }
  | { kind: 'note'; key: string; n: Note }

/** buildRows interleaves messages and notes by time with a separator per day; reactions go on their messages. */
export function buildRows(messages: Message[], notes: Note[]): { rows: Row[]; reactions: Map<string, string[]>; byWamid: Map<string, Message> } {
  const reactions = new Map<string, string[]>()
  const byWamid = new Map<string, Message>()
  const items: ({ t: number; at: string; m: Message } | { t: number; at: string; n: Note })[] = []
  for (const m of messages) {
    if (m.wamid) byWamid.set(m.wamid, m)
    byWamid.set(m.id, m)
    if (m.type === 'reaction') {
      const c = payload(m) as { message_id?: string; emoji?: string }
      if (c.message_id) {
        const list = reactions.get(c.message_id) ?? []
        // One reaction per side and message: the latest wins, an empty one takes it back.
        const side = m.direction
        const kept = list.filter((e) => !e.startsWith(side + ':'))
        if (c.emoji) kept.push(`${side}:${c.emoji}`)
        reactions.set(c.message_id, kept)
      }
      continue
    }
    items.push({ t: ms(m.timestamp), at: m.timestamp, m })
  }
  for (const n of notes) items.push({ t: ms(n.created_at), at: n.created_at, n })
  items.sort((a, b) => a.t - b.t) // stable: the server's order among equal times
  const rows: Row[] = []
  let day = ''
  for (const it of items) {
    const d = dayKey(it.at)
    if (d !== day) {
      day = d
      rows.push({ kind: 'day', key: `day:${d}`, label: formatDay(it.at) })
    }
    if ('m' in it) rows.push({ kind: 'msg', key: it.m.id, m: it.m })
    else rows.push({ kind: 'note', key: `note:${it.n.id}`, n: it.n })
  }
  const clean = new Map<string, string[]>()
  for (const [k, v] of reactions) clean.set(k, v.map((e) => e.slice(e.indexOf(':') + 1)))
  return { rows, reactions: clean, byWamid }
}

export function Timeline({
  conversationId,
  messages,
  notes,
  hasOlder,
  loadingOlder,
  loadOlder,
  templates,
  names,
  onReply,
  onReact,
  onRetry,
  footer,
}: {
  conversationId: string
  messages: Message[]
  notes: Note[]
  hasOlder: boolean
  loadingOlder: boolean
  loadOlder: () => void
  templates: Template[]
  names: Record<string, { name: string }>
  onReply: (m: Message) => void
  onReact: (m: Message, emoji: string) => void
  onRetry: (m: PendingMessage) => void
  footer?: React.ReactNode
}) {
  const { rows, reactions, byWamid } = React.useMemo(() => buildRows(messages, notes), [messages, notes])
  const parent = React.useRef<HTMLDivElement>(null)
  const v = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parent.current,
    // A close guess keeps the corrections small while rows get measured.
    estimateSize: (i) => {
      const r = rows[i]
      if (r.kind === 'day') return 44
      const text = r.kind === 'note' ? r.n.body : r.m.preview
      return (r.kind === 'msg' && ['image', 'video', 'sticker'].includes(r.m.type) ? 260 : 56) + Math.floor((text?.length ?? 0) / 60) * 20
    },
    overscan: 12,
    getItemKey: (i) => rows[i].key,
  })
  const atBottom = React.useRef(true)
  const [unseen, setUnseen] = React.useState(0)
  const anchor = React.useRef<{ key: string; offset: number } | null>(null)
  const lastKey = rows.length ? rows[rows.length - 1].key : ''
  const prevLast = React.useRef('')
  const initial = React.useRef(true)

  // The chat view is keyed by conversation: a new one mounts a new timeline.
  void conversationId

  const toBottom = React.useCallback(() => {
    if (rows.length === 0) return
    v.scrollToIndex(rows.length - 1, { align: 'end' })
    // Rows measured after the jump may grow the list: settle at the end.
    requestAnimationFrame(() => {
      const el = parent.current
      if (el) el.scrollTop = el.scrollHeight
    })
  }, [rows.length, v])

  // Keep the view where it was when older pages come in above it.
  React.useLayoutEffect(() => {
    const a = anchor.current
    if (!a) return
    const idx = rows.findIndex((r) => r.key === a.key)
    if (idx < 0) return
    const m = v.measurementsCache[idx]
    if (m && parent.current) parent.current.scrollTop = m.start - a.offset
    anchor.current = null
  }, [rows, v])

  // New rows at the end: follow them when at the bottom, else count them.
  React.useLayoutEffect(() => {
    if (!lastKey) return
    if (initial.current) {
      initial.current = false
      prevLast.current = lastKey
      toBottom()
      return
    }
    if (lastKey === prevLast.current) return
    prevLast.current = lastKey
    const last = rows[rows.length - 1]
    const mine = last.kind === 'msg' && last.m.direction === 'outbound'
    if (atBottom.current || mine) toBottom()
    else setUnseen((n) => n + 1)
  }, [lastKey, rows, toBottom])

  const maybeLoadOlder = React.useCallback(() => {
    const el = parent.current
    if (!el || initial.current || !hasOlder || loadingOlder || el.scrollTop >= 600) return
    const first = v.getVirtualItems().find((it) => it.end > el.scrollTop)
    if (first) anchor.current = { key: String(first.key), offset: first.start - el.scrollTop }
    loadOlder()
  }, [hasOlder, loadingOlder, loadOlder, v])

  // Still near the top once a page came in (no scroll event then): the next one.
  React.useEffect(() => {
    maybeLoadOlder()
  }, [rows.length, maybeLoadOlder])

  const onScroll = () => {
    const el = parent.current
    if (!el) return
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 120
    if (atBottom.current && unseen) setUnseen(0)
    maybeLoadOlder()
  }

  const items = v.getVirtualItems()
  const [viewport, setViewport] = React.useState(0)
  React.useLayoutEffect(() => {
    const el = parent.current
    if (!el) return
    const ro = new ResizeObserver(() => setViewport(el.clientHeight))
    ro.observe(el)
    return () => ro.disconnect()
  }, [])
  const total = v.getTotalSize()
  return (
    <div className="relative min-h-0 flex-1">
      <div ref={parent} onScroll={onScroll} className="h-full overflow-y-auto bg-chat" data-testid="timeline" role="log" aria-label="Messages" aria-live="polite" aria-relevant="additions">
        {/* A short conversation sits at the bottom, by the composer, as chats do. */}
        <div style={{ height: total, position: 'relative', marginTop: Math.max(0, viewport - total - 16) }}>
          {items.map((it) => {
            const r = rows[it.index]
            return (
              <div key={it.key} data-index={it.index} ref={v.measureElement} style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${it.start}px)` }} className="py-1">
                {r.kind === 'day' ? (
                  <div className="flex justify-center py-2">
                    <span className="rounded-full bg-card px-3 py-1 text-[11px] font-medium text-muted-foreground shadow-sm">{r.label}</span>
                  </div>
                ) : r.kind === 'note' ? (
                  <div className="flex justify-center px-4 sm:px-8" data-note={r.n.id}>
                    <div className="flex max-w-[85%] gap-2 rounded-lg border border-amber-300/70 bg-amber-50 px-3 py-2 text-sm text-amber-950 dark:border-amber-700/50 dark:bg-amber-950/40 dark:text-amber-100">
                      <StickyNote className="mt-0.5 size-4 shrink-0" aria-hidden />
                      <div>
                        <div className="text-[11px] font-medium opacity-75">
                          Private note · {r.n.author_id ? names[r.n.author_id]?.name ?? 'Teammate' : 'API'} · {formatTime(r.n.created_at)}
                        </div>
                        <p className="whitespace-pre-wrap break-words">{r.n.body}</p>
                      </div>
                    </div>
                  </div>
                ) : (
                  <Bubble
                    m={r.m}
                    quoted={r.m.reply_to ? byWamid.get(r.m.reply_to) : undefined}
                    reactions={(r.m.wamid && reactions.get(r.m.wamid)) || reactions.get(r.m.id)}
                    template={r.m.type === 'template' ? findTemplate(templates, payload(r.m)) : undefined}
                    sender={r.m.sent_by ? names[r.m.sent_by]?.name : undefined}
                    onReply={onReply}
                    onReact={onReact}
                    onRetry={onRetry}
                  />
                )}
              </div>
            )
          })}
        </div>
        {footer}
      </div>
      {loadingOlder ? (
        <div className="absolute left-1/2 top-2 -translate-x-1/2 rounded-full bg-card px-3 py-1 text-xs shadow">
          <Loader2 className="mr-1 inline size-3 animate-spin" /> Loading history…
        </div>
      ) : null}
      {unseen > 0 ? (
        <button
          onClick={() => {
            setUnseen(0)
            toBottom()
          }}
          className={cn('absolute bottom-4 left-1/2 flex -translate-x-1/2 items-center gap-1 rounded-full bg-primary px-3 py-1.5 text-xs font-medium text-primary-foreground shadow-lg')}
          data-testid="new-messages"
        >
          <ArrowDown className="size-3.5" /> {unseen} new message{unseen > 1 ? 's' : ''}
        </button>
      ) : null}
    </div>
  )
}

function findTemplate(templates: Template[], content: unknown): Template | undefined {
  const c = (content ?? {}) as { name?: string; language?: { code?: string } | string }
  const lang = typeof c.language === 'string' ? c.language : c.language?.code
  return templates.find((t) => t.name === c.name && (!lang || t.language === lang))
}
