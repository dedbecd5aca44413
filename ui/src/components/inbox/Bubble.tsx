import * as React from 'react'
import { Check, CheckCheck, Clock, AlertCircle, MapPin, User as UserIcon, Reply, SmilePlus, RotateCw, List, MousePointerClick } from 'lucide-react'
import type { Message, PendingMessage, Template } from '@/api/types'
import { cn, formatTime } from '@/lib/utils'
import { MediaView } from './media'

type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {})
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '')

export function Ticks({ m }: { m: PendingMessage }) {
  if (m.pending === 'failed') return <AlertCircle className="size-3.5 text-destructive" aria-label="Not sent" />
  if (m.pending) return <Clock className="size-3.5" aria-label={m.pending === 'retrying' ? 'Retrying' : 'Sending'} />
  switch (m.status) {
    case 'read':
    case 'played':
      return <CheckCheck className="size-4 text-sky-500" aria-label="Read" data-status="read" />
    case 'delivered':
      return <CheckCheck className="size-4" aria-label="Delivered" data-status="delivered" />
    case 'sent':
      return <Check className="size-4" aria-label="Sent" data-status="sent" />
    case 'failed':
      return <AlertCircle className="size-3.5 text-destructive" aria-label="Failed" data-status="failed" />
    default:
      return <Clock className="size-3.5" aria-label="Queued" data-status={m.status} />
  }
}

/** templateText fills a template's text with the parameters a send gave. */
export function fillTemplate(text: string, params: unknown[]): string {
  return text.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (all, key: string) => {
    const byIndex = /^\d+$/.test(key) ? params[Number(key) - 1] : params.find((p) => str(obj(p).parameter_name) === key)
    const p = obj(byIndex)
    const v = str(p.text) || str(obj(p.currency).fallback_value) || str(obj(p.date_time).fallback_value)
    return v || all
  })
}

export function TemplateBody({ content, template }: { content: Obj; template?: Template }) {
  const comps = (content.components as Obj[] | undefined) ?? []
  const params = (t: string) => (comps.find((c) => str(c.type).toLowerCase() === t)?.parameters as unknown[]) ?? []
  const tc = (Array.isArray(template?.components) ? template!.components : []) as Obj[]
  const part = (t: string) => tc.find((c) => str(c.type).toUpperCase() === t)
  const header = part('HEADER')
  const body = part('BODY')
  const footer = part('FOOTER')
  const buttons = (part('BUTTONS')?.buttons as Obj[] | undefined) ?? []
  if (!template) {
    return (
      <div className="grid gap-1">
        <span className="text-xs font-medium text-muted-foreground">Template · {str(content.name)}</span>
        {params('body').length ? <span>{params('body').map((p) => str(obj(p).text)).join(' · ')}</span> : null}
      </div>
    )
  }
  return (
    <div className="grid gap-1" data-template={template.name}>
      {header && str(header.text) ? <p className="font-semibold">{fillTemplate(str(header.text), params('header'))}</p> : null}
      {header && ['IMAGE', 'VIDEO', 'DOCUMENT'].includes(str(header.format).toUpperCase()) ? (
        <div className="grid h-28 place-items-center rounded-md bg-black/5 text-xs uppercase tracking-wide text-muted-foreground dark:bg-white/5">{str(header.format).toLowerCase()} header</div>
      ) : null}
      {body ? <p className="whitespace-pre-wrap break-words">{fillTemplate(str(body.text), params('body'))}</p> : null}
      {footer ? <p className="text-xs text-muted-foreground">{str(footer.text)}</p> : null}
      {buttons.length ? (
        <div className="mt-1 grid gap-1 border-t border-black/5 pt-1 dark:border-white/10">
          {buttons.map((b, i) => (
            <span key={i} className="text-center text-sm font-medium text-sky-600 dark:text-sky-400">
              {str(b.text)}
            </span>
          ))}
        </div>
      ) : null}
    </div>
  )
}

/** payload is the typed part of a message's content: inbound messages hold it as is, sends hold their whole request. */
export function payload(m: Message): Obj {
  const raw = obj(m.content)
  return raw.type === m.type && raw[m.type] && typeof raw[m.type] === 'object' && m.type !== 'contacts' ? obj(raw[m.type]) : raw
}

