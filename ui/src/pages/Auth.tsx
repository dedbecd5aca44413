import * as React from 'react'
import { MessageCircle } from 'lucide-react'
import { ApiError, signIn } from '@/api/client'
import { Link, navigate, useLocation } from '@/lib/router'
import { Button } from '@/components/ui/button'
import { Field, Input } from '@/components/ui/input'

function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return 'That email and password do not match an account.'
    if (err.status === 429) return 'Too many attempts. Wait a minute and try again.'
    if (err.status === 409) return 'An account with this email exists already. Log in instead.'
    return err.message
  }
  return 'The server could not be reached. Check your connection and try again.'
}

export function AuthPage() {
  const { pathname, search } = useLocation()
  const mode = pathname.startsWith('/signup') ? 'signup' : pathname.startsWith('/invite') ? 'invite' : 'login'
  return (
    <div className="grid min-h-full lg:grid-cols-2">
      <div className="hidden flex-col justify-between bg-sidebar p-10 text-white lg:flex">
        <div className="flex items-center gap-2 text-lg font-semibold">
          <span className="grid size-8 place-items-center rounded-lg bg-teal-600">
            <MessageCircle className="size-5" />
          </span>
          wam
        </div>
        <div className="max-w-md">
          <p className="text-3xl font-semibold leading-tight">Every WhatsApp conversation of your business, in one fast, shared inbox.</p>
          <p className="mt-4 text-white/70">Live to the second, never a message lost or sent twice, templates when the 24-hour window has closed.</p>
        </div>
        <p className="text-xs text-white/50">WhatsApp Cloud API · multi-number · multi-agent</p>
      </div>
      <div className="flex items-center justify-center p-6">
        <div className="w-full max-w-sm">
          {mode === 'login' ? <Login next={search.get('next')} /> : mode === 'signup' ? <Signup /> : <Invite token={search.get('token') ?? pathname.split('/')[2] ?? ''} />}
        </div>
      </div>
    </div>
  )
}

export function useSubmit(fn: () => Promise<void>, text: (err: unknown) => string = errorText) {
  const [busy, setBusy] = React.useState(false)
  const [error, setError] = React.useState('')
  const submit = async (e: React.FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError('')
    try {
      await fn()
    } catch (err) {
      setError(text(err))
    } finally {
      setBusy(false)
    }
  }
  return { busy, error, submit }
}

function Login({ next }: { next: string | null }) {
  const [email, setEmail] = React.useState('')
  const [password, setPassword] = React.useState('')
  const { busy, error, submit } = useSubmit(async () => {
    await signIn('/api/auth/login', { email, password })
    navigate(next && next.startsWith('/') ? next : '/inbox', { replace: true })
  })
  return (
    <form onSubmit={submit} className="grid gap-4" aria-labelledby="login-title">
      <div>
        <h1 id="login-title" className="text-2xl font-semibold">
          Log in
        </h1>
        <p className="text-sm text-muted-foreground">Welcome back. Your conversations are waiting.</p>
      </div>
      <Credentials email={email} setEmail={setEmail} password={password} setPassword={setPassword} error={error} busy={busy} label="Log in" busyLabel="Logging in…" />
      <p className="text-center text-sm text-muted-foreground">
        New to wam?{' '}
        <Link to="/signup" className="font-medium text-primary underline-offset-4 hover:underline">
          Create an account
        </Link>
      </p>
    </form>
  )
}

/** Credentials are a sign-in's email and password, its error and its button (the operators' sign-in too). */
export function Credentials({ idPrefix = '', email, setEmail, password, setPassword, error, busy, label, busyLabel }: { idPrefix?: string; email: string; setEmail: (v: string) => void; password: string; setPassword: (v: string) => void; error: string; busy: boolean; label: string; busyLabel: string }) {
  return (
    <>
      <Field label="Email" htmlFor={`${idPrefix}email`}>
        <Input id={`${idPrefix}email`} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
      </Field>
      <Field label="Password" htmlFor={`${idPrefix}password`}>
        <Input id={`${idPrefix}password`} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
      </Field>
      {error ? (
        <p role="alert" className="rounded-md bg-destructive/10 px-3 py-2 text-sm text-destructive">
          {error}
        </p>
      ) : null}
      <Button type="submit" disabled={busy}>
        {busy ? busyLabel : label}
      </Button>
    </>
  )
}

