import * as React from 'react'
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query'
import { RefreshCw, RotateCcw, Trash2 } from 'lucide-react'
import type { ParkedEvent, ParkedPage, RetryParkedResult } from '@/api/types'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Dialog, DialogContent } from '@/components/ui/dialog'
import { Field, Textarea } from '@/components/ui/input'
import { Card, ErrorNote, LoadMore } from '@/components/ui/section'
import { decodeBase64, prettyJSON } from '@/lib/history'
import { when } from './bits'
import type { Scope } from './scope'

function retryText(r: RetryParkedResult): string {
  return `Retried ${r.retried}: ${r.applied} applied, ${r.still_parked} still parked.`
}

/**
 * ParkedList is the events projectors could not apply, with the error,
 * the event and its headers, oldest first. Operators retry them (one, or
 * every one of a projector) and discard them with a reason; a tenant's
 * owners and admins only look.
 */
export function ParkedList({ scope }: { scope: Scope }) {
  const qc = useQueryClient()
  const manage = scope.operator
  const q = useInfiniteQuery({
    queryKey: [scope.parked],
    queryFn: ({ pageParam }) => scope.client.get<ParkedPage>(scope.parked, { cursor: pageParam || undefined, limit: 50 }),
    initialPageParam: '',
    getNextPageParam: (p) => p.next_cursor || undefined,
  })
  const rows = q.data?.pages.flatMap((p) => p.data) ?? []
  const projectors = [...new Set(rows.map((r) => r.projector))].sort()
  const [result, setResult] = React.useState('')
  const [discarding, setDiscarding] = React.useState<ParkedEvent | null>(null)
  const done = (r: RetryParkedResult) => {
    setResult(retryText(r))
    void qc.invalidateQueries({ queryKey: [scope.parked] })
  }
  const retry = useMutation({ mutationFn: (b: { projector: string; seq?: number }) => scope.client.post<RetryParkedResult>('/api/ops/parked/retry', b), onSuccess: done })
  return (
    <>
      <div className="mb-4 flex flex-wrap items-center justify-end gap-2">
        <Button variant="outline" onClick={() => void q.refetch()} disabled={q.isFetching}>
          <RefreshCw className={q.isFetching ? 'animate-spin' : ''} /> Refresh
        </Button>
        {manage
          ? projectors.map((p) => (
              <Button key={p} variant="secondary" onClick={() => retry.mutate({ projector: p })} disabled={retry.isPending}>
                <RotateCcw /> Retry all of {p}
              </Button>
            ))
          : null}
      </div>
      {result ? (
        <p role="status" className="mb-3 rounded-md bg-muted px-3 py-2 text-sm" data-testid="retry-result">
          {result}
        </p>
      ) : null}
      <ErrorNote error={q.error || retry.error} />
      <Card>
        <ul aria-label="Parked events" className="divide-y">
          {q.isPending ? <li className="p-4 text-sm text-muted-foreground">Loading…</li> : null}
          {q.isSuccess && rows.length === 0 ? <li className="p-6 text-center text-sm text-muted-foreground">No parked event: every event was applied.</li> : null}
          {rows.map((e) => (
            <li key={`${e.projector}-${e.seq}`} className="grid gap-2 p-4" data-parked={e.seq}>
              <div className="flex flex-wrap items-center gap-2 text-sm">
                <Badge variant="outline">{e.projector}</Badge>
                <span className="font-mono font-medium">#{e.seq}</span>
                <span className="text-xs text-muted-foreground">parked {when.format(new Date(e.parked_at))}</span>
                {manage ? (
                  <span className="ml-auto flex gap-2">
                    <Button variant="outline" size="sm" onClick={() => retry.mutate({ projector: e.projector, seq: e.seq })} disabled={retry.isPending} aria-label={`Retry #${e.seq}`}>
                      <RotateCcw /> Retry
                    </Button>
                    <Button variant="outline" size="sm" onClick={() => setDiscarding(e)} aria-label={`Discard #${e.seq}`}>
                      <Trash2 /> Discard…
                    </Button>
                  </span>
                ) : null}
              </div>
              <p className="truncate font-mono text-xs text-muted-foreground" title={e.subject}>
                {e.subject}
              </p>
              <p className="text-sm text-destructive [overflow-wrap:anywhere]" data-testid="parked-error">
                {e.error}
              </p>
              <details className="text-sm">
                <summary className="cursor-pointer text-muted-foreground">Event and headers</summary>
                <ParkedBody e={e} />
              </details>
            </li>
          ))}
        </ul>
        <LoadMore q={q} />
      </Card>
      {manage ? (
        <Discard
          scope={scope}
          event={discarding}
          onClose={() => setDiscarding(null)}
          onDone={() => {
            setResult(`Discarded #${discarding?.seq}.`)
            void qc.invalidateQueries({ queryKey: [scope.parked] })
          }}
        />
      ) : null}
    </>
  )
}

function ParkedBody({ e }: { e: ParkedEvent }) {
  const text = React.useMemo(() => decodeBase64(e.data_base64), [e.data_base64])
  const headers = Object.entries(e.headers)
  return (
    <div className="mt-2 grid gap-2">
      {headers.length ? (
        <dl className="grid grid-cols-[minmax(8rem,auto)_1fr] gap-x-3 gap-y-1 rounded-md border p-2 font-mono text-xs">
          {headers.map(([k, v]) => (
            <React.Fragment key={k}>
              <dt className="text-muted-foreground">{k}</dt>
              <dd className="break-all">{v.join(', ')}</dd>
            </React.Fragment>
          ))}
        </dl>
      ) : (
        <p className="text-xs text-muted-foreground">{e.data_base64 ? 'No headers.' : 'Neither headers nor data: the event is no longer in the stream.'}</p>
      )}
      <pre tabIndex={0} aria-label={`Event #${e.seq}`} className="max-h-72 overflow-auto rounded-md border bg-muted p-3 font-mono text-xs whitespace-pre">
        {prettyJSON(text) ?? (text || '(empty)')}
      </pre>
    </div>
  )
}

function Discard({ scope, event, onClose, onDone }: { scope: Scope; event: ParkedEvent | null; onClose: () => void; onDone: () => void }) {
  const [reason, setReason] = React.useState('')
  const m = useMutation({
    mutationFn: () => scope.client.post(`/api/ops/parked/${event!.projector}/${event!.seq}/discard`, { reason: reason.trim() }),
    onSuccess: () => {
      onDone()
      setReason('')
      onClose()
    },
  })
  return (
    <Dialog
      open={!!event}
      onOpenChange={(o) => {
        if (!o) {
          m.reset()
          onClose()
        }
      }}
    >
      <DialogContent title={`Discard parked event #${event?.seq ?? ''}`} description="The projector will not apply it; the event stays in the stream and the discard is audited with your reason.">
        <form
          className="grid gap-3"
          onSubmit={(e) => {
            e.preventDefault()
            if (reason.trim()) m.mutate()
          }}
        >
          <Field label="Reason" htmlFor="discard-reason" hint="Up to 1,000 characters.">
            <Textarea id="discard-reason" required maxLength={1000} rows={3} value={reason} onChange={(e) => setReason(e.target.value)} />
          </Field>
          <ErrorNote error={m.error} />
          <Button type="submit" variant="destructive" disabled={!reason.trim() || m.isPending}>
            <Trash2 /> Discard
          </Button>
        </form>
      </DialogContent>
    </Dialog>
  )
}
