import * as React from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Plus, RefreshCw, Trash2, KeyRound, Phone, Users, MessageSquareText, FileText, Palette, AlertTriangle } from 'lucide-react'
import { api, ApiError } from '@/api/client'
import type { CannedReply as Canned, CannedReplyList, APIKey, APIKeyList, ConnectNumberRequest, CreateTemplateRequest, Number as WaNumber, NumberList, Template, TemplatePage, TemplateSync, Tenant, User, UserAdmin, UserList } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Badge, Avatar } from '@/components/ui/badge'
import { Field, Input, Textarea } from '@/components/ui/input'
import { Dialog, DialogContent } from '@/components/ui/dialog'
import { Card, CopyButton, ErrorNote, Heading } from '@/components/ui/section'
import { Link } from '@/lib/router'
import { cn } from '@/lib/utils'
import { applyBranding } from '@/lib/theme'
import { TemplateBody } from '@/components/inbox/Bubble'
import { variables } from '@/components/inbox/TemplatePicker'

const SECTIONS = [
  { id: 'numbers', label: 'WhatsApp numbers', icon: Phone, admin: false },
  { id: 'users', label: 'Users and roles', icon: Users, admin: true },
  { id: 'api-keys', label: 'API keys', icon: KeyRound, admin: true },
  { id: 'canned', label: 'Canned replies', icon: MessageSquareText, admin: false },
  { id: 'templates', label: 'Templates', icon: FileText, admin: false },
  { id: 'branding', label: 'Branding', icon: Palette, admin: true },
]

