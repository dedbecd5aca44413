// The operators' charts, sampled by the browser: GET /api/ops/stats every
// few seconds gives figures at an instant; rates are the differences of
// two samples over the time between them. Pure functions, unit-tested
// (opsSeries.test.ts).
import type { OpsStats } from '@/api/types'

export interface ProjectorSample {
  checkpoint: number
  lagEvents: number
  lagSeconds: number
}

export interface Sample {
  /** The server's time of the figures, ms since the epoch. */
  t: number
  lastSeq: number
  messages: number
  projectors: Record<string, ProjectorSample>
}

export interface Point {
  t: number
  v: number
}

export function sampleOf(s: OpsStats): Sample {
  const projectors: Record<string, ProjectorSample> = {}
  for (const p of s.projectors) projectors[p.name] = { checkpoint: p.checkpoint, lagEvents: p.lag_events, lagSeconds: p.lag_seconds }
  return { t: Date.parse(s.at), lastSeq: s.stream.last_seq, messages: s.stream.messages, projectors }
}

/** addSample keeps the samples in time order, the newest max of them; a sample not newer than the last is dropped. */
export function addSample(samples: Sample[], s: Sample, max = 90): Sample[] {
  if (!Number.isFinite(s.t)) return samples
  const last = samples[samples.length - 1]
  if (last && s.t <= last.t) return samples
  const out = [...samples, s]
  return out.length > max ? out.slice(out.length - max) : out
}

/**
 * rateSeries is the rate of a counter between consecutive samples, per
 * second, at the later sample's time. A counter that went down (a stream
 * purged, a projector reset by a rebuild) gives no point for that step.
 */
export function rateSeries(samples: Sample[], counter: (s: Sample) => number | undefined): Point[] {
  const out: Point[] = []
  for (let i = 1; i < samples.length; i++) {
    const a = counter(samples[i - 1])
    const b = counter(samples[i])
    const dt = (samples[i].t - samples[i - 1].t) / 1000
    if (a === undefined || b === undefined || dt <= 0 || b < a) continue
    out.push({ t: samples[i].t, v: (b - a) / dt })
  }
  return out
}

/** ingestSeries is events stored per second (the stream's last sequence). */
export function ingestSeries(samples: Sample[]): Point[] {
  return rateSeries(samples, (s) => s.lastSeq)
}

/** projectorRateSeries is the sequences a projector's checkpoint moved per second. */
export function projectorRateSeries(samples: Sample[], name: string): Point[] {
  return rateSeries(samples, (s) => s.projectors[name]?.checkpoint)
}

/** lagSeries is a projector's lag at each sample, in events or seconds. */
export function lagSeries(samples: Sample[], name: string, unit: 'events' | 'seconds'): Point[] {
  const out: Point[] = []
  for (const s of samples) {
    const p = s.projectors[name]
    if (p) out.push({ t: s.t, v: unit === 'events' ? p.lagEvents : p.lagSeconds })
  }
  return out
}

/** projectorNames are the projectors any sample has, sorted. */
export function projectorNames(samples: Sample[]): string[] {
  const names = new Set<string>()
  for (const s of samples) for (const n of Object.keys(s.projectors)) names.add(n)
  return [...names].sort()
}

export interface Frame {
  t0: number
  t1: number
  max: number
}

/** frameOf is the time span and the top of the y axis that fit every series (max at least 1). */
export function frameOf(series: Point[][]): Frame {
  let t0 = Infinity
  let t1 = -Infinity
  let max = 0
  for (const s of series) {
    for (const p of s) {
      t0 = Math.min(t0, p.t)
      t1 = Math.max(t1, p.t)
      max = Math.max(max, p.v)
    }
  }
  if (t0 === Infinity) return { t0: 0, t1: 1, max: 1 }
  return { t0, t1: t1 > t0 ? t1 : t0 + 1, max: niceMax(max) }
}

/** niceMax rounds a top value up to 1, 2 or 5 times a power of ten. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p
  return 10 * p
}

/** pathOf is an SVG path of the points in a w×h box (y grows downwards). */
export function pathOf(points: Point[], f: Frame, w: number, h: number): string {
  const x = (t: number) => ((t - f.t0) / (f.t1 - f.t0)) * w
  const y = (v: number) => h - (Math.min(v, f.max) / f.max) * h
  return points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')
}
