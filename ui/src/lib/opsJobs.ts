// Pure helpers of the console's Rebuild and Stats tabs.
import type { ProjectorStats, Rebuild, SenderNumber } from '@/api/types'

export type Tone = 'success' | 'warning' | 'danger' | 'secondary'

/** rebuildRunning: the job has not ended (it may still be cancelled). */
export const rebuildRunning = (r: Pick<Rebuild, 'state'>) => r.state === 'running' || r.state === 'swapping'

/** anyRunning: whether the list is worth polling. */
export const anyRunning = (rs: readonly Pick<Rebuild, 'state'>[] | undefined) => !!rs?.some(rebuildRunning)

/** rebuildLabel is the state shown: a running job whose cancel was asked for says so. */
export function rebuildLabel(r: Pick<Rebuild, 'state' | 'cancel_requested_at'>): string {
  return rebuildRunning(r) && r.cancel_requested_at ? 'cancelling' : r.state
}

export function rebuildTone(r: Pick<Rebuild, 'state' | 'cancel_requested_at'>): Tone {
  if (r.state === 'done') return 'success'
  if (r.state === 'failed') return 'danger'
  if (r.state === 'cancelled' || r.cancel_requested_at) return 'secondary'
  return 'warning'
}

/** projectorTone: running well is green, trouble red, waiting amber, off grey. */
export function projectorTone(s: ProjectorStats['state']): Tone {
  switch (s) {
    case 'running':
      return 'success'
    case 'retrying':
    case 'backing_off':
      return 'danger'
    case 'starting':
    case 'yielding':
    case 'standby':
      return 'warning'
    default:
      return 'secondary'
  }
}

export const projectorStateLabel = (s: ProjectorStats['state']) => s.replace('_', ' ')

/** waitingNumbers orders the per-number queue: held first, then most waiting, then the oldest. */
export function waitingNumbers(ns: readonly SenderNumber[]): SenderNumber[] {
  const t = (v: string | null | undefined) => (v ? Date.parse(v) : Infinity)
  return [...ns].sort((a, b) => Number(b.held) - Number(a.held) || b.pending - a.pending || t(a.oldest_queued_at) - t(b.oldest_queued_at) || a.phone_number_id.localeCompare(b.phone_number_id))
}

/** waitedFor is how long the oldest send has waited, short: "45 s", "12 min", "3 h", "2 d". */
export function waitedFor(since: string | null | undefined, now: number): string {
  if (!since) return '—'
  const s = Math.max(0, (now - Date.parse(since)) / 1000)
  if (!Number.isFinite(s)) return '—'
  if (s < 60) return `${Math.round(s)} s`
  if (s < 3600) return `${Math.round(s / 60)} min`
  if (s < 86400) return `${Math.round(s / 3600)} h`
  return `${Math.round(s / 86400)} d`
}
