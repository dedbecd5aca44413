import * as React from 'react'
import { useQuery } from '@tanstack/react-query'
import { opsApi } from '@/api/ops'
import type { OpsStats } from '@/api/types'
import { LineChart } from '@/components/history/LineChart'
import { when } from '@/components/history/bits'
import { Badge } from '@/components/ui/badge'
import { Card, ErrorNote } from '@/components/ui/section'
import { formatCount, formatRate } from '@/lib/history'
import { projectorStateLabel, projectorTone, waitedFor, waitingNumbers } from '@/lib/opsJobs'
import { addSample, ingestSeries, lagSeries, projectorNames, projectorRateSeries, sampleOf, type Sample } from '@/lib/opsSeries'
import { createStore, useStore } from '@/lib/store'
import { formatBytes, formatListTime } from '@/lib/utils'

// The samples outlive a visit to another tab of the console; polling runs
// only while this one is shown.
const samples = createStore<Sample[]>([])
const EVERY = 2000

function Figure({ label, value, hint }: { label: string; value: React.ReactNode; hint?: string }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="truncate text-lg font-semibold tabular-nums" title={hint}>
        {value}
      </dd>
    </div>
  )
}

function Group({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Card className="p-4">
      <h3 className="mb-3 text-sm font-semibold">{title}</h3>
      <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3">{children}</dl>
    </Card>
  )
}

const seconds = (v: number) => `${v < 10 ? Number(v.toFixed(1)) : Math.round(v)} s`
const events = (v: number) => formatCount(Math.round(v))