function Signup() {
  const [f, setF] = React.useState({ tenant_name: '', name: '', email: '', password: '' })
  const set = (k: keyof typeof f) => (e: React.ChangeEvent<HTMLInputElement>) => setF({ ...f, [k]: e.target.value })
  const short = f.password.length > 0 && f.password.length < 10
  const { busy, error, submit } = useSubmit(async () => {
    await signIn('/api/auth/register', f)
    navigate('/settings/numbers', { replace: true })
  })
  return (
    <form onSubmit={submit} className="grid gap-4" aria-labelledby="signup-title">
      <div>
        <h1 id="signup-title" className="text-2xl font-semibold">
          Create your workspace
        </h1>
        <p className="text-sm text-muted-foreground">You will be its owner; invite your team next.</p>
      </div>
      <Field label="Business name" htmlFor="tenant">
        <Input id="tenant" required maxLength={200} value={f.tenant_name} onChange={set('tenant_name')} autoFocus />
      </Field>
      <Field label="Your name" htmlFor="name">
        <Input id="name" required maxLength={200} autoComplete="name" value={f.name} onChange={set('name')} />
      </Field>
      <Field label="Email" htmlFor="email">
        <Input id="email" type="email" required autoComplete="email" value={f.email} onChange={set('email')} />
      </Field>
      <Field label="Password" htmlFor="password" hint="At least 10 characters." error={short ? 'At least 10 characters.' : undefined}>
        <Input id="password" type="password" required minLength={10} autoComplete="new-password" aria-invalid={short} value={f.password} onChange={set('password')} />
      </Field>
      {error ? (
        <p role="alert" className="rounded-md bg-destructive/10 px-3 py-2 text-sm text-destructive">
          {error}
        </p>
      ) : null}
      <Button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create account'}
      </Button>
      <p className="text-center text-sm text-muted-foreground">
        Have an account?{' '}
        <Link to="/login" className="font-medium text-primary underline-offset-4 hover:underline">
          Log in
        </Link>
      </p>
    </form>
  )
}

function Invite({ token }: { token: string }) {
  const [password, setPassword] = React.useState('')
  const [again, setAgain] = React.useState('')
  const mismatch = again.length > 0 && again !== password
  const { busy, error, submit } = useSubmit(async () => {
    if (password !== again) throw new Error('The passwords differ.')
    await signIn('/api/auth/accept-invite', { token, password })
    navigate('/inbox', { replace: true })
  })
  return (
    <form onSubmit={submit} className="grid gap-4" aria-labelledby="invite-title">
      <div>
        <h1 id="invite-title" className="text-2xl font-semibold">
          Join your team
        </h1>
        <p className="text-sm text-muted-foreground">Choose a password to accept the invitation.</p>
      </div>
      {!token ? (
        <p role="alert" className="text-sm text-destructive">
          This link has no invitation token. Ask for a new invitation link.
        </p>
      ) : null}
      <Field label="Password" htmlFor="password" hint="At least 10 characters.">
        <Input id="password" type="password" required minLength={10} autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} autoFocus />
      </Field>
      <Field label="Password again" htmlFor="again" error={mismatch ? 'The passwords differ.' : undefined}>
        <Input id="again" type="password" required autoComplete="new-password" aria-invalid={mismatch} value={again} onChange={(e) => setAgain(e.target.value)} />
      </Field>
      {error ? (
        <p role="alert" className="rounded-md bg-destructive/10 px-3 py-2 text-sm text-destructive">
          {error === 'The server could not be reached. Check your connection and try again.' && password !== again ? 'The passwords differ.' : error}
        </p>
      ) : null}
      <Button type="submit" disabled={busy || !token}>
        {busy ? 'Joining…' : 'Accept invitation'}
      </Button>
    </form>
  )
}
