import * as React from 'react'
import * as M from '@radix-ui/react-dropdown-menu'
import * as P from '@radix-ui/react-popover'
import * as T from '@radix-ui/react-tooltip'
import { cn } from '@/lib/utils'

export const Menu = M.Root
export const MenuTrigger = M.Trigger
export function MenuContent({ className, ...props }: React.ComponentProps<typeof M.Content>) {
  return (
    <M.Portal>
      <M.Content sideOffset={6} className={cn('z-50 min-w-44 overflow-hidden rounded-md border bg-card p-1 text-sm shadow-lg', className)} {...props} />
    </M.Portal>
  )
}
export function MenuItem({ className, ...props }: React.ComponentProps<typeof M.Item>) {
  return <M.Item className={cn('flex cursor-pointer select-none items-center gap-2 rounded-sm px-2 py-1.5 outline-none data-[highlighted]:bg-accent data-[disabled]:opacity-50 [&_svg]:size-4', className)} {...props} />
}
export const MenuLabel = ({ className, ...props }: React.ComponentProps<typeof M.Label>) => <M.Label className={cn('px-2 py-1 text-xs text-muted-foreground', className)} {...props} />
export const MenuSeparator = () => <M.Separator className="my-1 h-px bg-border" />

export const Popover = P.Root
export const PopoverTrigger = P.Trigger
export const PopoverAnchor = P.Anchor
export function PopoverContent({ className, ...props }: React.ComponentProps<typeof P.Content>) {
  return (
    <P.Portal>
      <P.Content sideOffset={6} className={cn('z-50 rounded-md border bg-card p-3 text-sm shadow-lg outline-none', className)} {...props} />
    </P.Portal>
  )
}

export function Tip({ label, children, side }: { label: string; children: React.ReactNode; side?: 'top' | 'bottom' | 'left' | 'right' }) {
  return (
    <T.Root delayDuration={300}>
      <T.Trigger asChild>{children}</T.Trigger>
      <T.Portal>
        <T.Content side={side} sideOffset={4} className="z-50 rounded-md bg-foreground px-2 py-1 text-xs text-background shadow">
          {label}
        </T.Content>
      </T.Portal>
    </T.Root>
  )
}
export const TipProvider = T.Provider
