import * as React from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { ArrowLeft, CheckCircle2, Clock3, PanelRight, RotateCcw, Tag, UserPlus, X } from 'lucide-react'
import { api } from '@/api/client'
import type { Conversation, ConversationPage, Message, PendingMessage, User } from '@/api/types'
import { Avatar, Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Input } from '@/components/ui/input'
import { Menu, MenuContent, MenuItem, MenuLabel, MenuSeparator, MenuTrigger, Popover, PopoverContent, PopoverTrigger, Tip } from '@/components/ui/menu'
import { markConversationRead, resend, sendOptimistic, useConversation, useDirectory, useMessages, useNotes, useNumbers, usePatchConversation, useTemplates } from '@/lib/queries'
import { Link, navigate } from '@/lib/router'
import { useStore } from '@/lib/store'
import { cn, formatListTime } from '@/lib/utils'
import { openConversation, typing } from '@/live/live'
import { Composer, type ComposerHandle } from './Composer'
import { Timeline } from './Timeline'
import { shortcutActions } from '@/pages/Shortcuts'

export function snoozeOptions(now = new Date()): { label: string; until: Date }[] {
  const h = (n: number) => new Date(now.getTime() + n * 3600_000)
  const tomorrow = new Date(now)
  tomorrow.setDate(tomorrow.getDate() + 1)
  tomorrow.setHours(9, 0, 0, 0)
  const monday = new Date(now)
  monday.setDate(monday.getDate() + ((8 - monday.getDay()) % 7 || 7))
  monday.setHours(9, 0, 0, 0)
  return [
    { label: 'For 1 hour', until: h(1) },
    { label: 'For 3 hours', until: h(3) },
    { label: 'Until tomorrow 9:00', until: tomorrow },
    { label: 'Until Monday 9:00', until: monday },
  ]
}

