import * as React from 'react'
import { useQuery } from '@tanstack/react-query'
import { Download } from 'lucide-react'
import type { WebhookDetail } from '@/api/types'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { CopyButton, ErrorNote } from '@/components/ui/section'
import { Sheet, SheetContent } from '@/components/ui/sheet'
import { Link } from '@/lib/router'
import { prettyJSON } from '@/lib/history'
import { cn } from '@/lib/utils'
import type { Scope } from './scope'
import { ResultBadges, when } from './bits'

/** WebhookDetailSheet shows webhook seq (0: closed): what the projector made of it, and its raw bytes. */
export function WebhookDetailSheet({ scope, seq, onOpen, onClose }: { scope: Scope; seq: number; onOpen: (seq: number) => void; onClose: () => void }) {
  return (
    <Sheet open={seq > 0} onOpenChange={(o) => !o && onClose()}>
      {seq > 0 ? (
        <SheetContent title={`Webhook #${seq}`} description="What wam stored and what the inbox made of it." data-webhook-detail={seq}>
          <Detail scope={scope} seq={seq} onOpen={onOpen} />
        </SheetContent>
      ) : null}
    </Sheet>
  )
}

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[8rem_minmax(0,1fr)] gap-2 py-1.5 text-sm sm:grid-cols-[9rem_minmax(0,1fr)]">
      <dt className="text-muted-foreground">{label}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </div>
  )
}

function Detail({ scope, seq, onOpen }: { scope: Scope; seq: number; onOpen: (seq: number) => void }) {
  const q = useQuery({ queryKey: [scope.webhooks, 'detail', seq], queryFn: () => scope.client.get<WebhookDetail>(`${scope.webhooks}/${seq}`) })
  if (q.isPending) return <p className="text-sm text-muted-foreground">Loading…</p>
  if (q.error) return <ErrorNote error={q.error} />
  const d = q.data
  const w = d.webhook
  const seqLink = (n: number) => (
    <button type="button" className="font-mono text-primary underline-offset-4 hover:underline" onClick={() => onOpen(n)}>
      #{n}
    </button>
  )
  return (
    <div className="grid grid-cols-[minmax(0,1fr)] gap-6">
      <section aria-labelledby="wd-stored">
        <h3 id="wd-stored" className="mb-1 text-sm font-semibold">
          Stored
        </h3>
        <dl className="divide-y">
          <Row label="Received">{when.format(new Date(w.received_at))}</Row>
          {scope.operator ? <Row label="Tenant">{w.tenant_id ? <span className="break-all font-mono text-xs">{w.tenant_id}</span> : <Badge variant="warning">unrouted</Badge>}</Row> : null}
          <Row label="Phone number ids">{w.phone_number_ids.join(', ') || '—'}</Row>
          <Row label="WABA ids">{w.waba_ids.join(', ') || '—'}</Row>
          <Row label="Kinds">{w.kinds.join(', ') || '—'}</Row>
          <Row label="Size">{w.size_bytes.toLocaleString()} bytes</Row>
          <Row label="Result">
            <span className="flex flex-wrap gap-1">
              <ResultBadges w={w} />
            </span>
            {w.decode_error ? <p className="mt-1 text-xs text-destructive">{w.decode_error}</p> : null}
          </Row>
          {w.adopted_by ? <Row label="Adopted as">{seqLink(w.adopted_by)}</Row> : null}
          {w.adopted_from ? <Row label="Copy of">{seqLink(w.adopted_from)}</Row> : null}
          {w.refused ? <Row label="Adoption refused">{w.refused}</Row> : null}
        </dl>
      </section>
      <section aria-labelledby="wd-made">
        <h3 id="wd-made" className="mb-1 text-sm font-semibold">
          What the projector made of it
        </h3>
        <p className="text-sm" data-testid="webhook-counts">
          {d.messages} {d.messages === 1 ? 'message' : 'messages'}, {d.statuses} {d.statuses === 1 ? 'status' : 'statuses'}
          {d.missing.length ? `, ${d.missing.length} not in the inbox` : ''}.
        </p>
        {d.problems.length ? (
          <ul className="mt-2 list-disc pl-5 text-sm text-destructive">
            {d.problems.map((p, i) => (
              <li key={i}>{p}</li>
            ))}
          </ul>
        ) : null}
        {d.touched.length ? (
          <ul className="mt-2 divide-y rounded-md border text-sm" aria-label="Messages it names">
            {d.touched.map((t) => (
              <li key={`${t.message_id}-${t.as}`} className="flex flex-wrap items-center gap-2 px-3 py-2">
                <Badge variant="outline">{t.as}</Badge>
                <span className="min-w-0 flex-1 truncate font-mono text-xs" title={t.wamid}>
                  {t.wamid}
                </span>
                <span className="text-xs text-muted-foreground">
                  {t.direction} {t.type} · {t.status}
                </span>
                {scope.operator ? null : (
                  <Link to={`/inbox/${t.conversation_id}`} className="text-xs font-medium text-primary underline-offset-4 hover:underline">
                    Open conversation
                  </Link>
                )}
              </li>
            ))}
          </ul>
        ) : null}
        {d.missing.length ? (
          <p className="mt-2 text-xs text-muted-foreground">
            Not in the inbox: <span className="font-mono">{d.missing.join(', ')}</span>
          </p>
        ) : null}
      </section>
      <RawView scope={scope} seq={seq} />
    </div>
  )
}

