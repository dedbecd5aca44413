import * as React from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Ban, Hammer } from 'lucide-react'
import { ApiError } from '@/api/client'
import { opsApi } from '@/api/ops'
import type { Rebuild, RebuildList, RebuildRequest } from '@/api/types'
import { when } from '@/components/history/bits'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Dialog, DialogContent } from '@/components/ui/dialog'
import { Field, Input } from '@/components/ui/input'
import { Progress } from '@/components/ui/progress'
import { Card, ErrorNote } from '@/components/ui/section'
import { formatCount, formatEta, formatRate, fraction } from '@/lib/history'
import { anyRunning, rebuildLabel, rebuildRunning, rebuildTone } from '@/lib/opsJobs'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const LIST = ['ops', 'rebuilds'] as const

export function Rebuilds({ tenants }: { tenants: string[] }) {
  const qc = useQueryClient()
  // Every process's rebuilds, newest first, polled while one runs.
  const list = useQuery({
    queryKey: LIST,
    queryFn: () => opsApi.get<RebuildList>('/api/ops/rebuilds?limit=20'),
    refetchInterval: (q) => (anyRunning(q.state.data?.data) && !q.state.error ? 1000 : false),
  })
  const jobs = list.data?.data ?? []
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
      qc.setQueryData<RebuildList>(LIST, (l) => ({ data: [r, ...(l?.data ?? []).filter((x) => x.id !== r.id)] }))
      void qc.invalidateQueries({ queryKey: LIST })
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
      <h2 className="mb-2 mt-4 text-sm font-semibold">Rebuilds</h2>
      <ErrorNote error={list.error} />
      <Card>
        <ul aria-label="Rebuilds" className="divide-y">
          {list.isPending ? <li className="p-6 text-center text-sm text-muted-foreground">Loading…</li> : null}
          {list.isSuccess && jobs.length === 0 ? <li className="p-6 text-center text-sm text-muted-foreground">No rebuild yet.</li> : null}
          {jobs.map((r) => (
            <li key={r.id}>
              <RebuildRow r={r} />
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

function RebuildRow({ r }: { r: Rebuild }) {
  const qc = useQueryClient()
  const [confirming, setConfirming] = React.useState(false)
  const cancel = useMutation({
    mutationFn: () => opsApi.post<Rebuild>(`/api/ops/rebuilds/${r.id}/cancel`),
    onSettled: () => {
      setConfirming(false)
      void qc.invalidateQueries({ queryKey: LIST })
    },
  })
  const cancelError = cancel.error instanceof ApiError && cancel.error.status === 409 ? new Error('This rebuild has already ended: there is nothing to cancel.') : cancel.error
  const total = r.events_done + r.events_left
  const live = rebuildRunning(r)
  const short = r.id.slice(0, 8)
  return (
    <div className="grid gap-2 p-4" data-rebuild={r.id} data-state={r.state}>
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <Badge variant="outline">{r.projector}</Badge>
        <Badge variant={rebuildTone(r)} data-testid="rebuild-state">
          {rebuildLabel(r)}
        </Badge>
        <span className="font-medium">
          {formatCount(r.events_done)} events done, {formatCount(r.events_left)} left
        </span>
        <span className="text-muted-foreground">
          {formatRate(r.events_per_s)} · ETA {live ? formatEta(r.eta_seconds) : '—'} · at #{formatCount(r.checkpoint)}
        </span>
        {live && !r.cancel_requested_at ? (
          <Button variant="outline" size="sm" className="ml-auto" onClick={() => setConfirming(true)} disabled={cancel.isPending} aria-label={`Cancel rebuild ${short}`}>
            <Ban /> Cancel
          </Button>
        ) : null}
      </div>
      <Progress value={fraction(r.events_done, total, r.state === 'done')} label={`Rebuild ${short}: ${formatCount(r.events_done)} of ${formatCount(total)} events`} tone={r.state === 'failed' ? 'danger' : r.state === 'cancelled' ? 'muted' : 'primary'} />
      <p className="break-words text-xs text-muted-foreground">
        {r.tenant_id ? `tenant ${r.tenant_id}` : 'every tenant'} · started {when.format(new Date(r.started_at))}
        {r.cancel_requested_at ? ` · cancel asked ${when.format(new Date(r.cancel_requested_at))}` : ''}
        {r.finished_at ? ` · ended ${when.format(new Date(r.finished_at))}` : ''} · <span className="font-mono">{r.id}</span>
      </p>
      {r.error ? <p className="text-xs text-destructive">{r.error}</p> : null}
      <ErrorNote error={cancelError} />
      <Dialog open={confirming} onOpenChange={setConfirming}>
        <DialogContent title={`Cancel rebuild ${short}?`} description="It stops at its next step: its shadow tables are dropped and the read models stay as they are.">
          <p className="text-sm text-muted-foreground">A rebuild whose swap has committed cannot be cancelled any more; you are told so if it ends first.</p>
          <div className="flex justify-end gap-2">
            <Button variant="outline" onClick={() => setConfirming(false)}>
              Let it run
            </Button>
            <Button variant="destructive" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
              <Ban /> {cancel.isPending ? 'Cancelling…' : 'Cancel the rebuild'}
            </Button>
          </div>
        </DialogContent>
      </Dialog>
    </div>
  )
}