function Content({ m, template }: { m: Message; template?: Template }) {
  const c = payload(m)
  switch (m.type) {
    case 'text':
      return <p className="whitespace-pre-wrap break-words">{str(c.body) || m.preview}</p>
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const info = m.media
        ? { id: m.media.id, status: m.media.status, mime: m.media.mime_type, size: m.media.size, filename: m.media.filename, error: m.media.error }
        : { id: str(c.id), mime: str(c.mime_type), filename: str(c.filename) }
      return <MediaView type={m.type} info={info} caption={str(c.caption)} voice={!!c.voice} />
    }
    case 'location':
      return (
        <a
          className="flex items-start gap-2 rounded-md bg-black/5 p-2 hover:bg-black/10 dark:bg-white/5"
          href={`https://www.openstreetmap.org/?mlat=${str(c.latitude)}&mlon=${str(c.longitude)}#map=16/${str(c.latitude)}/${str(c.longitude)}`}
          target="_blank"
          rel="noreferrer"
        >
          <MapPin className="mt-0.5 size-5 shrink-0 text-red-500" />
          <span>
            <span className="block font-medium">{str(c.name) || 'Location'}</span>
            <span className="block text-xs text-muted-foreground">{str(c.address) || `${str(c.latitude)}, ${str(c.longitude)}`}</span>
          </span>
        </a>
      )
    case 'contacts': {
      const list = (c.contacts as Obj[] | undefined) ?? []
      return (
        <div className="grid gap-1.5">
          {list.map((ct, i) => (
            <div key={i} className="flex items-center gap-2 rounded-md bg-black/5 p-2 dark:bg-white/5">
              <UserIcon className="size-8 rounded-full bg-primary/15 p-1.5 text-primary" />
              <span>
                <span className="block font-medium">{str(obj(ct.name).formatted_name)}</span>
                <span className="block text-xs text-muted-foreground">{((ct.phones as Obj[]) ?? []).map((p) => str(p.phone)).join(', ')}</span>
              </span>
            </div>
          ))}
        </div>
      )
    }
    case 'interactive': {
      const reply = obj(c.button_reply ?? c.list_reply)
      if (reply.title) {
        return (
          <p className="flex items-center gap-1.5">
            <MousePointerClick className="size-4 text-primary" /> {str(reply.title)}
            {str(reply.description) ? <span className="text-xs text-muted-foreground">— {str(reply.description)}</span> : null}
          </p>
        )
      }
      const action = obj(c.action)
      const buttons = (action.buttons as Obj[] | undefined) ?? []
      return (
        <div className="grid gap-1">
          {str(obj(c.header).text) ? <p className="font-semibold">{str(obj(c.header).text)}</p> : null}
          <p className="whitespace-pre-wrap break-words">{str(obj(c.body).text) || m.preview}</p>
          {str(obj(c.footer).text) ? <p className="text-xs text-muted-foreground">{str(obj(c.footer).text)}</p> : null}
          <div className="mt-1 grid gap-1 border-t border-black/5 pt-1 dark:border-white/10">
            {buttons.map((b, i) => (
              <span key={i} className="text-center text-sm font-medium text-sky-600 dark:text-sky-400">
                {str(obj(b.reply).title)}
              </span>
            ))}
            {str(action.button) ? (
              <span className="flex items-center justify-center gap-1 text-sm font-medium text-sky-600 dark:text-sky-400">
                <List className="size-4" /> {str(action.button)}
              </span>
            ) : null}
          </div>
        </div>
      )
    }
    case 'button':
      return (
        <p className="flex items-center gap-1.5">
          <MousePointerClick className="size-4 text-primary" /> {str(c.text)}
        </p>
      )
    case 'template':
      return <TemplateBody content={c} template={template} />
    default:
      return <p className="italic text-muted-foreground">{m.preview || `Unsupported message (${m.type})`}</p>
  }
}

