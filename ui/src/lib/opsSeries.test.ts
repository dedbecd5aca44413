import { describe, expect, it } from 'vitest'
import type { OpsStats } from '@/api/types'
import { addSample, frameOf, ingestSeries, lagSeries, niceMax, pathOf, projectorNames, projectorRateSeries, sampleOf, type Sample } from './opsSeries'

function stats(at: string, lastSeq: number, inbox: number, lag: number): OpsStats {
  return {
    at,
    stream: { messages: lastSeq, bytes: 0, first_seq: 1, last_seq: lastSeq, first_at: at, last_at: at, tenants: {} },
    projectors: [{ name: 'inbox', checkpoint: inbox, lag_events: lag, lag_seconds: lag / 100, rate: 0, in_process: true, updated_at: at, state: 'running', state_since: at, state_error: '' }],
    sender: { pending: 0, in_flight: 0, redelivered: 0, held_numbers: 0, numbers: 2, queued: 0, by_number: [], in_process: true, active: true, accepted: 0, failed: 0, retries: 0, resent: 0, working: 0 },
    media: { pending: 0, failed: 0, stored: 0 },
    parked: {},
    replays: {},
  }
}

const t = (s: number) => new Date(Date.UTC(2024, 4, 1, 10, 0, s)).toISOString()

describe('samples', () => {
  it('keeps them in order, drops repeats, and keeps the newest', () => {
    let ss: Sample[] = []
    ss = addSample(ss, sampleOf(stats(t(0), 100, 100, 0)))
    ss = addSample(ss, sampleOf(stats(t(0), 100, 100, 0))) // the same answer twice
    ss = addSample(ss, sampleOf(stats(t(2), 300, 250, 50)))
    expect(ss.map((s) => s.lastSeq)).toEqual([100, 300])
    for (let i = 3; i < 10; i++) ss = addSample(ss, sampleOf(stats(t(i * 2), 300 + i, 300, 0)), 4)
    expect(ss).toHaveLength(4)
    expect(ss[3].t).toBe(Date.parse(t(18)))
    expect(addSample(ss, { ...ss[0], t: NaN })).toBe(ss)
  })

  it('makes the ingest rate from the last sequence over time', () => {
    const ss = [stats(t(0), 100, 100, 0), stats(t(2), 300, 250, 50), stats(t(4), 300, 300, 0), stats(t(5), 350, 340, 10)].map(sampleOf)
    expect(ingestSeries(ss).map((p) => p.v)).toEqual([100, 0, 50])
    expect(ingestSeries(ss)[0].t).toBe(Date.parse(t(2)))
    expect(projectorRateSeries(ss, 'inbox').map((p) => p.v)).toEqual([75, 25, 40])
    expect(lagSeries(ss, 'inbox', 'events').map((p) => p.v)).toEqual([0, 50, 0, 10])
    expect(lagSeries(ss, 'inbox', 'seconds').map((p) => p.v)).toEqual([0, 0.5, 0, 0.1])
    expect(projectorRateSeries(ss, 'nobody')).toEqual([])
  })

  it('skips a step where a counter went back (a rebuild reset the checkpoint)', () => {
    const ss = [stats(t(0), 100, 100, 0), stats(t(1), 110, 5, 105), stats(t(2), 120, 60, 60)].map(sampleOf)
    expect(projectorRateSeries(ss, 'inbox').map((p) => p.v)).toEqual([55])
    expect(ingestSeries(ss).map((p) => p.v)).toEqual([10, 10])
  })

  it('names the projectors of every sample', () => {
    const a = sampleOf(stats(t(0), 1, 1, 0))
    const b = { ...a, t: a.t + 1000, projectors: { ...a.projectors, replay_jobs: { checkpoint: 1, lagEvents: 0, lagSeconds: 0 } } }
    expect(projectorNames([a, b])).toEqual(['inbox', 'replay_jobs'])
  })
})

describe('charts', () => {
  it('round the axis up', () => {
    expect([0, 0.3, 1, 3, 7, 12, 200, 201].map(niceMax)).toEqual([1, 0.5, 1, 5, 10, 20, 200, 500])
  })

  it('frame every series and draw in the box', () => {
    const a = [{ t: 0, v: 0 }, { t: 1000, v: 40 }]
    const b = [{ t: 500, v: 100 }, { t: 2000, v: 20 }]
    const f = frameOf([a, b])
    expect(f).toEqual({ t0: 0, t1: 2000, max: 100 })
    expect(pathOf(a, f, 200, 50)).toBe('M0.0,50.0 L100.0,30.0')
    expect(pathOf(b, f, 200, 50)).toBe('M50.0,0.0 L200.0,40.0')
    expect(frameOf([[]])).toEqual({ t0: 0, t1: 1, max: 1 })
    expect(frameOf([[{ t: 5, v: 3 }]])).toEqual({ t0: 5, t1: 6, max: 5 })
  })
})
