import { describe, expect, it } from 'vitest'
import type { SenderNumber } from '@/api/types'
import { anyRunning, projectorStateLabel, projectorTone, rebuildLabel, rebuildRunning, rebuildTone, waitedFor, waitingNumbers } from './opsJobs'

describe('rebuild jobs', () => {
  it('run until done, failed or cancelled; a cancel asked for shows as cancelling', () => {
    expect(rebuildRunning({ state: 'running' })).toBe(true)
    expect(rebuildRunning({ state: 'swapping' })).toBe(true)
    for (const state of ['done', 'failed', 'cancelled'] as const) expect(rebuildRunning({ state })).toBe(false)
    expect(anyRunning(undefined)).toBe(false)
    expect(anyRunning([{ state: 'done' }, { state: 'swapping' }])).toBe(true)
    expect(rebuildLabel({ state: 'running', cancel_requested_at: '2026-01-01T00:00:00Z' })).toBe('cancelling')
    expect(rebuildLabel({ state: 'done', cancel_requested_at: '2026-01-01T00:00:00Z' })).toBe('done') // the swap won
    expect(rebuildLabel({ state: 'cancelled' })).toBe('cancelled')
    expect(rebuildTone({ state: 'cancelled' })).toBe('secondary')
    expect(rebuildTone({ state: 'done', cancel_requested_at: 'x' })).toBe('success')
    expect(rebuildTone({ state: 'running' })).toBe('warning')
  })
})

describe('projector states', () => {
  it('have a tone and a label', () => {
    expect(projectorTone('running')).toBe('success')
    expect(projectorTone('retrying')).toBe('danger')
    expect(projectorTone('backing_off')).toBe('danger')
    expect(projectorTone('standby')).toBe('warning')
    expect(projectorTone('unknown')).toBe('secondary')
    expect(projectorStateLabel('backing_off')).toBe('backing off')
  })
})

describe('sends waiting per number', () => {
  const n = (phone_number_id: string, pending: number, held = false, oldest_queued_at: string | null = null): SenderNumber => ({ tenant_id: 't', phone_number_id, pending, held, oldest_queued_at })
  it('lists held numbers first, then the most waiting, then the oldest', () => {
    const got = waitingNumbers([n('1', 3), n('2', 0, true), n('3', 9), n('4', 3, false, '2026-01-01T00:00:00Z')])
    expect(got.map((x) => x.phone_number_id)).toEqual(['2', '3', '4', '1'])
  })
  it('says how long the oldest waited', () => {
    const now = Date.parse('2026-01-01T12:00:00Z')
    expect(waitedFor(null, now)).toBe('—')
    expect(waitedFor('2026-01-01T11:59:15Z', now)).toBe('45 s')
    expect(waitedFor('2026-01-01T11:48:00Z', now)).toBe('12 min')
    expect(waitedFor('2026-01-01T09:00:00Z', now)).toBe('3 h')
    expect(waitedFor('2025-12-30T12:00:00Z', now)).toBe('2 d')
    expect(waitedFor('bogus', now)).toBe('—')
  })
})
