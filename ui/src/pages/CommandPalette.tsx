import * as React from 'react'
import * as D from '@radix-ui/react-dialog'
import { useQueryClient } from '@tanstack/react-query'
import { Search, MessageSquare, UserPlus, CheckCircle2, Clock3, Tag, Settings, Keyboard, History } from 'lucide-react'
import type { Conversation, ConversationPage, User } from '@/api/types'
import { navigate, useLocation, match } from '@/lib/router'
import { usePatchConversation, useDirectory } from '@/lib/queries'
import { keys } from '@/live/apply'
import type { Infinite } from '@/live/merge'
import { snoozeOptions } from '@/components/inbox/Chat'
import { cn } from '@/lib/utils'

interface Command {
  id: string
  label: string
  hint?: string
  icon: React.ReactNode
  run: () => void
}

export default function CommandPalette({ open, onOpenChange, user }: { open: boolean; onOpenChange: (o: boolean) => void; user: User }) {
  const qc = useQueryClient()
  const [q, setQ] = React.useState('')
  const [idx, setIdx] = React.useState(0)
  const { pathname } = useLocation()
  const current = match('/inbox/:id', pathname)?.id
  const conv = current ? qc.getQueryData<Conversation>(keys.conversation(current)) : undefined
  const patch = usePatchConversation()
  const directory = useDirectory(user)
  const change = (p: Parameters<typeof patch.mutate>[0]['patch']) => conv && patch.mutate({ id: conv.id, patch: p, current: conv })
  const commands = React.useMemo(() => {
    const out: Command[] = []
    if (conv) {
      out.push({ id: 'assign-me', label: 'Assign to me', icon: <UserPlus />, run: () => change({ assignee_id: user.id }) })
      for (const [id, u] of Object.entries(directory)) if (id !== user.id) out.push({ id: 'assign-' + id, label: `Assign to ${u.name}`, icon: <UserPlus />, run: () => change({ assignee_id: id }) })
      out.push({ id: 'unassign', label: 'Unassign', icon: <UserPlus />, run: () => change({ assignee_id: null }) })
      out.push(conv.status === 'closed' ? { id: 'open', label: 'Reopen conversation', icon: <CheckCircle2 />, run: () => change({ status: 'open' }) } : { id: 'close', label: 'Close conversation', icon: <CheckCircle2 />, run: () => change({ status: 'closed' }) })
      for (const o of snoozeOptions()) out.push({ id: 'snooze-' + o.label, label: `Snooze ${o.label.toLowerCase()}`, icon: <Clock3 />, run: () => change({ status: 'snoozed', snoozed_until: o.until.toISOString() }) })
      const tag = q.trim().replace(/^#/, '').toLowerCase()
      if (q.startsWith('#') && tag) out.push({ id: 'tag', label: conv.tags.includes(tag) ? `Remove tag #${tag}` : `Add tag #${tag}`, icon: <Tag />, run: () => change({ tags: conv.tags.includes(tag) ? conv.tags.filter((t) => t !== tag) : [...conv.tags, tag] }) })
    }
    const seen = new Set<string>()
    for (const [, d] of qc.getQueriesData<Infinite<ConversationPage>>({ queryKey: ['conversations'] }))
      for (const p of d?.pages ?? [])
        for (const c of p.data) {
          if (seen.has(c.id)) continue
          seen.add(c.id)
          out.push({ id: 'go-' + c.id, label: c.contact.name || c.contact.phone, hint: c.contact.phone, icon: <MessageSquare />, run: () => navigate(`/inbox/${c.id}`) })
        }
    if (user.role !== 'agent') out.push({ id: 'history', label: 'Webhook history', icon: <History />, run: () => navigate('/history') })
    out.push({ id: 'settings', label: 'Settings', icon: <Settings />, run: () => navigate('/settings') })
    out.push({ id: 'help', label: 'Keyboard shortcuts', icon: <Keyboard />, run: () => window.dispatchEvent(new KeyboardEvent('keydown', { key: '?' })) })
    return out
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [conv, directory, q, qc, user.id, user.role])
  const needle = q.replace(/^#/, '').toLowerCase()
  const shown = commands.filter((c) => c.id === 'tag' || c.label.toLowerCase().includes(needle) || (c.hint ?? '').includes(needle)).slice(0, 50)
  const run = (c: Command | undefined) => {
    if (!c) return
    onOpenChange(false)
    c.run()
  }
  return (
    <D.Root open={open} onOpenChange={onOpenChange}>
      <D.Portal>
        <D.Overlay className="fixed inset-0 z-50 bg-black/40" />
        <D.Content className="fixed left-1/2 top-[15vh] z-50 w-[calc(100vw-2rem)] max-w-xl -translate-x-1/2 overflow-hidden rounded-xl border bg-card shadow-2xl" aria-describedby={undefined}>
          <D.Title className="sr-only">Command palette</D.Title>
          <div className="flex items-center gap-2 border-b px-3">
            <Search className="size-4 text-muted-foreground" aria-hidden />
            <input
              autoFocus
              value={q}
              onChange={(e) => {
                setQ(e.target.value)
                setIdx(0)
              }}
              onKeyDown={(e) => {
                if (e.key === 'ArrowDown') {
                  e.preventDefault()
                  setIdx((i) => Math.min(shown.length - 1, i + 1))
                } else if (e.key === 'ArrowUp') {
                  e.preventDefault()
                  setIdx((i) => Math.max(0, i - 1))
                } else if (e.key === 'Enter') {
                  e.preventDefault()
                  run(shown[idx])
                }
              }}
              placeholder={conv ? 'Assign, close, snooze, #tag, or go to a conversation…' : 'Go to a conversation…'}
              aria-label="Command"
              role="combobox"
              aria-expanded="true"
              aria-controls="palette-list"
              aria-activedescendant={shown[idx] ? `cmd-${idx}` : undefined}
              className="h-12 flex-1 bg-transparent text-sm outline-none"
            />
          </div>
          <ul id="palette-list" role="listbox" className="max-h-80 overflow-y-auto p-1">
            {shown.length === 0 ? <li className="p-3 text-sm text-muted-foreground">Nothing matches.</li> : null}
            {shown.map((c, i) => (
              <li
                key={c.id}
                id={`cmd-${i}`}
                role="option"
                aria-selected={i === idx}
                onMouseEnter={() => setIdx(i)}
                onClick={() => run(c)}
                className={cn('flex cursor-pointer items-center gap-2 rounded-md px-3 py-2 text-sm [&_svg]:size-4 [&_svg]:text-muted-foreground', i === idx && 'bg-accent')}
              >
                {c.icon}
                <span className="flex-1 truncate">{c.label}</span>
                {c.hint ? <span className="text-xs text-muted-foreground">{c.hint}</span> : null}
              </li>
            ))}
          </ul>
        </D.Content>
      </D.Portal>
    </D.Root>
  )
}