interface Raw {
  bytes: ArrayBuffer
  type: string
  text: string
}

/** RawView is the webhook as Meta sent it: pretty-printed or byte for byte, to copy or download. */
export function RawView({ scope, seq }: { scope: Scope; seq: number }) {
  const q = useQuery({
    queryKey: [scope.webhooks, 'raw', seq],
    queryFn: async (): Promise<Raw> => {
      const res = await scope.client.raw(`${scope.webhooks}/${seq}/raw`)
      const bytes = await res.arrayBuffer()
      return { bytes, type: res.headers.get('Content-Type') || 'application/octet-stream', text: new TextDecoder().decode(bytes) }
    },
  })
  const pretty = React.useMemo(() => (q.data ? prettyJSON(q.data.text) : null), [q.data])
  const [asSent, setAsSent] = React.useState(false)
  const shown = q.data ? (pretty !== null && !asSent ? pretty : q.data.text) : ''
  const download = () => {
    if (!q.data) return
    const url = URL.createObjectURL(new Blob([q.data.bytes], { type: q.data.type }))
    const a = document.createElement('a')
    a.href = url
    a.download = `webhook-${seq}.${pretty !== null ? 'json' : 'bin'}`
    document.body.append(a)
    a.click()
    a.remove()
    setTimeout(() => URL.revokeObjectURL(url), 1000)
  }
  return (
    <section aria-labelledby="wd-raw">
      <div className="mb-2 flex flex-wrap items-center gap-2">
        <h3 id="wd-raw" className="basis-full text-sm font-semibold sm:flex-1 sm:basis-auto">
          Raw, as Meta sent it
        </h3>
        {pretty !== null ? (
          <div role="group" aria-label="View" className="inline-flex rounded-md border p-0.5">
            {[
              ['Pretty', false],
              ['As sent', true],
            ].map(([label, v]) => (
              <button key={String(label)} type="button" aria-pressed={asSent === v} onClick={() => setAsSent(v as boolean)} className={cn('rounded px-2 py-0.5 text-xs', asSent === v && 'bg-accent font-medium')}>
                {label}
              </button>
            ))}
          </div>
        ) : null}
        <CopyButton value={shown} label="Copy" />
        <Button variant="outline" size="sm" onClick={download} disabled={!q.data}>
          <Download /> Download
        </Button>
      </div>
      {q.error ? <ErrorNote error={q.error} /> : null}
      {q.data && pretty === null ? <p className="mb-2 text-xs text-muted-foreground">Not JSON: shown as text; the download has the exact bytes.</p> : null}
      <pre tabIndex={0} aria-label={`Raw webhook ${seq}`} data-testid="raw-json" className="max-h-[28rem] overflow-auto rounded-md border bg-muted p-3 font-mono text-xs leading-relaxed whitespace-pre">
        {q.isPending ? 'Loading…' : shown}
      </pre>
    </section>
  )
}