export default function Settings({ section, user }: { section: string; user: User }) {
  const admin = user.role !== 'agent'
  const sections = SECTIONS.filter((s) => admin || !s.admin)
  const current = sections.find((s) => s.id === section) ?? sections[0]
  return (
    <div className="flex h-full flex-col md:flex-row">
      <nav aria-label="Settings" className="shrink-0 border-b bg-card p-3 md:w-60 md:border-b-0 md:border-r">
        <h1 className="mb-2 hidden px-2 text-base font-semibold md:block">Settings</h1>
        <ul className="flex gap-1 overflow-x-auto md:grid">
          {sections.map((s) => (
            <li key={s.id}>
              <Link
                to={`/settings/${s.id}`}
                aria-current={s.id === current.id ? 'page' : undefined}
                className={cn('flex items-center gap-2 whitespace-nowrap rounded-md px-2 py-1.5 text-sm hover:bg-accent', s.id === current.id && 'bg-accent font-medium')}
              >
                <s.icon className="size-4 text-muted-foreground" /> {s.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="min-h-0 flex-1 overflow-y-auto">
        <div className="mx-auto max-w-4xl p-4 md:p-8">
          {current.id === 'numbers' ? <Numbers admin={admin} /> : null}
          {current.id === 'users' ? <UsersSection me={user} /> : null}
          {current.id === 'api-keys' ? <ApiKeys /> : null}
          {current.id === 'canned' ? <CannedReplies admin={admin} /> : null}
          {current.id === 'templates' ? <Templates admin={admin} /> : null}
          {current.id === 'branding' ? <Branding /> : null}
        </div>
      </div>
    </div>
  )
}

// ---- numbers

function Numbers({ admin }: { admin: boolean }) {
  const qc = useQueryClient()
  const q = useQuery({ queryKey: ['numbers'], queryFn: () => api.get<NumberList>('/api/waba/credentials') })
  const [adding, setAdding] = React.useState(false)
  const [replacing, setReplacing] = React.useState<WaNumber | null>(null)
  const remove = useMutation({ mutationFn: (id: string) => api.del(`/api/waba/credentials/${id}`), onSuccess: () => qc.invalidateQueries({ queryKey: ['numbers'] }) })
  const webhook = `${location.origin}/api/webhook`
  return (
    <>
      <Heading title="WhatsApp numbers" action={admin ? <Button onClick={() => setAdding(true)}><Plus /> Add a number</Button> : null}>
        The numbers of your WhatsApp Business Accounts that wam sends from and receives on.
      </Heading>
      <Card className="mb-6 p-4">
        <h3 className="text-sm font-semibold">Webhook for Meta</h3>
        <p className="mt-1 text-xs text-muted-foreground">In your Meta app, under WhatsApp → Configuration, set the callback URL below and subscribe to the <code>messages</code> and <code>message_template_status_update</code> fields.</p>
        <div className="mt-3 flex items-center gap-2">
          <code className="flex-1 truncate rounded-md bg-muted px-3 py-2 text-xs" data-testid="webhook-url">{webhook}</code>
          <CopyButton value={webhook} />
        </div>
      </Card>
      {q.isPending ? <p className="text-sm text-muted-foreground">Loading…</p> : null}
      <ErrorNote error={q.error} />
      <div className="grid gap-3">
        {q.data?.data.length === 0 ? <Card className="p-6 text-center text-sm text-muted-foreground">No number yet. Add one to start receiving messages.</Card> : null}
        {q.data?.data.map((n) => (
          <Card key={n.id} className="flex flex-wrap items-center gap-4 p-4">
            <div className="grid size-10 place-items-center rounded-full bg-primary/10 text-primary">
              <Phone className="size-5" />
            </div>
            <div className="min-w-48 flex-1">
              <div className="font-medium">{n.verified_name || n.display_phone_number}</div>
              <div className="text-xs text-muted-foreground">
                {n.display_phone_number} · phone number id {n.phone_number_id} · WABA {n.waba_id || '—'} · {n.messages_per_second}/s
              </div>
              {n.token_status === 'invalid' ? (
                <p className="mt-1 flex items-center gap-1 text-xs text-destructive">
                  <AlertTriangle className="size-3.5" /> Meta refused the access token{n.token_error ? `: ${n.token_error}` : ''}. Sends are held until it is replaced.
                </p>
              ) : null}
            </div>
            <Badge variant={n.token_status === 'valid' ? 'success' : 'danger'}>token {n.token_status}</Badge>
            {n.has_verify_token ? <Badge variant="secondary">own verify token</Badge> : null}
            {admin ? (
              <div className="flex gap-2">
                <Button variant="outline" size="sm" onClick={() => setReplacing(n)}>
                  Replace token
                </Button>
                <Button variant="ghost" size="iconSm" aria-label={`Disconnect ${n.display_phone_number}`} onClick={() => confirm(`Disconnect ${n.display_phone_number}? Its conversations stay.`) && remove.mutate(n.id)}>
                  <Trash2 />
                </Button>
              </div>
            ) : null}
          </Card>
        ))}
      </div>
      <AddNumber open={adding} onOpenChange={setAdding} webhook={webhook} />
      <ReplaceToken number={replacing} onClose={() => setReplacing(null)} />
    </>
  )
}

export function validateNumber(f: ConnectNumberRequest): Partial<Record<keyof ConnectNumberRequest, string>> {
  const e: Partial<Record<keyof ConnectNumberRequest, string>> = {}
  if (!/^[0-9]{1,32}$/.test(f.phone_number_id)) e.phone_number_id = 'Digits only: the “Phone number ID” Meta shows under API Setup.'
  if (!/^\+?[0-9 ()-]{6,40}$/.test(f.display_phone_number)) e.display_phone_number = 'The number as customers see it, e.g. +1 555 078 3881.'
  if (f.waba_id && !/^[0-9]{1,32}$/.test(f.waba_id)) e.waba_id = 'Digits only: the WhatsApp Business Account ID.'
  if (f.access_token.length < 20) e.access_token = 'A permanent or system-user access token (20 characters or more).'
  return e
}

function AddNumber({ open, onOpenChange, webhook }: { open: boolean; onOpenChange: (o: boolean) => void; webhook: string }) {
  const qc = useQueryClient()
  const [f, setF] = React.useState<ConnectNumberRequest>({ phone_number_id: '', display_phone_number: '', waba_id: '', access_token: '', verify_token: '' })
  const [touched, setTouched] = React.useState(false)
  const [done, setDone] = React.useState<WaNumber | null>(null)
  const errors = validateNumber(f)
  const add = useMutation({
    mutationFn: () => api.post<WaNumber>('/api/waba/credentials', Object.fromEntries(Object.entries(f).filter(([, v]) => v !== ''))),
    onSuccess: (n) => {
      setDone(n)
      void qc.invalidateQueries({ queryKey: ['numbers'] })
    },
  })
  const set = (k: keyof ConnectNumberRequest) => (e: React.ChangeEvent<HTMLInputElement>) => setF({ ...f, [k]: e.target.value })
  const show = (k: keyof ConnectNumberRequest) => (touched ? errors[k] : undefined)
  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        onOpenChange(o)
        if (!o) {
          setDone(null)
          setTouched(false)
        }
      }}
    >
      <DialogContent title={done ? 'Number connected' : 'Add a WhatsApp number'} description={done ? undefined : 'wam checks the token with Meta, then stores it encrypted; it is never shown again.'}>
        {done ? (
          <div className="grid gap-3 text-sm">
            <p>
              <strong>{done.verified_name || done.display_phone_number}</strong> is connected. In your Meta app, set the webhook:
            </p>
            <Field label="Callback URL" htmlFor="cb">
              <div className="flex gap-2">
                <Input id="cb" readOnly value={webhook} />
                <CopyButton value={webhook} />
              </div>
            </Field>
            {f.verify_token ? (
              <Field label="Verify token" htmlFor="vt">
                <div className="flex gap-2">
                  <Input id="vt" readOnly value={f.verify_token} />
                  <CopyButton value={f.verify_token} />
                </div>
              </Field>
            ) : (
              <p className="text-muted-foreground">Verify token: the one your wam operator configured (WEBHOOK_VERIFY_TOKEN).</p>
            )}
            <Button onClick={() => onOpenChange(false)}>Done</Button>
          </div>
        ) : (
          <form
            className="grid gap-3"
            onSubmit={(e) => {
              e.preventDefault()
              setTouched(true)
              if (Object.keys(errors).length === 0) add.mutate()
            }}
            noValidate
          >
            <Field label="Phone number ID" htmlFor="pnid" error={show('phone_number_id')}>
              <Input id="pnid" inputMode="numeric" value={f.phone_number_id} onChange={set('phone_number_id')} aria-invalid={!!show('phone_number_id')} />
            </Field>
            <Field label="Display phone number" htmlFor="disp" error={show('display_phone_number')}>
              <Input id="disp" value={f.display_phone_number} onChange={set('display_phone_number')} placeholder="+1 555 078 3881" aria-invalid={!!show('display_phone_number')} />
            </Field>
            <Field label="WhatsApp Business Account ID" htmlFor="waba" error={show('waba_id')} hint="Optional; checked with Meta when given.">
              <Input id="waba" inputMode="numeric" value={f.waba_id} onChange={set('waba_id')} aria-invalid={!!show('waba_id')} />
            </Field>
            <Field label="Access token" htmlFor="tok" error={show('access_token')}>
              <Input id="tok" type="password" autoComplete="off" value={f.access_token} onChange={set('access_token')} aria-invalid={!!show('access_token')} />
            </Field>
            <Field label="Verify token (your own Meta app)" htmlFor="vtok" hint="Optional: a secret you also paste into Meta's webhook form.">
              <Input id="vtok" value={f.verify_token} onChange={set('verify_token')} />
            </Field>
            <ErrorNote error={add.error} />
            <Button type="submit" disabled={add.isPending}>
              {add.isPending ? 'Checking with Meta…' : 'Connect'}
            </Button>
          </form>
        )}
      </DialogContent>
    </Dialog>
  )
}

function ReplaceToken({ number, onClose }: { number: WaNumber | null; onClose: () => void }) {
  const qc = useQueryClient()
  const [token, setToken] = React.useState('')
  const m = useMutation({
    mutationFn: () => api.patch(`/api/waba/credentials/${number!.id}`, { access_token: token }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['numbers'] })
      setToken('')
      onClose()
    },
  })
  return (
    <Dialog open={!!number} onOpenChange={(o) => !o && onClose()}>
      <DialogContent title={`New access token for ${number?.display_phone_number ?? ''}`} description="Checked with Meta like the first one; held sends go out once it is accepted.">
        <form
          className="grid gap-3"
          onSubmit={(e) => {
            e.preventDefault()
            m.mutate()
          }}
        >
          <Field label="Access token" htmlFor="newtok">
            <Input id="newtok" type="password" minLength={20} required value={token} onChange={(e) => setToken(e.target.value)} />
          </Field>
          <ErrorNote error={m.error} />
          <Button type="submit" disabled={m.isPending || token.length < 20}>
            Replace
          </Button>
        </form>
      </DialogContent>
    </Dialog>
  )
}

