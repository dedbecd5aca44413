// Pieces of the pages outside the inbox (settings, history, the operators'
// console): a section's heading, a card, an error note, a copy button.
import * as React from 'react'
import { Check, Copy } from 'lucide-react'
import { Button } from './button'
import { cn } from '@/lib/utils'

export const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e))

export function Heading({ title, children, action, level = 2 }: { title: string; children?: React.ReactNode; action?: React.ReactNode; level?: 1 | 2 }) {
  const H = level === 1 ? 'h1' : 'h2'
  return (
    <div className="mb-6 flex flex-wrap items-start justify-between gap-3">
      <div>
        <H className="text-xl font-semibold">{title}</H>
        {children ? <p className="mt-1 max-w-2xl text-sm text-muted-foreground">{children}</p> : null}
      </div>
      {action}
    </div>
  )
}

export function CopyButton({ value, label = 'Copy' }: { value: string; label?: string }) {
  const [done, setDone] = React.useState(false)
  return (
    <Button
      variant="outline"
      size="sm"
      type="button"
      onClick={() => {
        void navigator.clipboard?.writeText(value)
        setDone(true)
        setTimeout(() => setDone(false), 1500)
      }}
      aria-label={`${label}: ${done ? 'copied' : 'copy'}`}
    >
      {done ? <Check /> : <Copy />} {done ? 'Copied' : label}
    </Button>
  )
}

export function Card({ children, className, ...rest }: React.HTMLAttributes<HTMLDivElement>) {
  return (
    <div className={cn('rounded-lg border bg-card', className)} {...rest}>
      {children}
    </div>
  )
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null
  return (
    <p role="alert" className="rounded-md bg-destructive/10 px-3 py-2 text-sm text-destructive">
      {errorMessage(error)}
    </p>
  )
}

/** LoadMore is the foot of a list paged by cursor: the next page on demand. */
export function LoadMore({ q }: { q: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown } }) {
  if (!q.hasNextPage) return null
  return (
    <div className="border-t p-3 text-center">
      <Button variant="outline" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
        {q.isFetchingNextPage ? 'Loading…' : 'Load more'}
      </Button>
    </div>
  )
}
