import * as React from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Ban, Plus, RotateCcw } from 'lucide-react'
import type { ReplayCount, ReplayJob, ReplayList } from '@/api/types'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Dialog, DialogContent } from '@/components/ui/dialog'
import { Progress } from '@/components/ui/progress'
import { Card, ErrorNote } from '@/components/ui/section'
import { formatCount, formatEta, formatRate, fraction, ignoredByAdopt, selectionText, toReplayRequest, validate, type Filter, type ReplayMode } from '@/lib/history'
import { Link } from '@/lib/router'
import { FilterFields } from './FilterFields'
import { when } from './bits'
import type { Scope } from './scope'

const active = (j: ReplayJob | undefined) => !!j && (j.state === 'requested' || j.state === 'running')
const stateVariant = (s: ReplayJob['state']) => (s === 'finished' ? 'success' : s === 'failed' ? 'danger' : s === 'cancelled' ? 'secondary' : 'warning')

/** useJob polls a replay job every second while it has not ended. */
function useJob(scope: Scope, id: string) {
  return useQuery({
    queryKey: [scope.replays, 'job', id],
    queryFn: () => scope.client.get<ReplayJob>(`${scope.replays}/${id}`),
    refetchInterval: (q) => (q.state.data && !active(q.state.data) ? false : 1000),
  })
}

function useCancel(scope: Scope) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => scope.client.post<ReplayJob>(`${scope.replays}/${id}/cancel`),
    onSuccess: (j) => {
      qc.setQueryData([scope.replays, 'job', j.id], j)
      void qc.invalidateQueries({ queryKey: [scope.replays] })
    },
  })
}

/** JobRow is a replay job's progress: done of matched, rate, ETA; cancel while it runs. */
export function JobRow({ scope, job }: { scope: Scope; job: ReplayJob }) {
  const cancel = useCancel(scope)
  const ended = !active(job)
  return (
    <div className="grid gap-2 p-4" data-replay={job.id} data-state={job.state}>
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <Badge variant="outline">{job.mode === 'adopt_unrouted' ? 'adopt unrouted' : job.mode}</Badge>
        <Badge variant={stateVariant(job.state)} data-testid="replay-state">
          {job.state}
        </Badge>
        <span className="font-medium" data-testid="replay-done">
          {formatCount(job.done)} of {formatCount(job.matched)}
        </span>
        <span className="text-muted-foreground">
          {formatRate(job.rate)} · ETA {ended ? '—' : formatEta(job.eta_seconds)}
        </span>
        <span className="flex-1" />
        {!ended ? (
          <Button variant="outline" size="sm" onClick={() => cancel.mutate(job.id)} disabled={cancel.isPending}>
            <Ban /> Cancel
          </Button>
        ) : null}
      </div>
      <Progress value={fraction(job.done, job.matched, job.state === 'finished')} label={`Replay ${job.id.slice(0, 8)}: ${formatCount(job.done)} of ${formatCount(job.matched)}`} tone={job.state === 'failed' ? 'danger' : job.state === 'cancelled' ? 'muted' : 'primary'} />
      <p className="text-xs text-muted-foreground">
        {selectionText(job.selection)} · requested {when.format(new Date(job.requested_at))}
        {job.requested_by ? ` by ${job.requested_by}` : ''}
        {job.finished_at ? ` · ended ${when.format(new Date(job.finished_at))}` : ''}
      </p>
      {job.error ? <p className="text-xs text-destructive">{job.error}</p> : null}
      <ErrorNote error={cancel.error} />
    </div>
  )
}

function LiveJob({ scope, id, initial }: { scope: Scope; id: string; initial: ReplayJob }) {
  const q = useJob(scope, id)
  return <JobRow scope={scope} job={q.data ?? initial} />
}

/**
 * ReplayDialog selects webhooks by the list's filters (or others), counts
 * them with a dry run, and only then starts the job, whose progress it
 * shows until closed.
 */
