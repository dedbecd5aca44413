import * as React from 'react'
import { cva, type VariantProps } from 'class-variance-authority'
import { cn, hue, initials } from '@/lib/utils'

const badgeVariants = cva('inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap', {
  variants: {
    variant: {
      default: 'bg-primary text-primary-foreground',
      secondary: 'bg-muted text-muted-foreground',
      outline: 'border text-foreground',
      success: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300',
      warning: 'bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-300',
      danger: 'bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-300',
    },
  },
  defaultVariants: { variant: 'default' },
})

export function Badge({ className, variant, ...props }: React.HTMLAttributes<HTMLSpanElement> & VariantProps<typeof badgeVariants>) {
  return <span className={cn(badgeVariants({ variant }), className)} {...props} />
}

export function Avatar({ name, size = 36, className, title }: { name: string; size?: number; className?: string; title?: string }) {
  const h = hue(name)
  return (
    <span
      aria-hidden={title ? undefined : true}
      title={title}
      className={cn('inline-flex shrink-0 select-none items-center justify-center rounded-full font-semibold text-white', className)}
      style={{ width: size, height: size, fontSize: size * 0.38, background: `hsl(${h} 55% 42%)` }}
    >
      {initials(name)}
    </span>
  )
}