// ---- users

function inviteLink(token: string) {
  return `${location.origin}/invite?token=${encodeURIComponent(token)}`
}

function Secret({ user }: { user: UserAdmin }) {
  if (user.invite_token) {
    return (
      <div className="grid gap-2 rounded-md border border-primary/30 bg-primary/5 p-3 text-sm">
        <p>Send {user.name} this link (valid until {user.invite_expires_at ? new Date(user.invite_expires_at).toLocaleString() : '7 days'}); it is shown once.</p>
        <div className="flex gap-2">
          <Input readOnly value={inviteLink(user.invite_token)} aria-label="Invitation link" />
          <CopyButton value={inviteLink(user.invite_token)} />
        </div>
      </div>
    )
  }
  if (user.temporary_password) {
    return (
      <div className="grid gap-2 rounded-md border border-primary/30 bg-primary/5 p-3 text-sm">
        <p>{user.name}'s one-time password, shown once:</p>
        <div className="flex gap-2">
          <Input readOnly value={user.temporary_password} aria-label="One-time password" className="font-mono" />
          <CopyButton value={user.temporary_password} />
        </div>
      </div>
    )
  }
  return null
}

function UsersSection({ me }: { me: User }) {
  const qc = useQueryClient()
  const q = useQuery({ queryKey: ['users'], queryFn: () => api.get<UserList>('/api/users') })
  const [inviting, setInviting] = React.useState(false)
  const [secret, setSecret] = React.useState<UserAdmin | null>(null)
  const update = useMutation({ mutationFn: ({ id, body }: { id: string; body: object }) => api.patch<UserAdmin>(`/api/users/${id}`, body), onSuccess: () => qc.invalidateQueries({ queryKey: ['users'] }) })
  const reset = useMutation({ mutationFn: (id: string) => api.post<UserAdmin>(`/api/users/${id}/reset-password`, { invite: 'link' }), onSuccess: (u) => setSecret(u) })
  const remove = useMutation({ mutationFn: (id: string) => api.del(`/api/users/${id}`), onSuccess: () => qc.invalidateQueries({ queryKey: ['users'] }) })
  const canManage = (u: UserAdmin) => u.id !== me.id && u.role !== 'owner' && (me.role === 'owner' || u.role === 'agent')
  return (
    <>
      <Heading title="Users and roles" action={<Button onClick={() => setInviting(true)}><Plus /> Invite</Button>}>
        Owners manage everything; admins manage agents, numbers, templates and keys; agents work the inbox.
      </Heading>
      {secret ? <div className="mb-4"><Secret user={secret} /></div> : null}
      <ErrorNote error={q.error || update.error || reset.error || remove.error} />
      <Card>
        <ul className="divide-y">
          {q.data?.data.map((u) => (
            <li key={u.id} className="flex flex-wrap items-center gap-3 p-3">
              <Avatar name={u.name} size={36} />
              <div className="min-w-0 flex-1">
                <div className="text-sm font-medium">
                  {u.name} {u.id === me.id ? <span className="text-muted-foreground">(you)</span> : null}
                </div>
                <div className="text-xs text-muted-foreground">
                  {u.email} · {u.last_login_at ? `last seen ${new Date(u.last_login_at).toLocaleDateString()}` : 'never signed in'}
                </div>
              </div>
              {u.disabled ? <Badge variant="danger">disabled</Badge> : null}
              {canManage(u) ? (
                <select
                  aria-label={`Role of ${u.name}`}
                  value={u.role}
                  onChange={(e) => update.mutate({ id: u.id, body: { role: e.target.value } })}
                  className="h-8 rounded-md border bg-background px-2 text-sm"
                  disabled={me.role !== 'owner'}
                >
                  <option value="admin">admin</option>
                  <option value="agent">agent</option>
                </select>
              ) : (
                <Badge variant="outline">{u.role}</Badge>
              )}
              {canManage(u) ? (
                <div className="flex gap-1">
                  <Button variant="outline" size="sm" onClick={() => reset.mutate(u.id)}>
                    Reset password
                  </Button>
                  <Button variant="outline" size="sm" onClick={() => update.mutate({ id: u.id, body: { disabled: !u.disabled } })}>
                    {u.disabled ? 'Enable' : 'Disable'}
                  </Button>
                  <Button variant="ghost" size="iconSm" aria-label={`Delete ${u.name}`} onClick={() => confirm(`Delete ${u.name}?`) && remove.mutate(u.id)}>
                    <Trash2 />
                  </Button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      </Card>
      <Invite open={inviting} onOpenChange={setInviting} />
    </>
  )
}

function Invite({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const qc = useQueryClient()
  const [f, setF] = React.useState({ name: '', email: '', role: 'agent', invite: 'link' })
  const [made, setMade] = React.useState<UserAdmin | null>(null)
  const m = useMutation({
    mutationFn: () => api.post<UserAdmin>('/api/users', f),
    onSuccess: (u) => {
      setMade(u)
      void qc.invalidateQueries({ queryKey: ['users'] })
    },
  })
  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        onOpenChange(o)
        if (!o) {
          setMade(null)
          setF({ name: '', email: '', role: 'agent', invite: 'link' })
          m.reset()
        }
      }}
    >
      <DialogContent title={made ? 'Invitation made' : 'Invite a teammate'}>
        {made ? (
          <div className="grid gap-3">
            <Secret user={made} />
            <Button onClick={() => onOpenChange(false)}>Done</Button>
          </div>
        ) : (
          <form
            className="grid gap-3"
            onSubmit={(e) => {
              e.preventDefault()
              m.mutate()
            }}
          >
            <Field label="Name" htmlFor="inv-name">
              <Input id="inv-name" required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} />
            </Field>
            <Field label="Email" htmlFor="inv-email">
              <Input id="inv-email" type="email" required value={f.email} onChange={(e) => setF({ ...f, email: e.target.value })} />
            </Field>
            <Field label="Role" htmlFor="inv-role">
              <select id="inv-role" value={f.role} onChange={(e) => setF({ ...f, role: e.target.value })} className="h-9 rounded-md border bg-background px-2 text-sm">
                <option value="agent">Agent: works the inbox</option>
                <option value="admin">Admin: also numbers, templates, users, keys</option>
              </select>
            </Field>
            <fieldset className="grid gap-1 text-sm">
              <legend className="mb-1 text-sm font-medium">How they sign in first</legend>
              <label className="flex items-center gap-2">
                <input type="radio" name="invite" checked={f.invite === 'link'} onChange={() => setF({ ...f, invite: 'link' })} /> An invitation link (they choose a password)
              </label>
              <label className="flex items-center gap-2">
                <input type="radio" name="invite" checked={f.invite === 'password'} onChange={() => setF({ ...f, invite: 'password' })} /> A one-time password
              </label>
            </fieldset>
            <ErrorNote error={m.error} />
            <Button type="submit" disabled={m.isPending}>
              Invite
            </Button>
          </form>
        )}
      </DialogContent>
    </Dialog>
  )
}

// ---- API keys

function ApiKeys() {
  const qc = useQueryClient()
  const q = useQuery({ queryKey: ['api-keys'], queryFn: () => api.get<APIKeyList>('/api/api-keys') })
  const [name, setName] = React.useState('')
  const [made, setMade] = React.useState<APIKey | null>(null)
  const create = useMutation({
    mutationFn: () => api.post<APIKey>('/api/api-keys', { name }),
    onSuccess: (k) => {
      setMade(k)
      setName('')
      void qc.invalidateQueries({ queryKey: ['api-keys'] })
    },
  })
  const revoke = useMutation({ mutationFn: (id: string) => api.del(`/api/api-keys/${id}`), onSuccess: () => qc.invalidateQueries({ queryKey: ['api-keys'] }) })
  return (
    <>
      <Heading title="API keys">
        Keys act as admins of this workspace for the <a className="text-primary underline" href="/api-docs">HTTP API</a>. A key's secret is shown once, when it is made.
      </Heading>
      <Card className="mb-4 p-4">
        <form
          className="flex flex-wrap items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault()
            create.mutate()
          }}
        >
          <div className="min-w-48 flex-1">
            <Field label="Name" htmlFor="key-name">
              <Input id="key-name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. CRM sync" />
            </Field>
          </div>
          <Button type="submit" disabled={create.isPending || !name.trim()}>
            <Plus /> Create key
          </Button>
        </form>
        {made?.key ? (
          <div className="mt-4 grid gap-2 rounded-md border border-primary/30 bg-primary/5 p-3 text-sm" role="status">
            <p>
              The secret of <strong>{made.name}</strong>. Copy it now: it will not be shown again.
            </p>
            <div className="flex gap-2">
              <Input readOnly value={made.key} aria-label="API key secret" className="font-mono" data-testid="api-key-secret" />
              <CopyButton value={made.key} />
            </div>
          </div>
        ) : null}
        <ErrorNote error={create.error || revoke.error} />
      </Card>
      <Card>
        <ul className="divide-y">
          {q.data?.data.length === 0 ? <li className="p-4 text-sm text-muted-foreground">No keys yet.</li> : null}
          {q.data?.data.map((k) => (
            <li key={k.id} className="flex flex-wrap items-center gap-3 p-3 text-sm">
              <KeyRound className="size-4 text-muted-foreground" />
              <div className="min-w-0 flex-1">
                <div className="font-medium">{k.name}</div>
                <div className="font-mono text-xs text-muted-foreground">
                  {k.prefix}… · made {new Date(k.created_at).toLocaleDateString()} · {k.last_used_at ? `used ${new Date(k.last_used_at).toLocaleString()}` : 'never used'}
                </div>
              </div>
              {k.revoked_at ? (
                <Badge variant="danger">revoked</Badge>
              ) : (
                <Button variant="outline" size="sm" onClick={() => confirm(`Revoke ${k.name}? Programs using it stop working.`) && revoke.mutate(k.id)}>
                  Revoke
                </Button>
              )}
            </li>
          ))}
        </ul>
      </Card>
    </>
  )
}