export const Bubble = React.memo(function Bubble({
  m,
  quoted,
  reactions,
  template,
  sender,
  onReply,
  onReact,
  onRetry,
}: {
  m: PendingMessage
  quoted?: Message
  reactions?: string[]
  template?: Template
  sender?: string
  onReply: (m: Message) => void
  onReact: (m: Message, emoji: string) => void
  onRetry?: (m: PendingMessage) => void
}) {
  const out = m.direction === 'outbound'
  const [picker, setPicker] = React.useState(false)
  const revoked = !!m.revoked_at
  return (
    <div className={cn('group flex px-4 py-0.5 sm:px-8', out ? 'justify-end' : 'justify-start')} data-message={m.id} data-direction={m.direction} data-status={m.pending ? 'pending' : m.status}>
      <div className={cn('relative max-w-[85%] sm:max-w-[70%]')}>
        <div className={cn('rounded-2xl px-3 py-1.5 text-[14.5px] leading-snug shadow-sm', out ? 'rounded-br-md bg-bubble-out' : 'rounded-bl-md bg-bubble-in', m.pending === 'failed' && 'ring-1 ring-destructive')}>
          {out && sender ? <div className="text-[11px] font-medium text-primary">{sender}</div> : null}
          {quoted ? (
            <div className="mb-1 rounded-md border-l-4 border-primary bg-black/5 px-2 py-1 text-xs dark:bg-white/5">
              <div className="font-medium text-primary">{quoted.direction === 'outbound' ? 'You' : 'Customer'}</div>
              <div className="line-clamp-2 text-muted-foreground">{quoted.preview}</div>
            </div>
          ) : null}
          {revoked ? <p className="italic text-muted-foreground">This message was deleted.</p> : <Content m={m} template={template} />}
          <div className="mt-0.5 flex items-center justify-end gap-1 text-[11px] text-muted-foreground">
            {m.edited ? <span>edited</span> : null}
            <time dateTime={m.timestamp}>{formatTime(m.timestamp)}</time>
            {out ? <Ticks m={m} /> : null}
          </div>
          {m.status === 'failed' && m.error ? (
            <p className="mt-1 border-t border-destructive/20 pt-1 text-xs text-destructive" role="note">
              Not delivered: {m.error.title}
              {m.error.details ? ` — ${m.error.details}` : ''} (code {m.error.code})
            </p>
          ) : null}
          {m.pending === 'failed' ? (
            <p className="mt-1 flex items-center gap-2 border-t border-destructive/20 pt-1 text-xs text-destructive">
              Not sent{m.pending_error ? `: ${m.pending_error}` : ''}
              {onRetry ? (
                <button className="inline-flex items-center gap-1 font-medium underline" onClick={() => onRetry(m)}>
                  <RotateCw className="size-3" /> Retry
                </button>
              ) : null}
            </p>
          ) : null}
        </div>
        {reactions?.length ? (
          <div className={cn('absolute -bottom-3 flex gap-0.5 rounded-full border bg-card px-1.5 text-sm shadow-sm', out ? 'right-2' : 'left-2')} aria-label={`Reactions: ${reactions.join(' ')}`}>
            {reactions.map((r, i) => (
              <span key={i}>{r}</span>
            ))}
          </div>
        ) : null}
        {!m.pending && !revoked ? (
          <div className={cn('absolute top-1 hidden gap-0.5 group-hover:flex group-focus-within:flex', out ? '-left-16' : '-right-16')}>
            <button className="rounded-full p-1.5 text-muted-foreground hover:bg-accent" aria-label="Reply" onClick={() => onReply(m)}>
              <Reply className="size-4" />
            </button>
            {m.direction === 'inbound' ? (
              <button className="rounded-full p-1.5 text-muted-foreground hover:bg-accent" aria-label="React" onClick={() => setPicker((p) => !p)}>
                <SmilePlus className="size-4" />
              </button>
            ) : null}
          </div>
        ) : null}
        {picker ? (
          <div className={cn('absolute -top-9 z-10 flex gap-1 rounded-full border bg-card px-2 py-1 shadow-md', out ? 'right-0' : 'left-0')}>
            {['👍', '❤️', '😂', '😮', '🙏', '✅'].map((e) => (
              <button
                key={e}
                className="rounded-full px-1 text-lg hover:scale-125"
                aria-label={`React ${e}`}
                onClick={() => {
                  setPicker(false)
                  onReact(m, e)
                }}
              >
                {e}
              </button>
            ))}
          </div>
        ) : null}
      </div>
    </div>
  )
})