export function Stats() {
  const q = useQuery({ queryKey: ['ops', 'stats', 'live'], queryFn: () => opsApi.get<OpsStats>('/api/ops/stats'), refetchInterval: EVERY })
  React.useEffect(() => {
    if (q.data) samples.set((l) => addSample(l, sampleOf(q.data)))
  }, [q.data])
  const ss = useStore(samples)
  const names = projectorNames(ss)
  const s = q.data
  return (
    <div className="grid grid-cols-[minmax(0,1fr)] gap-4">
      <ErrorNote error={q.error} />
      <p className="text-xs text-muted-foreground" role="status">
        {ss.length} {ss.length === 1 ? 'sample' : 'samples'}
        {s ? ` · last at ${when.format(new Date(s.at))}` : ''}
      </p>
      <div className="grid gap-4 md:grid-cols-2 [&>*]:min-w-0">
        <LineChart title="Ingest rate" series={[{ name: 'events stored', points: ingestSeries(ss) }]} format={formatRate} />
        <LineChart title="Projector rate" series={names.map((n) => ({ name: n, points: projectorRateSeries(ss, n) }))} format={formatRate} />
        <LineChart title="Projector lag (events)" series={names.map((n) => ({ name: n, points: lagSeries(ss, n, 'events') }))} format={events} />
        <LineChart title="Projector lag (seconds)" series={names.map((n) => ({ name: n, points: lagSeries(ss, n, 'seconds') }))} format={seconds} />
      </div>
      <p className="-mt-2 text-xs text-muted-foreground">Rates are differences between samples. Lag is an upper bound: the events stored after a projector's checkpoint, some of them of subjects it does not read.</p>
      {s ? (
        <>
          <div className="grid gap-4 lg:grid-cols-2 [&>*]:min-w-0">
            <Group title="Stream">
              <Figure label="Events" value={formatCount(s.stream.messages)} />
              <Figure label="Size" value={formatBytes(s.stream.bytes) || '0 B'} />
              <Figure label="Sequences" value={`${formatCount(s.stream.first_seq)}–${formatCount(s.stream.last_seq)}`} />
              <Figure label="Last event" value={s.stream.last_at && Date.parse(s.stream.last_at) > 0 ? formatListTime(s.stream.last_at) : '—'} hint={s.stream.last_at} />
            </Group>
            <Group title="Sender">
              <Figure label="Queued" value={formatCount(s.sender.queued)} hint="sends the read model shows waiting for the sender, every number" />
              <Figure label="Pending" value={formatCount(s.sender.pending)} hint="requests the sender's consumer has not delivered yet" />
              <Figure label="In flight" value={formatCount(s.sender.in_flight)} hint="delivered, not acknowledged" />
              <Figure label="Working" value={formatCount(s.sender.working)} hint="being sent, or waiting for a limit, a held number or a retry" />
              <Figure label="Redelivered" value={formatCount(s.sender.redelivered)} />
              <Figure label="Numbers held" value={`${formatCount(s.sender.held_numbers)} of ${formatCount(s.sender.numbers)}`} hint="numbers whose token Meta refused: their sends wait" />
              {s.sender.in_process ? (
                <>
                  <Figure label="Accepted" value={formatCount(s.sender.accepted)} hint="sends Meta accepted, since this process started" />
                  <Figure label="Failed" value={formatCount(s.sender.failed)} hint="sends failed for good, since this process started" />
                  <Figure label="Retries" value={formatCount(s.sender.retries)} hint="retries scheduled, since this process started" />
                  <Figure label="Resent" value={formatCount(s.sender.resent)} hint="sends made again after an attempt whose outcome never came" />
                </>
              ) : null}
              <div className="col-span-full text-xs text-muted-foreground" data-testid="sender-here">
                {s.sender.in_process ? (s.sender.active ? 'This process runs the active sender; the counters are its, since it started.' : 'This process runs a sender on standby (another holds the lock); the counters are its, since it started.') : 'This process runs no sender: no counters here.'}
              </div>
            </Group>
            <Group title="Media files">
              <Figure label="Pending" value={formatCount(s.media.pending)} />
              <Figure label="Failed" value={formatCount(s.media.failed)} />
              <Figure label="Stored" value={formatCount(s.media.stored)} />
            </Group>
            <Group title="Parked events and replay jobs">
              {Object.keys(s.parked).length === 0 ? <Figure label="Parked" value="0" /> : Object.entries(s.parked).map(([p, n]) => <Figure key={p} label={`Parked (${p})`} value={formatCount(n)} />)}
              {Object.entries(s.replays).map(([state, n]) => (
                <Figure key={state} label={`Replays ${state}`} value={formatCount(n)} />
              ))}
            </Group>
          </div>
          <Card>
            <h3 className="border-b px-4 py-3 text-sm font-semibold">Projectors</h3>
            <div className="overflow-x-auto">
              <table className="w-full text-sm">
                <thead className="text-left text-xs text-muted-foreground">
                  <tr>
                    <th className="px-4 py-2 font-medium">Name</th>
                    <th className="px-4 py-2 font-medium">State</th>
                    <th className="px-4 py-2 text-right font-medium">Checkpoint</th>
                    <th className="px-4 py-2 text-right font-medium">Lag (events)</th>
                    <th className="px-4 py-2 text-right font-medium">Lag (s)</th>
                    <th className="px-4 py-2 text-right font-medium">Rate</th>
                    <th className="px-4 py-2 font-medium">Here</th>
                  </tr>
                </thead>
                <tbody className="divide-y tabular-nums">
                  {s.projectors.map((p) => (
                    <tr key={p.name} data-projector={p.name}>
                      <td className="px-4 py-2 font-medium">{p.name}</td>
                      <td className="px-4 py-2">
                        <Badge variant={projectorTone(p.state)} data-testid="projector-state" title={p.state_since ? `since ${when.format(new Date(p.state_since))}` : undefined}>
                          {projectorStateLabel(p.state)}
                        </Badge>
                        {p.state_since ? <span className="ml-2 whitespace-nowrap text-xs text-muted-foreground">since {formatListTime(p.state_since)}</span> : null}
                        {p.state_error ? (
                          <p className="mt-1 max-w-md break-words text-xs text-destructive" data-testid="projector-error">
                            {p.state_error}
                          </p>
                        ) : null}
                      </td>
                      <td className="px-4 py-2 text-right">{formatCount(p.checkpoint)}</td>
                      <td className="px-4 py-2 text-right">{formatCount(p.lag_events)}</td>
                      <td className="px-4 py-2 text-right">{seconds(p.lag_seconds)}</td>
                      <td className="px-4 py-2 text-right">{formatRate(p.rate)}</td>
                      <td className="px-4 py-2">{p.in_process ? 'yes' : 'no'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
          <Card>
            <h3 className="border-b px-4 py-3 text-sm font-semibold" id="sends-waiting">
              Sends waiting, by number
            </h3>
            {s.sender.by_number.length === 0 ? (
              <p className="p-4 text-sm text-muted-foreground">No send waiting.</p>
            ) : (
              <div className="overflow-x-auto">
                <table className="w-full text-sm" aria-labelledby="sends-waiting">
                  <thead className="text-left text-xs text-muted-foreground">
                    <tr>
                      <th className="px-4 py-2 font-medium">Number</th>
                      <th className="px-4 py-2 font-medium">Tenant</th>
                      <th className="px-4 py-2 text-right font-medium">Waiting</th>
                      <th className="px-4 py-2 text-right font-medium">Oldest for</th>
                    </tr>
                  </thead>
                  <tbody className="divide-y tabular-nums">
                    {waitingNumbers(s.sender.by_number).map((n) => (
                      <tr key={`${n.tenant_id}/${n.phone_number_id}`} data-number={n.phone_number_id} data-held={n.held}>
                        <td className="px-4 py-2">
                          <span className="font-mono text-xs">{n.phone_number_id}</span>
                          {n.held ? (
                            <Badge variant="danger" className="ml-2" title="Meta refused the number's token: its sends wait for a new one">
                              held
                            </Badge>
                          ) : null}
                        </td>
                        <td className="max-w-[10rem] truncate px-4 py-2 font-mono text-xs" title={n.tenant_id}>
                          {n.tenant_id}
                        </td>
                        <td className="px-4 py-2 text-right">{formatCount(n.pending)}</td>
                        <td className="px-4 py-2 text-right" title={n.oldest_queued_at ?? undefined}>
                          {waitedFor(n.oldest_queued_at, Date.parse(s.at))}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Card>
          <Card>
            <h3 className="border-b px-4 py-3 text-sm font-semibold">Events by tenant</h3>
            <ul className="divide-y text-sm">
              {Object.entries(s.stream.tenants)
                .sort((a, b) => b[1] - a[1])
                .map(([t, n]) => (
                  <li key={t} className="flex gap-3 px-4 py-2">
                    <span className="min-w-0 flex-1 truncate font-mono text-xs">{t}</span>
                    <span className="tabular-nums">{formatCount(n)}</span>
                  </li>
                ))}
            </ul>
          </Card>
        </>
      ) : null}
    </div>
  )
}