// ---- canned replies

function CannedReplies({ admin }: { admin: boolean }) {
  const qc = useQueryClient()
  const q = useQuery({ queryKey: ['canned-replies'], queryFn: () => api.get<CannedReplyList>('/api/canned-replies'), retry: false })
  const [edit, setEdit] = React.useState<Partial<Canned> | null>(null)
  const save = useMutation({
    mutationFn: (c: Partial<Canned>) => (c.id ? api.patch(`/api/canned-replies/${c.id}`, { shortcut: c.shortcut, text: c.text }) : api.post('/api/canned-replies', { shortcut: c.shortcut, text: c.text })),
    onSuccess: () => {
      setEdit(null)
      void qc.invalidateQueries({ queryKey: ['canned-replies'] })
    },
  })
  const remove = useMutation({ mutationFn: (id: string) => api.del(`/api/canned-replies/${id}`), onSuccess: () => qc.invalidateQueries({ queryKey: ['canned-replies'] }) })
  return (
    <>
      <Heading title="Canned replies" action={admin ? <Button onClick={() => setEdit({ shortcut: '', text: '' })}><Plus /> New reply</Button> : null}>
        Type “/” and the shortcut in the composer. Variables: <code>{'{{contact.name}}'}</code>, <code>{'{{contact.phone}}'}</code>, <code>{'{{contact.wa_id}}'}</code>, <code>{'{{agent.name}}'}</code>, <code>{'{{tenant.name}}'}</code>.
      </Heading>
      {q.error ? <ErrorNote error={q.error instanceof ApiError && q.error.status === 404 ? new Error('This server has no canned replies API yet.') : q.error} /> : null}
      <Card>
        <ul className="divide-y">
          {q.data?.data.length === 0 ? <li className="p-4 text-sm text-muted-foreground">No canned replies yet.</li> : null}
          {q.data?.data.map((c) => (
            <li key={c.id} className="flex items-start gap-3 p-3 text-sm">
              <code className="rounded bg-muted px-1.5 py-0.5 text-xs">/{c.shortcut}</code>
              <p className="flex-1 whitespace-pre-wrap">{c.text}</p>
              {admin ? (
                <>
                  <Button variant="outline" size="sm" onClick={() => setEdit(c)}>
                    Edit
                  </Button>
                  <Button variant="ghost" size="iconSm" aria-label={`Delete /${c.shortcut}`} onClick={() => remove.mutate(c.id)}>
                    <Trash2 />
                  </Button>
                </>
              ) : null}
            </li>
          ))}
        </ul>
      </Card>
      <Dialog open={!!edit} onOpenChange={(o) => !o && setEdit(null)}>
        <DialogContent title={edit?.id ? 'Edit canned reply' : 'New canned reply'}>
          <form
            className="grid gap-3"
            onSubmit={(e) => {
              e.preventDefault()
              if (edit) save.mutate(edit)
            }}
          >
            <Field label="Shortcut" htmlFor="cr-short" hint="Lower-case letters, digits, - and _.">
              <Input id="cr-short" required maxLength={33} pattern="/?[a-z0-9_-]+" value={edit?.shortcut ?? ''} onChange={(e) => setEdit({ ...edit, shortcut: e.target.value })} />
            </Field>
            <Field label="Text" htmlFor="cr-text">
              <Textarea id="cr-text" required rows={5} value={edit?.text ?? ''} onChange={(e) => setEdit({ ...edit, text: e.target.value })} />
            </Field>
            <ErrorNote error={save.error} />
            <Button type="submit" disabled={save.isPending}>
              Save
            </Button>
          </form>
        </DialogContent>
      </Dialog>
    </>
  )
}

