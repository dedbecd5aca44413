import * as React from 'react'
import { useQuery } from '@tanstack/react-query'
import { opsApi } from '@/api/ops'
import type { OpsStats } from '@/api/types'
import { LineChart } from '@/components/history/LineChart'
import { when } from '@/components/history/bits'
import { Card, ErrorNote } from '@/components/ui/section'
import { formatCount, formatRate } from '@/lib/history'
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
              <Figure label="Pending" value={formatCount(s.sender.pending)} />
              <Figure label="In flight" value={formatCount(s.sender.in_flight)} />
              <Figure label="Redelivered" value={formatCount(s.sender.redelivered)} />
              <Figure label="Numbers held" value={`${formatCount(s.sender.held_numbers)} of ${formatCount(s.sender.numbers)}`} hint="numbers whose token Meta refused: their sends wait" />
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
