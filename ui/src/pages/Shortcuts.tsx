import * as React from 'react'
import { Dialog, DialogContent } from '@/components/ui/dialog'
import { createStore } from '@/lib/store'

type Action = () => void
export const shortcutActions = createStore<{ next?: Action; prev?: Action; reply?: Action; note?: Action; close?: Action; assignMe?: Action; conversations?: () => string[] }>({})

export const SHORTCUTS: { keys: string[]; what: string }[] = [
  { keys: ['Ctrl', 'K'], what: 'Command palette: go to a conversation, assign, close, snooze, tag' },
  { keys: ['J'], what: 'Next conversation' },
  { keys: ['K'], what: 'Previous conversation' },
  { keys: ['R'], what: 'Reply' },
  { keys: ['N'], what: 'Write a private note' },
  { keys: ['C'], what: 'Close (or reopen) the conversation' },
  { keys: ['A'], what: 'Assign the conversation to me' },
  { keys: ['Enter'], what: 'Send (Shift+Enter: new line)' },
  { keys: ['/'], what: 'Canned replies, in the composer' },
  { keys: ['Esc'], what: 'Leave the composer, close a dialog' },
  { keys: ['?'], what: 'This help' },
]

function typingInField(e: KeyboardEvent) {
  const t = e.target as HTMLElement | null
  return !!t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))
}

export function useGlobalShortcuts({ openHelp, openPalette }: { openHelp: () => void; openPalette: () => void }) {
  React.useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault()
        openPalette()
        return
      }
      if (e.ctrlKey || e.metaKey || e.altKey || typingInField(e) || document.querySelector('[role="dialog"]')) return
      const a = shortcutActions.get()
      const map: Record<string, Action | undefined> = { j: a.next, k: a.prev, r: a.reply, n: a.note, c: a.close, a: a.assignMe, '?': openHelp }
      const fn = map[e.key.toLowerCase()] ?? map[e.key]
      if (fn) {
        e.preventDefault()
        fn()
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [openHelp, openPalette])
}

export function ShortcutsHelp({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const mac = typeof navigator !== 'undefined' && /Mac/.test(navigator.platform)
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title="Keyboard shortcuts">
        <table className="w-full text-sm">
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.what} className="border-b last:border-0">
                <td className="py-2 pr-4">
                  <span className="flex gap-1">
                    {s.keys.map((k) => (
                      <kbd key={k} className="rounded border bg-muted px-1.5 py-0.5 font-mono text-xs">
                        {k === 'Ctrl' && mac ? '⌘' : k}
                      </kbd>
                    ))}
                  </span>
                </td>
                <td className="py-2 text-muted-foreground">{s.what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </DialogContent>
    </Dialog>
  )
}