// ---- templates

function statusVariant(s: string) {
  return s === 'APPROVED' ? 'success' : s === 'REJECTED' || s === 'DISABLED' ? 'danger' : 'warning'
}

function Templates({ admin }: { admin: boolean }) {
  const qc = useQueryClient()
  const q = useQuery({ queryKey: ['templates', 'all'], queryFn: () => api.get<TemplatePage>('/api/templates', { limit: 200 }) })
  const [creating, setCreating] = React.useState(false)
  const sync = useMutation({
    mutationFn: () => api.post<TemplateSync>('/api/templates/sync'),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['templates'] }),
  })
  return (
    <>
      <Heading
        title="Templates"
        action={
          admin ? (
            <div className="flex gap-2">
              <Button variant="outline" onClick={() => sync.mutate()} disabled={sync.isPending}>
                <RefreshCw className={sync.isPending ? 'animate-spin' : ''} /> Sync from Meta
              </Button>
              <Button onClick={() => setCreating(true)}>
                <Plus /> New template
              </Button>
            </div>
          ) : null
        }
      >
        Messages Meta approved in advance: the only ones you may send outside the 24-hour window.
      </Heading>
      {sync.data ? (
        <p className="mb-3 text-sm text-muted-foreground" role="status">
          {sync.data.done ? 'Synced' : 'Syncing'}: {sync.data.wabas.map((w) => `${w.waba_id} ${w.error ? `failed (${w.error})` : `${w.templates} templates`}`).join(', ')}
        </p>
      ) : null}
      <ErrorNote error={q.error || sync.error} />
      <div className="grid items-start gap-3 md:grid-cols-2">
        {q.data?.data.map((t) => (
          <Card key={t.id + t.language} className="grid gap-2 p-4">
            <div className="flex items-center gap-2">
              <span className="font-medium">{t.name}</span>
              <span className="text-xs text-muted-foreground">{t.language}</span>
              <Badge variant={statusVariant(t.status)} className="ml-auto">
                {t.status.toLowerCase()}
              </Badge>
            </div>
            <span className="text-xs text-muted-foreground">{t.category.toLowerCase() || 'not listed yet'}</span>
            {t.rejected_reason && t.rejected_reason !== 'NONE' ? <p className="text-xs text-destructive">Rejected: {t.rejected_reason}</p> : null}
            <div className="rounded-md bg-chat p-3">
              <div className="max-w-[90%] rounded-2xl rounded-bl-md bg-bubble-in px-3 py-2 text-sm shadow-sm">
                <TemplateBody content={{ name: t.name, components: [] }} template={t} />
              </div>
            </div>
          </Card>
        ))}
      </div>
      <CreateTemplate open={creating} onOpenChange={setCreating} />
    </>
  )
}

