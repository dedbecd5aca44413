import { Card } from '@/components/ui/section'
import { frameOf, pathOf, type Point } from '@/lib/opsSeries'

export interface Series {
  name: string
  points: Point[]
}

// Distinct in light and dark mode; the first is the app's primary colour.
const COLORS = ['var(--primary)', '#f59e0b', '#8b5cf6', '#ef4444', '#0ea5e9', '#84cc16']
const W = 300
const H = 80

/**
 * LineChart draws series sampled over time in a small SVG: no chart
 * library, a few hundred bytes. The y axis starts at 0 and ends at a round
 * value above the highest point; the x axis spans the samples.
 */
export function LineChart({ title, series, format }: { title: string; series: Series[]; format: (v: number) => string }) {
  const frame = frameOf(series.map((s) => s.points))
  const points = series.reduce((n, s) => n + s.points.length, 0)
  const peak = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.v)))
  const drawable = series.some((s) => s.points.length > 1)
  const span = Math.round((frame.t1 - frame.t0) / 1000)
  const summary = `${title}: ${series.map((s) => `${s.name} ${s.points.length ? format(s.points[s.points.length - 1].v) : 'no data'}`).join(', ')}; axis to ${format(frame.max)} over ${span} s`
  return (
    <Card className="grid gap-2 p-4" data-chart={title} data-points={points} data-peak={peak}>
      <div className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
        <h3 className="flex-1 text-sm font-semibold">{title}</h3>
        {series.map((s, i) => (
          <span key={s.name} className="flex items-center gap-1.5 text-xs text-muted-foreground">
            <span aria-hidden className="inline-block h-0.5 w-3 rounded" style={{ background: COLORS[i % COLORS.length] }} />
            {s.name} <span className="font-medium text-foreground tabular-nums">{s.points.length ? format(s.points[s.points.length - 1].v) : '—'}</span>
          </span>
        ))}
      </div>
      <div className="relative">
        <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" className="h-28 w-full overflow-visible text-muted-foreground" role="img" aria-label={summary}>
          {[0, 0.5, 1].map((f) => (
            <line key={f} x1={0} x2={W} y1={H * f} y2={H * f} stroke="currentColor" strokeOpacity={f === 1 ? 0.35 : 0.15} vectorEffect="non-scaling-stroke" />
          ))}
          {drawable
            ? series.map((s, i) => (
                <path key={s.name} d={pathOf(s.points, frame, W, H)} fill="none" stroke={COLORS[i % COLORS.length]} strokeWidth={2} strokeLinejoin="round" vectorEffect="non-scaling-stroke" data-series={s.name} data-series-points={s.points.length} />
              ))
            : null}
        </svg>
        {!drawable ? <p className="absolute inset-0 grid place-items-center text-xs text-muted-foreground">Collecting samples…</p> : null}
        <span className="pointer-events-none absolute left-1 top-0 text-[10px] text-muted-foreground tabular-nums">{format(frame.max)}</span>
      </div>
      <div className="flex justify-between text-[10px] text-muted-foreground">
        <span>{drawable ? `${span} s ago` : ''}</span>
        <span>now</span>
      </div>
    </Card>
  )
}
