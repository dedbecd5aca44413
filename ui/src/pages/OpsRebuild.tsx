import * as React from 'react'
import { useMutation, useQuery } from '@tanstack/react-query'
import { Hammer } from 'lucide-react'
import { ApiError } from '@/api/client'
import { opsApi } from '@/api/ops'
import type { Rebuild, RebuildRequest } from '@/api/types'
import { when } from '@/components/history/bits'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Dialog, DialogContent } from '@/components/ui/dialog'
import { Field, Input } from '@/components/ui/input'
import { Progress } from '@/components/ui/progress'
import { Card, ErrorNote } from '@/components/ui/section'
import { formatCount, formatEta, formatRate, fraction } from '@/lib/history'
import { createStore, useStore } from '@/lib/store'

// The rebuilds this tab started, newest first, by id: the contract has
// GET /api/ops/rebuilds/{id} only. When the list (GET /api/ops/rebuilds)
// is in the contract, it replaces this store as the source of the ids.
const KEY = 'wam.ops.rebuilds'

function stored(): string[] {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) || '[]')
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []
  } catch {
    return []
  }
}

const rebuildIds = createStore<string[]>(stored())

function remember(id: string) {
  rebuildIds.set((l) => [id, ...l.filter((x) => x !== id)].slice(0, 20))
  try {
    sessionStorage.setItem(KEY, JSON.stringify(rebuildIds.get()))
  } catch {
    /* this page only */
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const running = (r: Rebuild | undefined) => !r || r.state === 'running' || r.state === 'swapping'

export function Rebuilds({ tenants }: { tenants: string[] }) {
  const ids = useStore(rebuildIds)
  const [tenant, setTenant] = React.useState('')
  const [confirming, setConfirming] = React.useState(false)
  const bad = tenant.trim() !== '' && !UUID.test(tenant.trim())
  const start = useMutation({
    mutationFn: () => {
      const body: RebuildRequest = { projector: 'inbox' }
      if (tenant.trim()) body.tenant_id = tenant.trim()
      return opsApi.post<Rebuild>('/api/ops/rebuilds', body)
    },
    onSuccess: (r) => {
      remember(r.id)
      setConfirming(false)
    },
  })
  const startError = start.error instanceof ApiError && start.error.status === 409 ? new Error(`${start.error.message} (another rebuild of the inbox is running: wait for it to end)`) : start.error
  return (
    <>
      <Card className="mb-6 p-4">
        <form
          className="grid gap-3 sm:grid-cols-[12rem_1fr_auto] sm:items-end"
          onSubmit={(e) => {
            e.preventDefault()
            if (!bad) setConfirming(true)
          }}
          noValidate
        >
          <Field label="Projector" htmlFor="rb-projector">
            <select id="rb-projector" className="h-9 rounded-md border bg-background px-2 text-sm" defaultValue="inbox">
              <option value="inbox">inbox</option>
            </select>
          </Field>
          <Field label="Tenant id" htmlFor="rb-tenant" hint="Empty: every tenant, by swapping the tables." error={bad ? 'A tenant id (a UUID).' : undefined}>
            <Input id="rb-tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} list="rb-tenants" autoComplete="off" spellCheck={false} placeholder="every tenant" aria-invalid={bad} />
            <datalist id="rb-tenants">
              {tenants.map((t) => (
                <option key={t} value={t} />
              ))}
            </datalist>
          </Field>
          <Button type="submit" disabled={bad || start.isPending}>
            <Hammer /> Start rebuild…
          </Button>
        </form>
      </Card>
      <ErrorNote error={startError} />
      <h2 className="mb-2 mt-4 text-sm font-semibold">Started from this tab</h2>
      <Card>
        <ul aria-label="Rebuilds" className="divide-y">
          {ids.length === 0 ? <li className="p-6 text-center text-sm text-muted-foreground">No rebuild started from this tab yet.</li> : null}
          {ids.map((id) => (
            <li key={id}>
              <RebuildRow id={id} />
            </li>
          ))}
        </ul>
      </Card>
      <Dialog open={confirming} onOpenChange={setConfirming}>
        <DialogContent title="Rebuild the inbox's read models?" description={tenant.trim() ? `Tenant ${tenant.trim()}: its rows are built again from its own history and swapped in.` : 'Every tenant: the tables are built again from sequence 1 in shadow tables and swapped in at once.'}>
          <p className="text-sm text-muted-foreground">The API answers from the current tables until the swap. It costs CPU and disk for the time the stream takes to read; a rebuild of the inbox already running makes this one refused.</p>
          <ErrorNote error={startError} />
          <div className="flex justify-end gap-2">
            <Button variant="outline" onClick={() => setConfirming(false)}>
              Keep the current tables
            </Button>
            <Button onClick={() => start.mutate()} disabled={start.isPending}>
              <Hammer /> {start.isPending ? 'Starting…' : 'Start the rebuild'}
            </Button>
          </div>
        </DialogContent>
      </Dialog>
    </>
  )
}

function RebuildRow({ id }: { id: string }) {
  const q = useQuery({
    queryKey: ['ops', 'rebuild', id],
    queryFn: () => opsApi.get<Rebuild>(`/api/ops/rebuilds/${id}`),
    refetchInterval: (q) => (running(q.state.data) && !q.state.error ? 1000 : false),
  })
  const r = q.data
  if (!r) return <div className="p-4 text-sm">{q.error ? <ErrorNote error={q.error} /> : <span className="text-muted-foreground">Loading {id.slice(0, 8)}…</span>}</div>
  const total = r.events_done + r.events_left
  return (
    <div className="grid gap-2 p-4" data-rebuild={r.id} data-state={r.state}>
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <Badge variant="outline">{r.projector}</Badge>
        <Badge variant={r.state === 'done' ? 'success' : r.state === 'failed' ? 'danger' : 'warning'} data-testid="rebuild-state">
          {r.state}
        </Badge>
        <span className="font-medium">
          {formatCount(r.events_done)} events done, {formatCount(r.events_left)} left
        </span>
        <span className="text-muted-foreground">
          {formatRate(r.events_per_s)} · ETA {running(r) ? formatEta(r.eta_seconds) : '—'} · at #{formatCount(r.checkpoint)}
        </span>
      </div>
      <Progress value={fraction(r.events_done, total, r.state === 'done')} label={`Rebuild ${r.id.slice(0, 8)}: ${formatCount(r.events_done)} of ${formatCount(total)} events`} tone={r.state === 'failed' ? 'danger' : 'primary'} />
      <p className="text-xs text-muted-foreground">
        {r.tenant_id ? `tenant ${r.tenant_id}` : 'every tenant'} · started {when.format(new Date(r.started_at))}
        {r.finished_at ? ` · ended ${when.format(new Date(r.finished_at))}` : ''} · <span className="font-mono">{r.id}</span>
      </p>
      {r.error ? <p className="text-xs text-destructive">{r.error}</p> : null}
    </div>
  )
}