function CreateTemplate({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const qc = useQueryClient()
  const [f, setF] = React.useState({ name: '', language: 'en_US', category: 'UTILITY', header: '', body: '', footer: '', buttons: '' })
  const vars = variables(f.body)
  const [examples, setExamples] = React.useState<Record<string, string>>({})
  const components: Record<string, unknown>[] = []
  if (f.header) components.push({ type: 'HEADER', format: 'TEXT', text: f.header })
  components.push({ type: 'BODY', text: f.body, ...(vars.length ? { example: { body_text: [vars.map((v) => examples[v] || v)] } } : {}) })
  if (f.footer) components.push({ type: 'FOOTER', text: f.footer })
  const buttons = f.buttons.split(',').map((b) => b.trim()).filter(Boolean)
  if (buttons.length) components.push({ type: 'BUTTONS', buttons: buttons.map((text) => ({ type: 'QUICK_REPLY', text })) })
  const m = useMutation({
    mutationFn: () => api.post<Template>('/api/templates', { name: f.name, language: f.language, category: f.category as CreateTemplateRequest['category'], components: components as CreateTemplateRequest['components'] }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['templates'] })
      onOpenChange(false)
    },
  })
  const preview: Template = { id: 'preview', waba_id: '', name: f.name, language: f.language, status: 'PENDING', category: f.category, components, rejected_reason: '', updated_at: '' }
  const params = vars.map((v) => ({ type: 'text', text: examples[v] || `{{${v}}}`, parameter_name: /^\d+$/.test(v) ? undefined : v }))
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title="New template" description="Sent to Meta for review; it can be used once Meta approves it." wide>
        <div className="grid gap-5 md:grid-cols-2">
          <form
            className="grid content-start gap-3"
            onSubmit={(e) => {
              e.preventDefault()
              m.mutate()
            }}
          >
            <Field label="Name" htmlFor="tn" hint="Lower-case letters, digits and _.">
              <Input id="tn" required pattern="[a-z0-9_]+" value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} />
            </Field>
            <div className="grid grid-cols-2 gap-2">
              <Field label="Language" htmlFor="tl">
                <Input id="tl" required pattern="[a-z]{2,3}(_[A-Za-z]{2,4})?" value={f.language} onChange={(e) => setF({ ...f, language: e.target.value })} />
              </Field>
              <Field label="Category" htmlFor="tc">
                <select id="tc" value={f.category} onChange={(e) => setF({ ...f, category: e.target.value })} className="h-9 rounded-md border bg-background px-2 text-sm">
                  <option>UTILITY</option>
                  <option>MARKETING</option>
                  <option>AUTHENTICATION</option>
                </select>
              </Field>
            </div>
            <Field label="Header (optional)" htmlFor="th">
              <Input id="th" maxLength={60} value={f.header} onChange={(e) => setF({ ...f, header: e.target.value })} />
            </Field>
            <Field label="Body" htmlFor="tb" hint="Variables as {{1}}, {{2}}…">
              <Textarea id="tb" required rows={4} maxLength={1024} value={f.body} onChange={(e) => setF({ ...f, body: e.target.value })} />
            </Field>
            {vars.map((v) => (
              <Field key={v} label={`Example for {{${v}}}`} htmlFor={`ex-${v}`}>
                <Input id={`ex-${v}`} required value={examples[v] ?? ''} onChange={(e) => setExamples({ ...examples, [v]: e.target.value })} />
              </Field>
            ))}
            <Field label="Footer (optional)" htmlFor="tf">
              <Input id="tf" maxLength={60} value={f.footer} onChange={(e) => setF({ ...f, footer: e.target.value })} />
            </Field>
            <Field label="Quick-reply buttons (optional, comma-separated)" htmlFor="tbtn">
              <Input id="tbtn" value={f.buttons} onChange={(e) => setF({ ...f, buttons: e.target.value })} />
            </Field>
            <ErrorNote error={m.error} />
            <Button type="submit" disabled={m.isPending || !f.body.trim() || !f.name}>
              Submit for review
            </Button>
          </form>
          <div className="rounded-lg bg-chat p-4">
            <p className="mb-2 text-xs font-medium text-muted-foreground">Preview</p>
            <div className="max-w-[90%] rounded-2xl rounded-bl-md bg-bubble-in px-3 py-2 text-sm shadow-sm">
              <TemplateBody content={{ name: f.name, components: [{ type: 'body', parameters: params }] }} template={preview} />
            </div>
          </div>
        </div>
      </DialogContent>
    </Dialog>
  )
}

