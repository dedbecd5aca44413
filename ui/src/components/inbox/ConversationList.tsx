import * as React from 'react'
import { useVirtualizer } from '@tanstack/react-virtual'
import { Search, X, Filter } from 'lucide-react'
import type { Conversation, User } from '@/api/types'
import { useConversations, useDirectory, useNumbers } from '@/lib/queries'
import type { ConversationFilter } from '@/live/merge'
import { Avatar, Badge } from '@/components/ui/badge'
import { Input } from '@/components/ui/input'
import { Menu, MenuContent, MenuItem, MenuLabel, MenuSeparator, MenuTrigger } from '@/components/ui/menu'
import { Link } from '@/lib/router'
import { cn, formatListTime } from '@/lib/utils'
import { useStore } from '@/lib/store'
import { typing, unread } from '@/live/live'
import { unreadTotal } from '@/live/apply'
import { useQueryClient } from '@tanstack/react-query'

const VIEWS: { id: ConversationFilter['view']; label: string }[] = [
  { id: 'mine', label: 'Mine' },
  { id: 'unassigned', label: 'Unassigned' },
  { id: 'all', label: 'All' },
  { id: 'snoozed', label: 'Snoozed' },
  { id: 'closed', label: 'Closed' },
]

export function ConversationList({
  user,
  filter,
  setFilter,
  selected,
  onList,
}: {
  user: User
  filter: ConversationFilter
  setFilter: (f: ConversationFilter) => void
  selected?: string
  onList: (ids: string[]) => void
}) {
  const q = useConversations(filter)
  const qc = useQueryClient()
  const rows = React.useMemo(() => q.data?.pages.flatMap((p) => p.data) ?? [], [q.data])
  React.useEffect(() => onList(rows.map((r) => r.id)), [rows, onList])
  React.useEffect(() => unread.set(unreadTotal(qc)), [rows, qc])
  const parent = React.useRef<HTMLDivElement>(null)
  const v = useVirtualizer({ count: rows.length, getScrollElement: () => parent.current, estimateSize: () => 76, overscan: 8, getItemKey: (i) => rows[i].id })
  const items = v.getVirtualItems()
  const last = items[items.length - 1]
  React.useEffect(() => {
    if (last && last.index >= rows.length - 10 && q.hasNextPage && !q.isFetchingNextPage) void q.fetchNextPage()
  }, [last, rows.length, q])
  const [search, setSearch] = React.useState(filter.q ?? '')
  React.useEffect(() => {
    const t = setTimeout(() => {
      if ((filter.q ?? '') !== search) setFilter({ ...filter, q: search || undefined })
    }, 250)
    return () => clearTimeout(t)
  }, [search, filter, setFilter])
  const numbers = useNumbers()
  const directory = useDirectory(user)
  const tags = React.useMemo(() => [...new Set(rows.flatMap((r) => r.tags))].sort(), [rows])
  const typists = useStore(typing)
  const numberName = (id: string) => numbers.data?.data.find((n) => n.phone_number_id === id)
  return (
    <section aria-label="Conversations" className="flex h-full min-h-0 flex-col border-r bg-card">
      <div className="grid gap-2 border-b p-3">
        <div className="flex items-center justify-between">
          <h1 className="text-base font-semibold">Inbox</h1>
          <Menu>
            <MenuTrigger asChild>
              <button className={cn('inline-flex items-center gap-1 rounded-md px-2 py-1 text-xs text-muted-foreground hover:bg-accent', (filter.phone_number_id || filter.tag) && 'text-primary')} aria-label="Filter by number or tag">
                <Filter className="size-3.5" /> {filter.tag ? `#${filter.tag}` : filter.phone_number_id ? numberName(filter.phone_number_id)?.display_phone_number : 'Filter'}
              </button>
            </MenuTrigger>
            <MenuContent align="end">
              <MenuLabel>Number</MenuLabel>
              <MenuItem onSelect={() => setFilter({ ...filter, phone_number_id: undefined })}>All numbers</MenuItem>
              {numbers.data?.data.map((n) => (
                <MenuItem key={n.id} onSelect={() => setFilter({ ...filter, phone_number_id: n.phone_number_id })}>
                  {n.verified_name || n.display_phone_number} <span className="text-muted-foreground">{n.display_phone_number}</span>
                </MenuItem>
              ))}
              <MenuSeparator />
              <MenuLabel>Tag</MenuLabel>
              <MenuItem onSelect={() => setFilter({ ...filter, tag: undefined })}>Any tag</MenuItem>
              {tags.map((t) => (
                <MenuItem key={t} onSelect={() => setFilter({ ...filter, tag: t })}>
                  #{t}
                </MenuItem>
              ))}
            </MenuContent>
          </Menu>
        </div>
        <div className="relative">
          <Search className="pointer-events-none absolute left-2.5 top-2.5 size-4 text-muted-foreground" aria-hidden />
          <Input value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Search name or number" aria-label="Search conversations" className="pl-8 pr-8" />
          {search ? (
            <button className="absolute right-2 top-2 rounded p-0.5 text-muted-foreground hover:bg-accent" aria-label="Clear search" onClick={() => setSearch('')}>
              <X className="size-4" />
            </button>
          ) : null}
        </div>
        <div role="tablist" aria-label="Views" className="-mx-1 flex gap-1 overflow-x-auto px-1">
          {VIEWS.map((view) => (
            <button
              key={view.id}
              role="tab"
              aria-selected={filter.view === view.id}
              onClick={() => setFilter({ ...filter, view: view.id })}
              className={cn('shrink-0 rounded-full px-2.5 py-1 text-xs font-medium transition-colors', filter.view === view.id ? 'bg-primary text-primary-foreground' : 'text-muted-foreground hover:bg-accent')}
            >
              {view.label}
            </button>
          ))}
        </div>
      </div>
      <div ref={parent} className="min-h-0 flex-1 overflow-y-auto" data-testid="conversation-list">
        {q.isPending ? (
          <ListSkeleton />
        ) : rows.length === 0 ? (
          <div className="p-8 text-center text-sm text-muted-foreground">{q.isError ? `Could not load: ${(q.error as Error).message}` : 'No conversations here.'}</div>
        ) : (
          <ul style={{ height: v.getTotalSize(), position: 'relative' }} aria-label="Conversation list">
            {items.map((it) => {
              const c = rows[it.index]
              return (
                <li key={it.key} data-index={it.index} ref={v.measureElement} style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${it.start}px)` }}>
                  <Row c={c} active={c.id === selected} assignee={c.assignee_id ? directory[c.assignee_id]?.name ?? 'Assigned' : undefined} typing={(typists[c.id] ?? []).length > 0} filter={filter} />
                </li>
              )
            })}
          </ul>
        )}
      </div>
    </section>
  )
}

function Row({ c, active, assignee, typing, filter }: { c: Conversation; active: boolean; assignee?: string; typing: boolean; filter: ConversationFilter }) {
  const name = c.contact.name || c.contact.phone
  const qs = filterSearch(filter)
  return (
    <Link
      to={`/inbox/${c.id}${qs}`}
      data-conversation={c.id}
      aria-current={active ? 'true' : undefined}
      className={cn('flex gap-3 border-b border-border/60 px-3 py-3 outline-none transition-colors hover:bg-accent/60 focus-visible:bg-accent', active && 'bg-accent')}
    >
      <div className="relative">
        <Avatar name={name} size={40} />
        {assignee ? (
          <span className="absolute -bottom-1 -right-1 rounded-full ring-2 ring-card" title={`Assigned to ${assignee}`}>
            <Avatar name={assignee} size={18} />
          </span>
        ) : null}
      </div>
      <div className="min-w-0 flex-1">
        <div className="flex items-baseline gap-2">
          <span className={cn('truncate text-sm', c.unread_count > 0 ? 'font-semibold' : 'font-medium')}>{name}</span>
          <span className={cn('ml-auto shrink-0 text-[11px]', c.unread_count > 0 ? 'font-medium text-primary' : 'text-muted-foreground')}>{formatListTime(c.last_message_at)}</span>
        </div>
        <div className="mt-0.5 flex items-center gap-2">
          <span className={cn('truncate text-[13px]', typing ? 'text-primary italic' : c.unread_count > 0 ? 'text-foreground' : 'text-muted-foreground')}>{typing ? 'typing…' : c.last_message_preview || '\u00a0'}</span>
          {c.unread_count > 0 ? (
            <span className="ml-auto min-w-5 shrink-0 rounded-full bg-primary px-1.5 text-center text-[11px] font-bold leading-5 text-primary-foreground" aria-label={`${c.unread_count} unread`} data-unread={c.unread_count}>
              {c.unread_count}
            </span>
          ) : null}
        </div>
        {c.tags.length > 0 ? (
          <div className="mt-1 flex gap-1 overflow-hidden">
            {c.tags.slice(0, 3).map((t) => (
              <Badge key={t} variant="secondary" className="px-1.5 py-0 text-[10px]">
                #{t}
              </Badge>
            ))}
          </div>
        ) : null}
      </div>
    </Link>
  )
}

export function filterSearch(f: ConversationFilter): string {
  const p = new URLSearchParams()
  if (f.view !== 'all') p.set('view', f.view)
  if (f.phone_number_id) p.set('number', f.phone_number_id)
  if (f.tag) p.set('tag', f.tag)
  if (f.q) p.set('q', f.q)
  const s = p.toString()
  return s ? `?${s}` : ''
}

function ListSkeleton() {
  return (
    <div className="grid gap-0" aria-hidden>
      {Array.from({ length: 8 }, (_, i) => (
        <div key={i} className="flex gap-3 border-b border-border/60 px-3 py-3">
          <div className="size-10 animate-pulse rounded-full bg-muted" />
          <div className="grid flex-1 gap-2">
            <div className="h-3 w-1/2 animate-pulse rounded bg-muted" />
            <div className="h-3 w-3/4 animate-pulse rounded bg-muted" />
          </div>
        </div>
      ))}
    </div>
  )
}