export function Chat({ id, user, backTo, panel, setPanel }: { id: string; user: User; backTo: string; panel: boolean; setPanel: (v: boolean) => void }) {
  const qc = useQueryClient()
  const convQ = useConversation(id)
  const conv = convQ.data
  const msgs = useMessages(id)
  const notes = useNotes(id)
  const templates = useTemplates(true)
  const directory = useDirectory(user)
  const patch = usePatchConversation()
  const [replyTo, setReplyTo] = React.useState<Message | null>(null)
  const composer = React.useRef<ComposerHandle>(null)
  const typists = useStore(typing)[id] ?? []

  React.useEffect(() => {
    openConversation.set(id)
    setReplyTo(null)
    return () => openConversation.set(null)
  }, [id])

  // Reading it here marks it read, once when opened and as messages come in.
  const unread = conv?.unread_count ?? 0
  React.useEffect(() => {
    if (unread > 0 && !document.hidden) {
      const t = setTimeout(() => void markConversationRead(id), 400)
      return () => clearTimeout(t)
    }
  }, [id, unread])

  const lastInbound = React.useMemo(() => [...msgs.messages].reverse().find((m) => m.direction === 'inbound' && m.type !== 'reaction'), [msgs.messages])
  const canSend = !!conv && (user.role !== 'agent' || !conv.assignee_id || conv.assignee_id === user.id)

  const change = (p: Parameters<typeof patch.mutate>[0]['patch']) => conv && patch.mutate({ id, patch: p, current: conv })
  React.useEffect(() => {
    shortcutActions.set({
      ...shortcutActions.get(),
      reply: () => composer.current?.focus('reply'),
      note: () => composer.current?.focus('note'),
      close: () => conv && change({ status: conv.status === 'closed' ? 'open' : 'closed' }),
      assignMe: () => change({ assignee_id: user.id }),
    })
  })

  const onReact = React.useCallback(
    (m: Message, emoji: string) => {
      void sendOptimistic(qc, id, { type: 'reaction', reaction: { message_id: m.id, emoji } }, emoji, { message_id: m.wamid, emoji }).catch(() => undefined)
    },
    [qc, id],
  )
  const onRetry = React.useCallback((m: PendingMessage) => void resend(qc, m.client_key!)?.catch(() => undefined), [qc])

  if (convQ.isError) {
    return (
      <div className="grid h-full place-items-center p-8 text-center text-sm text-muted-foreground">
        <div>
          <p>This conversation could not be opened: {(convQ.error as Error).message}</p>
          <Link to={backTo} className="mt-2 inline-block text-primary underline">
            Back to the inbox
          </Link>
        </div>
      </div>
    )
  }
  if (!conv) return <div className="h-full bg-chat" aria-busy="true" />
  const name = conv.contact.name || conv.contact.phone
  const assignee = conv.assignee_id ? directory[conv.assignee_id]?.name ?? 'a teammate' : null
  return (
    <section className="flex h-full min-w-0 flex-1 flex-col" aria-label={`Conversation with ${name}`} data-conversation-open={id}>
      <header className="flex items-center gap-2 border-b bg-card px-3 py-2">
        <Button variant="ghost" size="iconSm" className="md:hidden" aria-label="Back to conversations" onClick={() => navigate(backTo)}>
          <ArrowLeft />
        </Button>
        <Avatar name={name} size={36} />
        <div className="min-w-0 flex-1">
          <h2 className="truncate text-sm font-semibold">{name}</h2>
          <p className="truncate text-xs text-muted-foreground">
            {typists.length ? <span className="text-primary">{typists.map((t) => t.name).join(', ')} typing…</span> : <>{conv.contact.phone}{assignee ? ` · assigned to ${assignee}` : ' · unassigned'}</>}
          </p>
        </div>
        <div className="hidden items-center gap-1 sm:flex">
          {conv.tags.map((t) => (
            <Badge key={t} variant="secondary">
              #{t}
            </Badge>
          ))}
        </div>
        <AssignMenu conv={conv} user={user} directory={directory} onAssign={(a) => change({ assignee_id: a })} />
        <TagsPopover conv={conv} onTags={(tags) => change({ tags })} />
        <Menu>
          <Tip label="Snooze">
            <MenuTrigger asChild>
              <Button variant="ghost" size="iconSm" aria-label="Snooze">
                <Clock3 />
              </Button>
            </MenuTrigger>
          </Tip>
          <MenuContent align="end">
            <MenuLabel>Snooze until the customer writes, or</MenuLabel>
            {snoozeOptions().map((o) => (
              <MenuItem key={o.label} onSelect={() => change({ status: 'snoozed', snoozed_until: o.until.toISOString() })}>
                {o.label}
              </MenuItem>
            ))}
          </MenuContent>
        </Menu>
        {conv.status === 'closed' ? (
          <Button variant="outline" size="sm" onClick={() => change({ status: 'open' })}>
            <RotateCcw /> Reopen
          </Button>
        ) : (
          <Button size="sm" onClick={() => change({ status: 'closed' })} aria-keyshortcuts="c">
            <CheckCircle2 /> <span className="hidden sm:inline">Close</span>
          </Button>
        )}
        <Tip label={panel ? 'Hide contact' : 'Show contact'}>
          <Button variant="ghost" size="iconSm" aria-label="Contact details" aria-pressed={panel} onClick={() => setPanel(!panel)} className="hidden lg:inline-flex">
            <PanelRight />
          </Button>
        </Tip>
      </header>
      {conv.status !== 'open' ? (
        <div className="border-b bg-muted px-4 py-1.5 text-center text-xs text-muted-foreground">
          {conv.status === 'closed' ? 'This conversation is closed; a new message from the customer reopens it.' : `Snoozed until ${conv.snoozed_until ? new Date(conv.snoozed_until).toLocaleString() : 'later'}.`}
        </div>
      ) : null}
      <div className="flex min-h-0 flex-1">
        <div className="flex min-w-0 flex-1 flex-col">
          {msgs.isPending ? (
            <div className="flex-1 bg-chat" aria-busy="true" />
          ) : (
            <Timeline
              conversationId={id}
              messages={msgs.messages}
              notes={notes.data?.data ?? []}
              hasOlder={!!msgs.hasNextPage}
              loadingOlder={msgs.isFetchingNextPage}
              loadOlder={() => void msgs.fetchNextPage()}
              templates={templates.data?.data ?? []}
              names={directory}
              onReply={setReplyTo}
              onReact={onReact}
              onRetry={onRetry}
              footer={
                typists.length ? (
                  <div className="px-8 pb-3 text-xs text-muted-foreground" aria-live="polite">
                    <span className="inline-flex items-center gap-1 rounded-full bg-card px-3 py-1 shadow-sm">
                      <Dots /> {typists.map((t) => t.name).join(', ')} {typists.length > 1 ? 'are' : 'is'} typing
                    </span>
                  </div>
                ) : null
              }
            />
          )}
          <Composer ref={composer} conv={conv} user={user} replyTo={replyTo} clearReply={() => setReplyTo(null)} lastInbound={lastInbound} canSend={canSend} />
        </div>
        {panel ? <ContactPanel conv={conv} onClose={() => setPanel(false)} /> : null}
      </div>
    </section>
  )
}

function Dots() {
  return (
    <span className="inline-flex gap-0.5" aria-hidden>
      {[0, 1, 2].map((i) => (
        <span key={i} className="size-1 animate-bounce rounded-full bg-current" style={{ animationDelay: `${i * 120}ms` }} />
      ))}
    </span>
  )
}

