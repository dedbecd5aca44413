import * as React from 'react'
import { useInfiniteQuery } from '@tanstack/react-query'
import { ChevronDown, RefreshCw, RotateCcw, Search, SlidersHorizontal, X } from 'lucide-react'
import type { WebhookPage } from '@/api/types'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Card, ErrorNote, LoadMore } from '@/components/ui/section'
import { filterFromSearch, filterToSearch, toQuery, validate, type Filter } from '@/lib/history'
import { navigate, useLocation } from '@/lib/router'
import { cn, formatBytes } from '@/lib/utils'
import { FilterFields } from './FilterFields'
import { WebhookDetailSheet } from './WebhookDetail'
import { ReplayDialog } from './Replays'
import type { Scope } from './scope'
import { ResultBadges, when } from './bits'

/**
 * WebhookList is a scope's webhook history: the filters (kept in the URL,
 * so a filtered list can be linked to), newest first, more on demand; a
 * row opens its detail (?seq=), and "Replay…" selects by the same filter.
 */
export function WebhookList({ scope, tenants }: { scope: Scope; tenants?: string[] }) {
  const { pathname, search } = useLocation()
  const key = filterToSearch(filterFromSearch(search, scope.operator), scope.operator)
  const applied = React.useMemo(() => filterFromSearch(new URLSearchParams(key), scope.operator), [key, scope.operator])
  const seq = Number(search.get('seq')) || 0
  const [form, setForm] = React.useState<Filter>(applied)
  React.useEffect(() => {
    setForm(applied)
  }, [applied])
  const [touched, setTouched] = React.useState(false)
  const [replaying, setReplaying] = React.useState(false)
  // On a phone the filters fold away (open when some are set).
  const active = Object.keys(applied).length
  const [showFilters, setShowFilters] = React.useState(active > 0)
  const errors = validate(form, scope.operator)
  const q = useInfiniteQuery({
    queryKey: [scope.webhooks, applied],
    queryFn: ({ pageParam, signal }) => scope.client.get<WebhookPage>(scope.webhooks, { ...toQuery(applied, scope.operator), cursor: pageParam || undefined, limit: 50 }, signal),
    initialPageParam: '',
    getNextPageParam: (p) => p.next_cursor || undefined,
  })
  const rows = q.data?.pages.flatMap((p) => p.data) ?? []
  const go = (f: Filter, extra: Record<string, string> = {}) => navigate(`${pathname}${filterToSearch(f, scope.operator, extra)}`)
  const dirty = filterToSearch(form, scope.operator) !== key
  return (
    <>
      <Card className="mb-4 p-4">
        <form
          aria-label="Filter webhooks"
          onSubmit={(e) => {
            e.preventDefault()
            setTouched(true)
            if (Object.keys(errors).length === 0) go(form)
          }}
          noValidate
          className="grid gap-4"
        >
          <button type="button" className="flex items-center gap-2 text-sm font-medium md:hidden" aria-expanded={showFilters} aria-controls="wf-fields" onClick={() => setShowFilters(!showFilters)}>
            <SlidersHorizontal className="size-4" aria-hidden /> Filters{active ? ` (${active})` : ''}
            <ChevronDown className={cn('size-4 transition-transform', showFilters && 'rotate-180')} aria-hidden />
          </button>
          <div id="wf-fields" className={cn(!showFilters && 'hidden md:block')}>
            <FilterFields value={form} onChange={setForm} operator={scope.operator} errors={touched ? errors : {}} idPrefix="wf" tenants={tenants} />
          </div>
          <div className="flex flex-wrap items-center gap-2">
            <Button type="submit" disabled={!dirty}>
              <Search /> Apply filters
            </Button>
            <Button
              type="button"
              variant="outline"
              disabled={!key && !dirty}
              onClick={() => {
                setForm({})
                setTouched(false)
                go({})
              }}
            >
              <X /> Clear
            </Button>
            <Button type="button" variant="outline" onClick={() => void q.refetch()} disabled={q.isFetching}>
              <RefreshCw className={q.isFetching ? 'animate-spin' : ''} /> Refresh
            </Button>
            <span className="flex-1" />
            <Button type="button" variant="secondary" onClick={() => setReplaying(true)} disabled={dirty} title={dirty ? 'Apply the filters first: a replay takes what the list shows' : undefined}>
              <RotateCcw /> Replay these…
            </Button>
          </div>
        </form>
      </Card>
      <ErrorNote error={q.error} />
      <Card>
        <div className="hidden grid-cols-[5rem_11rem_1fr_5rem_10rem] gap-3 border-b px-4 py-2 text-xs font-medium text-muted-foreground md:grid">
          <span>Seq</span>
          <span>Received</span>
          <span>Kinds · numbers{scope.operator ? ' · tenant' : ''}</span>
          <span className="text-right">Size</span>
          <span>Result</span>
        </div>
        <ul aria-label="Webhooks" aria-busy={q.isPending} className="divide-y">
          {q.isPending ? <li className="p-4 text-sm text-muted-foreground">Loading…</li> : null}
          {q.isSuccess && rows.length === 0 ? <li className="p-6 text-center text-sm text-muted-foreground">No webhook matches these filters.</li> : null}
          {rows.map((w) => (
            <li key={w.seq}>
              <button
                type="button"
                data-webhook={w.seq}
                data-tenant={w.tenant_id ?? 'unrouted'}
                onClick={() => go(applied, { seq: String(w.seq) })}
                aria-current={w.seq === seq ? 'true' : undefined}
                className="grid w-full cursor-pointer grid-cols-[auto_1fr_auto] items-start gap-x-3 gap-y-1 px-4 py-3 text-left text-sm hover:bg-accent focus-visible:bg-accent aria-[current]:bg-accent md:grid-cols-[5rem_11rem_1fr_5rem_10rem] md:items-center"
              >
                <span className="font-mono font-medium">#{w.seq}</span>
                <span className="text-muted-foreground md:text-foreground">{when.format(new Date(w.received_at))}</span>
                <span className="col-span-2 flex min-w-0 flex-wrap items-center gap-1 md:col-span-1">
                  {w.kinds.length ? w.kinds.map((k) => <Badge key={k} variant="outline">{k}</Badge>) : <span className="text-muted-foreground">no changes</span>}
                  {w.messages || w.statuses ? (
                    <span className="text-xs text-muted-foreground" data-counts>
                      {[w.messages ? `${w.messages} message${w.messages === 1 ? '' : 's'}` : '', w.statuses ? `${w.statuses} status${w.statuses === 1 ? '' : 'es'}` : ''].filter(Boolean).join(', ')}
                    </span>
                  ) : null}
                  <span className="truncate text-xs text-muted-foreground">{w.phone_number_ids.join(', ')}</span>
                  {scope.operator ? (
                    w.tenant_id ? (
                      <span className="truncate font-mono text-xs text-muted-foreground" title={w.tenant_id}>
                        tenant {w.tenant_id.slice(0, 8)}
                      </span>
                    ) : (
                      <Badge variant="warning">unrouted</Badge>
                    )
                  ) : null}
                </span>
                <span className="col-start-3 row-start-1 text-right text-xs text-muted-foreground md:col-auto md:row-auto md:text-sm">{formatBytes(w.size_bytes) || '0 B'}</span>
                <span className="flex flex-wrap justify-end gap-1 md:justify-start">
                  <ResultBadges w={w} />
                </span>
              </button>
            </li>
          ))}
        </ul>
        <LoadMore q={q} />
      </Card>
      <WebhookDetailSheet scope={scope} seq={seq} onOpen={(s) => go(applied, { seq: String(s) })} onClose={() => go(applied)} />
      <ReplayDialog scope={scope} open={replaying} onOpenChange={setReplaying} filter={applied} tenants={tenants} />
    </>
  )
}
