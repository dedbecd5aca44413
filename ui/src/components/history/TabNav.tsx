import * as React from 'react'
import type { LucideIcon } from 'lucide-react'
import { Link } from '@/lib/router'
import { cn } from '@/lib/utils'

export interface Tab {
  id: string
  label: string
  icon: LucideIcon
}

/** TabNav are a page's sections as links (/page/tab): each has a URL, the back button works. */
export function TabNav({ tabs, current, base, label, className }: { tabs: Tab[]; current: string; base: string; label: string; className?: string }) {
  const nav = React.useRef<HTMLElement>(null)
  // On a phone the tabs scroll sideways: keep the current one in view.
  // (Braces: Chromium's scrollIntoView answers a promise, and an effect may
  // only answer its clean-up.)
  React.useEffect(() => {
    nav.current?.querySelector('[aria-current="page"]')?.scrollIntoView({ block: 'nearest', inline: 'nearest' })
  }, [current])
  return (
    <nav ref={nav} aria-label={label} className={cn('overflow-x-auto', className)}>
      <ul className="flex gap-1">
        {tabs.map((t) => (
          <li key={t.id}>
            <Link
              to={`${base}/${t.id}`}
              aria-current={t.id === current ? 'page' : undefined}
              className={cn('flex items-center gap-2 whitespace-nowrap rounded-md px-3 py-1.5 text-sm hover:bg-accent', t.id === current && 'bg-accent font-medium')}
            >
              <t.icon className="size-4 text-muted-foreground" aria-hidden /> {t.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  )
}
