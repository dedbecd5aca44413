import * as React from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { Paperclip, Send, Smile, FileText, X, StickyNote, Lock, Clock, LayoutList, Loader2 } from 'lucide-react'
import { api, ApiError, uploadMedia } from '@/api/client'
import type { CannedReply, CannedReplyList, Conversation, Message, Template, Tenant, User } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Popover, PopoverContent, PopoverTrigger, PopoverAnchor } from '@/components/ui/menu'
import { sendOptimistic, useAddNote, useTemplates } from '@/lib/queries'
import { retryable } from '@/live/outbox'
import { cn, formatDuration } from '@/lib/utils'
import { liveClient } from '@/live/live'
import { TemplatePicker } from './TemplatePicker'
import { InteractiveDialog } from './Interactive'

const EMOJI = '😀 😂 😊 😍 🙏 👍 👌 👏 🙌 🎉 ❤️ 🔥 ✅ ❌ ⭐ 😉 😅 🤔 😢 😮 🙂 😎 🤝 💪 📦 🚚 💳 🕒 📞 📍 🛒 🎁 ✨ 👋 🙈 💯'.split(' ')

export type Canned = CannedReply

/** fillVariables puts the conversation's values into a canned reply. */
export function fillVariables(text: string, vars: Record<string, string>): string {
  return text.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (all, k: string) => vars[k] ?? all)
}

export type ComposerMode = 'reply' | 'note'

export interface ComposerHandle {
  focus(mode?: ComposerMode): void
}

export const Composer = React.forwardRef<
  ComposerHandle,
  {
    conv: Conversation
    user: User
    replyTo: Message | null
    clearReply: () => void
    lastInbound?: Message
    canSend: boolean
  }