export function ReplayDialog({ scope, open, onOpenChange, filter, tenants }: { scope: Scope; open: boolean; onOpenChange: (o: boolean) => void; filter: Filter; tenants?: string[] }) {
  const qc = useQueryClient()
  const [mode, setMode] = React.useState<ReplayMode>('reproject')
  const [sel, setSel] = React.useState<Filter>(filter)
  const [counted, setCounted] = React.useState<{ key: string; matched: number } | null>(null)
  const [job, setJob] = React.useState<ReplayJob | null>(null)
  React.useEffect(() => {
    if (open) {
      setSel(filter)
      setCounted(null)
      setJob(null)
      setMode('reproject')
    }
  }, [open, filter])
  const errors = mode === 'reproject' ? validate(sel, scope.operator) : {}
  const key = JSON.stringify(toReplayRequest(sel, mode, scope.operator, false))
  const fresh = counted && counted.key === key ? counted : null
  const count = useMutation({
    mutationFn: () => scope.client.post<ReplayCount>(scope.replays, toReplayRequest(sel, mode, scope.operator, true)),
    onSuccess: (c) => setCounted({ key, matched: c.matched }),
  })
  const start = useMutation({
    mutationFn: () => scope.client.post<ReplayJob>(scope.replays, toReplayRequest(sel, mode, scope.operator, false)),
    onSuccess: (j) => {
      setJob(j)
      void qc.invalidateQueries({ queryKey: [scope.replays] })
    },
  })
  const ignored = mode === 'adopt_unrouted' ? ignoredByAdopt(sel, scope.operator) : []
  const verb = mode === 'reproject' ? 'Re-project' : 'Adopt'
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent
        wide
        title={job ? 'Replay started' : 'Replay webhooks'}
        description={job ? undefined : 'Count what the selection takes first; nothing starts until you confirm. Applying a webhook twice is applying it once.'}
      >
        {job ? (
          <div className="grid gap-3">
            <Card>
              <LiveJob scope={scope} id={job.id} initial={job} />
            </Card>
            <div className="flex flex-wrap justify-end gap-2">
              <Button variant="outline" asChild>
                <Link to={`${scope.page}/replays`} onClick={() => onOpenChange(false)}>
                  All replays
                </Link>
              </Button>
              <Button onClick={() => onOpenChange(false)}>Close</Button>
            </div>
          </div>
        ) : (
          <form
            className="grid gap-4"
            noValidate
            onSubmit={(e) => {
              e.preventDefault()
              // Enter counts; only the button starts a job.
              if (Object.keys(errors).length === 0) count.mutate()
            }}
          >
            <fieldset className="grid gap-2">
              <legend className="mb-1 text-sm font-medium">Mode</legend>
              <label className="flex items-start gap-2 text-sm">
                <input type="radio" name="replay-mode" className="mt-1" checked={mode === 'reproject'} onChange={() => setMode('reproject')} />
                <span>
                  <span className="font-medium">Re-project</span> — apply the selected webhooks again through the inbox's code: what a fixed decoder reads now is filled in; nothing there is replaced.
                </span>
              </label>
              <label className="flex items-start gap-2 text-sm">
                <input type="radio" name="replay-mode" className="mt-1" checked={mode === 'adopt_unrouted'} onChange={() => setMode('adopt_unrouted')} />
                <span>
                  <span className="font-medium">Adopt unrouted</span> — move unrouted webhooks that name {scope.operator ? 'a tenant’s' : 'your'} numbers into {scope.operator ? 'its' : 'your'} history{scope.operator ? ' (all tenants, or the tenant id below)' : ''}.
                </span>
              </label>
            </fieldset>
            <fieldset className="grid gap-2">
              <legend className="mb-1 text-sm font-medium">Selection</legend>
              <FilterFields value={sel} onChange={setSel} operator={scope.operator} errors={errors} idPrefix="rf" tenants={tenants} narrow disabled={mode === 'adopt_unrouted' ? ['from', 'to', 'unrouted', 'phone_number_id', 'kind', 'result'] : []} />
              {ignored.length ? <p className="text-xs text-muted-foreground">Adopting takes every adoptable webhook: {ignored.join(', ')} not used.</p> : null}
            </fieldset>
            <div role="status" aria-live="polite" className="rounded-md bg-muted px-3 py-2 text-sm" data-testid="replay-count">
              {fresh ? (
                <>
                  <strong>{formatCount(fresh.matched)}</strong> {fresh.matched === 1 ? 'webhook matches' : 'webhooks match'}
                  {fresh.matched === 0 ? ': nothing to replay.' : '.'}
                </>
              ) : counted ? (
                'The selection changed: count again.'
              ) : (
                'Not counted yet.'
              )}
            </div>
            <ErrorNote error={count.error || start.error} />
            <div className="flex flex-wrap justify-end gap-2">
              <Button type="submit" variant="outline" disabled={count.isPending || Object.keys(errors).length > 0}>
                {count.isPending ? 'Counting…' : 'Count (dry run)'}
              </Button>
              <Button type="button" onClick={() => start.mutate()} disabled={!fresh || fresh.matched === 0 || start.isPending}>
                <RotateCcw /> {fresh && fresh.matched > 0 ? `${verb} ${formatCount(fresh.matched)} webhooks` : verb}
              </Button>
            </div>
          </form>
        )}
      </DialogContent>
    </Dialog>
  )
}

/** ReplayJobs are the scope's replay jobs, newest first, refreshed every second while one runs. */
export function ReplayJobs({ scope, tenants }: { scope: Scope; tenants?: string[] }) {
  const [open, setOpen] = React.useState(false)
  const q = useQuery({
    queryKey: [scope.replays, 'list'],
    queryFn: () => scope.client.get<ReplayList>(scope.replays, { limit: 50 }),
    refetchInterval: (q) => (q.state.data?.data.some(active) ? 1000 : false),
  })
  const empty = React.useMemo<Filter>(() => ({}), [])
  return (
    <>
      <div className="mb-4 flex flex-wrap items-center justify-end gap-2">
        <Button onClick={() => setOpen(true)}>
          <Plus /> New replay…
        </Button>
      </div>
      <ErrorNote error={q.error} />
      <Card>
        <ul aria-label="Replay jobs" className="divide-y">
          {q.isPending ? <li className="p-4 text-sm text-muted-foreground">Loading…</li> : null}
          {q.data?.data.length === 0 ? <li className="p-6 text-center text-sm text-muted-foreground">No replay yet.</li> : null}
          {q.data?.data.map((j) => (
            <li key={j.id}>
              <JobRow scope={scope} job={j} />
            </li>
          ))}
        </ul>
      </Card>
      <ReplayDialog scope={scope} open={open} onOpenChange={setOpen} filter={empty} tenants={tenants} />
    </>
  )
}