function AssignMenu({ conv, user, directory, onAssign }: { conv: Conversation; user: User; directory: Record<string, { name: string; online?: boolean }>; onAssign: (id: string | null) => void }) {
  return (
    <Menu>
      <Tip label="Assign">
        <MenuTrigger asChild>
          <Button variant="ghost" size="iconSm" aria-label="Assign">
            {conv.assignee_id ? <Avatar name={directory[conv.assignee_id]?.name ?? '?'} size={24} /> : <UserPlus />}
          </Button>
        </MenuTrigger>
      </Tip>
      <MenuContent align="end">
        <MenuLabel>Assign to</MenuLabel>
        <MenuItem onSelect={() => onAssign(user.id)} disabled={conv.assignee_id === user.id}>
          <Avatar name={user.name} size={20} /> Me
        </MenuItem>
        {Object.entries(directory)
          .filter(([uid]) => uid !== user.id)
          .map(([uid, u]) => (
            <MenuItem key={uid} onSelect={() => onAssign(uid)} disabled={conv.assignee_id === uid}>
              <Avatar name={u.name} size={20} /> {u.name}
              {u.online ? <span className="ml-auto size-2 rounded-full bg-emerald-500" aria-label="online" /> : null}
            </MenuItem>
          ))}
        <MenuSeparator />
        <MenuItem onSelect={() => onAssign(null)} disabled={!conv.assignee_id}>
          <X /> Unassign
        </MenuItem>
      </MenuContent>
    </Menu>
  )
}

function TagsPopover({ conv, onTags }: { conv: Conversation; onTags: (t: string[]) => void }) {
  const [value, setValue] = React.useState('')
  const add = () => {
    const t = value.trim().replace(/^#/, '').toLowerCase()
    if (t && !conv.tags.includes(t) && t.length <= 50) onTags([...conv.tags, t].slice(0, 20))
    setValue('')
  }
  return (
    <Popover>
      <Tip label="Tags">
        <PopoverTrigger asChild>
          <Button variant="ghost" size="iconSm" aria-label="Tags">
            <Tag />
          </Button>
        </PopoverTrigger>
      </Tip>
      <PopoverContent align="end" className="w-64">
        <form
          onSubmit={(e) => {
            e.preventDefault()
            add()
          }}
          className="grid gap-2"
        >
          <Input value={value} onChange={(e) => setValue(e.target.value)} placeholder="Add a tag" aria-label="New tag" autoFocus />
          <div className="flex flex-wrap gap-1">
            {conv.tags.length === 0 ? <span className="text-xs text-muted-foreground">No tags yet.</span> : null}
            {conv.tags.map((t) => (
              <Badge key={t} variant="secondary" className="gap-1">
                #{t}
                <button type="button" aria-label={`Remove tag ${t}`} onClick={() => onTags(conv.tags.filter((x) => x !== t))}>
                  <X className="size-3" />
                </button>
              </Badge>
            ))}
          </div>
        </form>
      </PopoverContent>
    </Popover>
  )
}

function ContactPanel({ conv, onClose }: { conv: Conversation; onClose: () => void }) {
  const numbers = useNumbers()
  const past = useQuery({
    queryKey: ['contact-conversations', conv.contact.wa_id],
    queryFn: () => api.get<ConversationPage>('/api/conversations', { q: conv.contact.wa_id, limit: 20 }),
    staleTime: 30_000,
  })
  const number = numbers.data?.data.find((n) => n.phone_number_id === conv.phone_number_id)
  const name = conv.contact.name || conv.contact.phone
  return (
    <aside aria-label="Contact" className="hidden w-72 shrink-0 flex-col overflow-y-auto border-l bg-card lg:flex">
      <div className="flex items-center justify-between border-b px-4 py-2">
        <h3 className="text-sm font-semibold">Contact</h3>
        <Button variant="ghost" size="iconSm" aria-label="Close contact panel" onClick={onClose}>
          <X />
        </Button>
      </div>
      <div className="grid justify-items-center gap-2 px-4 py-5 text-center">
        <Avatar name={name} size={64} />
        <div className="text-base font-semibold">{name}</div>
      </div>
      <dl className="grid gap-3 px-4 text-sm">
        <div>
          <dt className="text-xs text-muted-foreground">Phone</dt>
          <dd>{conv.contact.phone}</dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">WhatsApp ID</dt>
          <dd className="font-mono text-xs">{conv.contact.wa_id}</dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">Writes to</dt>
          <dd>{number ? `${number.verified_name || 'Number'} · ${number.display_phone_number}` : conv.phone_number_id}</dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">Tags</dt>
          <dd className="mt-1 flex flex-wrap gap-1">{conv.tags.length ? conv.tags.map((t) => <Badge key={t} variant="secondary">#{t}</Badge>) : <span className="text-muted-foreground">none</span>}</dd>
        </div>
      </dl>
      <div className="mt-5 border-t px-4 py-3">
        <h4 className="mb-2 text-xs font-semibold uppercase tracking-wide text-muted-foreground">Conversations</h4>
        <ul className="grid gap-1">
          {(past.data?.data ?? []).map((c) => (
            <li key={c.id}>
              <Link to={`/inbox/${c.id}`} className={cn('block rounded-md px-2 py-1.5 text-xs hover:bg-accent', c.id === conv.id && 'bg-accent')}>
                <span className="flex justify-between">
                  <span className="font-medium capitalize">{c.status}</span>
                  <span className="text-muted-foreground">{formatListTime(c.last_message_at)}</span>
                </span>
                <span className="line-clamp-1 text-muted-foreground">{c.last_message_preview}</span>
              </Link>
            </li>
          ))}
        </ul>
      </div>
    </aside>
  )
}