>(function Composer({ conv, user, replyTo, clearReply, lastInbound, canSend }, ref) {
  const qc = useQueryClient()
  const [mode, setMode] = React.useState<ComposerMode>('reply')
  const [text, setText] = React.useState('')
  const [error, setError] = React.useState('')
  const [closedAt, setClosedAt] = React.useState<string | null | undefined>(undefined)
  const [picker, setPicker] = React.useState(false)
  const [interactive, setInteractive] = React.useState(false)
  const [upload, setUpload] = React.useState<{ name: string; progress: number } | null>(null)
  const area = React.useRef<HTMLTextAreaElement>(null)
  const file = React.useRef<HTMLInputElement>(null)
  const addNote = useAddNote(conv.id)
  const now = useNow(30_000)
  const expires = conv.window_expires_at ? new Date(conv.window_expires_at).getTime() : 0
  const open = expires > now && closedAt === undefined
  const templates = useTemplates(true)
  const canned = useQuery({
    queryKey: ['canned-replies'],
    queryFn: () => api.get<CannedReplyList>('/api/canned-replies'),
    staleTime: 60_000,
    retry: false,
  })
  React.useImperativeHandle(ref, () => ({
    focus(m) {
      if (m) setMode(m)
      setTimeout(() => area.current?.focus(), 0)
    },
  }))
  React.useEffect(() => {
    setText('')
    setError('')
    setClosedAt(undefined)
    setMode('reply')
  }, [conv.id])
  React.useEffect(() => {
    if (replyTo) area.current?.focus()
  }, [replyTo])

  const vars: Record<string, string> = {
    'contact.name': conv.contact.name || conv.contact.phone,
    'contact.first_name': (conv.contact.name || '').split(' ')[0] || conv.contact.phone,
    'contact.phone': conv.contact.phone,
    'contact.wa_id': conv.contact.wa_id,
    'tenant.name': qc.getQueryData<Tenant>(['tenant'])?.name ?? '',
    'agent.name': user.name,
    'agent.first_name': user.name.split(' ')[0],
  }
  const slash = mode === 'reply' && /^\/[\w-]*$/.test(text) ? text.slice(1).toLowerCase() : null
  const cannedList = (canned.data?.data ?? []).filter((c) => slash !== null && c.shortcut.toLowerCase().includes(slash)).slice(0, 8)
  const [cannedIdx, setCannedIdx] = React.useState(0)

  const readSent = React.useRef<Record<string, number>>({})
  const onType = (v: string) => {
    setText(v)
    if (mode !== 'reply' || !v) return
    liveClient()?.typing(conv.id)
    // The customer sees it read and that a reply is being typed (Meta keeps it 25 s).
    if (lastInbound && open && canSend && Date.now() - (readSent.current[lastInbound.id] ?? 0) > 20_000) {
      readSent.current[lastInbound.id] = Date.now()
      void api.post(`/api/messages/${lastInbound.id}/read`, { typing_indicator: { type: 'text' } }).catch(() => undefined)
    }
  }

  const handleSendError = (e: unknown) => {
    if (e instanceof ApiError && e.code === 'window-closed') {
      setClosedAt(e.problem?.window_expires_at ?? null)
      setError('')
      return
    }
    setError(e instanceof Error ? e.message : String(e))
  }

  const submit = async () => {
    const body = text.trim()
    if (!body) return
    setError('')
    if (mode === 'note') {
      try {
        await addNote.mutateAsync(body)
        setText('')
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e))
      }
      return
    }
    if (body.length > 4096) {
      setError('A message has at most 4096 characters.')
      return
    }
    setText('')
    const ctx = replyTo ? { context: { message_id: replyTo.id } } : {}
    clearReply()
    try {
      await sendOptimistic(qc, conv.id, { type: 'text', text: { body }, ...ctx }, body, { body })
    } catch (e) {
      // Refused: the words come back to the box (a failed send stays in the chat with Retry).
      if (!retryable(e)) setText((t) => t || body)
      handleSendError(e)
    }
  }

  const sendTemplate = async (t: Template, components: Record<string, unknown>[], preview: string) => {
    const template = { name: t.name, language: { code: t.language }, ...(components.length ? { components } : {}) }
    void preview
    await sendOptimistic(qc, conv.id, { type: 'template', template: template as never }, `Template: ${t.name}`, template)
    setClosedAt(undefined)
  }

  const attach = async (f: File) => {
    setError('')
    setUpload({ name: f.name, progress: 0 })
    try {
      const up = await uploadMedia(f, (p) => setUpload({ name: f.name, progress: p }))
      const caption = text.trim()
      const media: Record<string, string> = { id: up.id }
      if (caption && up.type !== 'audio' && up.type !== 'sticker') media.caption = caption
      if (up.type === 'document') media.filename = f.name
      setText('')
      setUpload(null)
      await sendOptimistic(qc, conv.id, { type: up.type, [up.type]: media } as never, caption || f.name, { ...media, mime_type: up.mime_type })
    } catch (e) {
      setUpload(null)
      handleSendError(e)
    }
  }

  const onKey = (e: React.KeyboardEvent<HTMLTextAreaElement>) => {
    if (cannedList.length) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault()
        setCannedIdx((i) => (i + (e.key === 'ArrowDown' ? 1 : cannedList.length - 1)) % cannedList.length)
        return
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault()
        setText(fillVariables(cannedList[cannedIdx % cannedList.length].text, vars))
        return
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault()
      void submit()
    }
    if (e.key === 'Escape') {
      if (replyTo) clearReply()
      else area.current?.blur()
    }
  }

  const windowClosed = !open
  const closedText =
    closedAt === null || (!conv.window_expires_at && closedAt === undefined)
      ? 'The customer has not written to this number yet.'
      : `The 24-hour window closed ${new Date(closedAt ?? conv.window_expires_at!).toLocaleString()}.`

  if (!canSend && mode === 'reply') {
    return (
      <div className="border-t bg-card p-3 text-center text-sm text-muted-foreground">
        This conversation is assigned to a teammate: you can read it and add{' '}
        <button className="font-medium text-primary underline" onClick={() => setMode('note')}>
          private notes
        </button>
        .
      </div>
    )
  }

  return (
    <div className="border-t bg-card" data-testid="composer">
      <div className="flex items-center gap-1 px-3 pt-2">
        <button onClick={() => setMode('reply')} className={cn('rounded-md px-2 py-1 text-xs font-medium', mode === 'reply' ? 'bg-accent text-foreground' : 'text-muted-foreground hover:bg-accent')} aria-pressed={mode === 'reply'}>
          Reply
        </button>
        <button onClick={() => setMode('note')} className={cn('flex items-center gap-1 rounded-md px-2 py-1 text-xs font-medium', mode === 'note' ? 'bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-200' : 'text-muted-foreground hover:bg-accent')} aria-pressed={mode === 'note'}>
          <StickyNote className="size-3.5" /> <span className="whitespace-nowrap">Note</span>
        </button>
        <div className="ml-auto flex items-center gap-3 whitespace-nowrap text-[11px] text-muted-foreground" data-testid="window-state">
          {mode === 'reply' ? <span className="hidden lg:inline">“/” canned replies · Shift+Enter new line</span> : null}
          {mode === 'reply' && open ? (
            <span className={cn('inline-flex items-center gap-1', expires - now < 3600_000 && 'font-medium text-amber-600')} title="Until the 24-hour customer-service window closes; then only templates">
              <Clock className="size-3" /> {formatDuration(expires - now)} left<span className="hidden sm:inline"> to reply freely</span>
            </span>
          ) : null}
        </div>
      </div>
      {mode === 'reply' && windowClosed ? (
        <div className="m-3 flex flex-wrap items-center gap-3 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-100" role="status" data-testid="window-closed">
          <Lock className="size-4 shrink-0" />
          <span className="flex-1">
            {closedText} Only approved templates can be sent until the customer writes again.
          </span>
          <Button size="sm" onClick={() => setPicker(true)}>
            <FileText /> Choose a template
          </Button>
        </div>
      ) : (
        <div className="p-3 pt-2">
          {replyTo && mode === 'reply' ? (
            <div className="mb-2 flex items-start gap-2 rounded-md border-l-4 border-primary bg-muted px-2 py-1.5 text-xs">
              <div className="min-w-0 flex-1">
                <div className="font-medium text-primary">Replying to {replyTo.direction === 'outbound' ? 'your message' : conv.contact.name || 'the customer'}</div>
                <div className="truncate text-muted-foreground">{replyTo.preview}</div>
              </div>
              <button onClick={clearReply} aria-label="Cancel reply" className="rounded p-0.5 hover:bg-accent">
                <X className="size-4" />
              </button>
            </div>
          ) : null}
          {upload ? (
            <div className="mb-2 flex items-center gap-2 text-xs" role="status">
              <Loader2 className="size-3.5 animate-spin" /> Uploading {upload.name}
              <div className="h-1.5 flex-1 overflow-hidden rounded-full bg-muted">
                <div className="h-full bg-primary transition-all" style={{ width: `${Math.round(upload.progress * 100)}%` }} />
              </div>
              {Math.round(upload.progress * 100)}%
            </div>
          ) : null}
          <Popover open={cannedList.length > 0 || (slash !== null && canned.isError)}>
            <PopoverAnchor asChild>
              <div className={cn('flex items-end gap-1 rounded-xl border bg-background p-1.5 focus-within:outline-2 focus-within:outline-ring', mode === 'note' && 'border-amber-300 bg-amber-50/60 dark:border-amber-800 dark:bg-amber-950/30')}>
                {mode === 'reply' ? (
                  <>
                    <EmojiButton onPick={(e) => setText((t) => t + e)} />
                    <Button variant="ghost" size="iconSm" aria-label="Attach a file" onClick={() => file.current?.click()}>
                      <Paperclip />
                    </Button>
                    <input ref={file} type="file" className="hidden" aria-label="File to send" onChange={(e) => e.target.files?.[0] && void attach(e.target.files[0])} />
                  </>
                ) : null}
                <textarea
                  ref={area}
                  value={text}
                  onChange={(e) => onType(e.target.value)}
                  onKeyDown={onKey}
                  rows={Math.min(6, Math.max(1, text.split('\n').length))}
                  placeholder={mode === 'note' ? 'A private note, only your team sees it' : 'Type a message'}
                  aria-label={mode === 'note' ? 'Private note' : 'Message'}
                  className="max-h-40 min-h-8 flex-1 resize-none bg-transparent px-1.5 py-1.5 text-sm outline-none placeholder:text-muted-foreground"
                />
                {mode === 'reply' ? (
                  <>
                    <Button variant="ghost" size="iconSm" aria-label="Interactive message" className="hidden sm:inline-flex" onClick={() => setInteractive(true)}>
                      <LayoutList />
                    </Button>
                    <Button variant="ghost" size="iconSm" aria-label="Send a template" onClick={() => setPicker(true)}>
                      <FileText />
                    </Button>
                  </>
                ) : null}
                <Button size="iconSm" aria-label={mode === 'note' ? 'Add note' : 'Send'} onClick={() => void submit()} disabled={!text.trim()} className={mode === 'note' ? 'bg-amber-500 text-amber-950 hover:bg-amber-500/90' : ''}>
                  {mode === 'note' ? <StickyNote /> : <Send />}
                </Button>
              </div>
            </PopoverAnchor>
            <PopoverContent side="top" align="start" className="w-80 p-1" onOpenAutoFocus={(e) => e.preventDefault()}>
              {canned.isError ? (
                <p className="p-2 text-xs text-muted-foreground">Canned replies could not be loaded.</p>
              ) : (
                <ul aria-label="Canned replies">
                  {cannedList.map((c, i) => (
                    <li key={c.id}>
                      <button
                        className={cn('w-full rounded-sm px-2 py-1.5 text-left text-sm', i === cannedIdx % cannedList.length ? 'bg-accent' : 'hover:bg-accent')}
                        onMouseDown={(e) => {
                          e.preventDefault()
                          setText(fillVariables(c.text, vars))
                          area.current?.focus()
                        }}
                      >
                        <span className="font-medium">/{c.shortcut}</span>
                        <span className="line-clamp-1 text-xs text-muted-foreground">{fillVariables(c.text, vars)}</span>
                      </button>
                    </li>
                  ))}
                </ul>
              )}
            </PopoverContent>
          </Popover>
          {error ? (
            <p className="mt-1 text-xs text-destructive" role="alert">
              {error}
            </p>
          ) : null}
        </div>
      )}
      <TemplatePicker open={picker} onOpenChange={setPicker} templates={(templates.data?.data ?? []).filter((t) => t.status === 'APPROVED')} loading={templates.isPending} onSend={sendTemplate} defaults={{ '1': vars['contact.first_name'], name: vars['contact.name'] }} upload={async (f, progress) => (await uploadMedia(f, progress)).id} />
      <InteractiveDialog
        open={interactive}
        onOpenChange={setInteractive}
        initialBody={text}
        onSend={async (inter, preview) => {
          await sendOptimistic(qc, conv.id, { type: 'interactive', interactive: inter as never }, preview, inter)
          setText('')
        }}
      />
    </div>
  )
})

function EmojiButton({ onPick }: { onPick: (e: string) => void }) {
  return (
    <Popover>
      <PopoverTrigger asChild>
        <Button variant="ghost" size="iconSm" aria-label="Emoji">
          <Smile />
        </Button>
      </PopoverTrigger>
      <PopoverContent side="top" align="start" className="grid w-72 grid-cols-9 gap-0.5 p-2">
        {EMOJI.map((e) => (
          <button key={e} className="rounded p-1 text-lg hover:bg-accent" onClick={() => onPick(e)} aria-label={`Insert ${e}`}>
            {e}
          </button>
        ))}
      </PopoverContent>
    </Popover>
  )
}

export function useNow(every: number) {
  const [now, setNow] = React.useState(Date.now())
  React.useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), every)
    return () => clearInterval(t)
  }, [every])
  return now
}