// ---- branding

function Branding() {
  const qc = useQueryClient()
  const q = useQuery({ queryKey: ['tenant'], queryFn: () => api.get<Tenant>('/api/tenant') })
  const [f, setF] = React.useState<{ name: string; app_name: string; logo_url: string; primary_color: string; accent_color: string; theme: '' | 'light' | 'dark' } | null>(null)
  React.useEffect(() => {
    if (q.data && !f) {
      const b = q.data.branding
      setF({ name: q.data.name, app_name: b.app_name ?? '', logo_url: b.logo_url ?? '', primary_color: b.primary_color ?? '', accent_color: b.accent_color ?? '', theme: b.theme ?? '' })
    }
  }, [q.data, f])
  const save = useMutation({
    mutationFn: () => {
      const branding = Object.fromEntries(Object.entries({ app_name: f!.app_name, logo_url: f!.logo_url, primary_color: f!.primary_color, accent_color: f!.accent_color, theme: f!.theme }).filter(([, v]) => v))
      return api.put<Tenant>('/api/tenant', { name: f!.name, branding })
    },
    onSuccess: (t) => {
      qc.setQueryData(['tenant'], t)
      applyBranding(t.branding, t.name)
    },
  })
  if (!f) return <ErrorNote error={q.error} />
  const colorOk = (c: string) => !c || /^#[0-9a-fA-F]{6}$/.test(c)
  return (
    <>
      <Heading title="Branding">Your name, logo and colours, for everyone in this workspace.</Heading>
      <form
        className="grid max-w-xl gap-4"
        onSubmit={(e) => {
          e.preventDefault()
          save.mutate()
        }}
      >
        <Field label="Workspace name" htmlFor="bn">
          <Input id="bn" required maxLength={200} value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} />
        </Field>
        <Field label="App name" htmlFor="ban" hint="Shown in the tab title and the sidebar.">
          <Input id="ban" maxLength={60} value={f.app_name} onChange={(e) => setF({ ...f, app_name: e.target.value })} />
        </Field>
        <Field label="Logo URL" htmlFor="bl" hint="https, square, at least 64 px.">
          <Input id="bl" type="url" value={f.logo_url} onChange={(e) => setF({ ...f, logo_url: e.target.value })} />
        </Field>
        <div className="grid grid-cols-2 gap-3">
          {(['primary_color', 'accent_color'] as const).map((k) => (
            <Field key={k} label={k === 'primary_color' ? 'Primary colour' : 'Accent colour (your bubbles)'} htmlFor={k} error={colorOk(f[k]) ? undefined : 'A colour as #rrggbb.'}>
              <div className="flex gap-2">
                <input type="color" aria-label={`${k} picker`} value={f[k] || '#0f766e'} onChange={(e) => setF({ ...f, [k]: e.target.value })} className="h-9 w-12 cursor-pointer rounded-md border bg-background" />
                <Input id={k} value={f[k]} placeholder="#0f766e" onChange={(e) => setF({ ...f, [k]: e.target.value })} aria-invalid={!colorOk(f[k])} />
              </div>
            </Field>
          ))}
        </div>
        <Field label="Default theme" htmlFor="bt" hint="Each person can still switch for themselves.">
          <select id="bt" value={f.theme} onChange={(e) => setF({ ...f, theme: e.target.value as '' | 'light' | 'dark' })} className="h-9 rounded-md border bg-background px-2 text-sm">
            <option value="">Follow the device</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </Field>
        <ErrorNote error={save.error} />
        {save.isSuccess ? <p className="text-sm text-emerald-600" role="status">Saved: applied for everyone.</p> : null}
        <Button type="submit" disabled={save.isPending || !colorOk(f.primary_color) || !colorOk(f.accent_color)} className="justify-self-start">
          Save
        </Button>
      </form>
    </>
  )
}
