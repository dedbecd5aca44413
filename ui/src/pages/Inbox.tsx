import * as React from 'react'
import { MessagesSquare } from 'lucide-react'
import type { User } from '@/api/types'
import { ConversationList, filterSearch } from '@/components/inbox/ConversationList'
import { Chat } from '@/components/inbox/Chat'
import type { ConversationFilter } from '@/live/merge'
import { match, navigate, useLocation } from '@/lib/router'
import { cn } from '@/lib/utils'
import { shortcutActions } from './Shortcuts'

function filterFrom(s: URLSearchParams, role: string): ConversationFilter {
  const v = s.get('view')
  const view = (['mine', 'unassigned', 'all', 'closed', 'snoozed'] as const).find((x) => x === v) ?? (role === 'agent' ? 'all' : 'all')
  return { view, phone_number_id: s.get('number') || undefined, tag: s.get('tag') || undefined, q: s.get('q') || undefined }
}

export function Inbox({ user }: { user: User }) {
  const { pathname, search } = useLocation()
  const params = match('/inbox/:id?', pathname)
  const selected = params?.id
  const filter = React.useMemo(() => filterFrom(search, user.role), [search, user.role])
  const setFilter = React.useCallback((f: ConversationFilter) => navigate(`${selected ? `/inbox/${selected}` : '/inbox'}${filterSearch(f)}`, { replace: true }), [selected])
  const ids = React.useRef<string[]>([])
  const onList = React.useCallback((l: string[]) => {
    ids.current = l
  }, [])
  const [panel, setPanel] = React.useState(() => localStorage.getItem('wam.panel') !== 'off')
  const togglePanel = (v: boolean) => {
    localStorage.setItem('wam.panel', v ? 'on' : 'off')
    setPanel(v)
  }
  React.useEffect(() => {
    const go = (d: number) => {
      const l = ids.current
      if (!l.length) return
      const i = selected ? l.indexOf(selected) : -1
      const next = l[Math.min(l.length - 1, Math.max(0, i + d))]
      if (next) navigate(`/inbox/${next}${filterSearch(filter)}`)
    }
    shortcutActions.set({ ...shortcutActions.get(), next: () => go(1), prev: () => go(-1), conversations: () => ids.current })
  }, [selected, filter])
  const back = `/inbox${filterSearch(filter)}`
  return (
    <div className="flex h-full">
      <div className={cn('h-full w-full shrink-0 md:w-80 lg:w-[340px]', selected && 'hidden md:block')}>
        <ConversationList user={user} filter={filter} setFilter={setFilter} selected={selected} onList={onList} />
      </div>
      <div className={cn('h-full min-w-0 flex-1', !selected && 'hidden md:block')}>
        {selected ? (
          <Chat key={selected} id={selected} user={user} backTo={back} panel={panel} setPanel={togglePanel} />
        ) : (
          <div className="grid h-full place-items-center bg-chat p-8 text-center">
            <div className="max-w-xs">
              <MessagesSquare className="mx-auto size-10 text-muted-foreground" aria-hidden />
              <p className="mt-3 font-medium">Pick a conversation</p>
              <p className="mt-1 text-sm text-muted-foreground">
                <kbd className="rounded border px-1">J</kbd>/<kbd className="rounded border px-1">K</kbd> move between conversations, <kbd className="rounded border px-1">Ctrl K</kbd> opens the command palette, <kbd className="rounded border px-1">?</kbd> lists all shortcuts.
              </p>
            </div>
          </div>
        )}
      </div>
    </div>
  )
}
