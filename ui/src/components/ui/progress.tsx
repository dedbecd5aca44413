import { cn } from '@/lib/utils'

/** Progress is a bar of value (0 to 1), named for assistive technology by label. */
export function Progress({ value, label, className, tone = 'primary' }: { value: number; label: string; className?: string; tone?: 'primary' | 'muted' | 'danger' }) {
  const pct = Math.round(Math.min(1, Math.max(0, value)) * 100)
  return (
    <div role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} className={cn('h-2 w-full overflow-hidden rounded-full bg-muted', className)}>
      <div
        className={cn('h-full rounded-full transition-[width] duration-500', tone === 'primary' && 'bg-primary', tone === 'muted' && 'bg-muted-foreground/50', tone === 'danger' && 'bg-destructive')}
        style={{ width: `${pct}%` }}
      />
    </div>
  )
}
