import * as React from 'react'
import { useInfiniteQuery, useQuery } from '@tanstack/react-query'
import { Activity, Hammer, LogOut, Moon, PackageX, RotateCcw, ScrollText, ServerCog, Sun, Webhook } from 'lucide-react'
import { ApiError } from '@/api/client'
import { opsApi, opsAuth, opsSignIn } from '@/api/ops'
import type { Operator, OpsAuditPage, OpsStats } from '@/api/types'
import { ParkedList } from '@/components/history/Parked'
import { ReplayJobs } from '@/components/history/Replays'
import type { Scope } from '@/components/history/scope'
import { TabNav, type Tab } from '@/components/history/TabNav'
import { WebhookList } from '@/components/history/WebhookList'
import { when } from '@/components/history/bits'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Card, ErrorNote, Heading, LoadMore } from '@/components/ui/section'
import { Link, match, navigate, useLocation } from '@/lib/router'
import { applyBranding, resolvedTheme, setTheme, themePref } from '@/lib/theme'
import { useStore } from '@/lib/store'
import { Rebuilds } from './OpsRebuild'
import { Stats } from './OpsStats'
import { Credentials, useSubmit } from './Auth'

// The operators' console (/ops): every tenant's history, replays, online
// rebuilds, parked events, health, and the operators' audit log. Its
// sign-in is its own (api/ops.ts); /ops/login is its only page without one.

const scope: Scope = { client: opsApi, operator: true, webhooks: '/api/ops/webhooks', replays: '/api/ops/replays', parked: '/api/ops/parked', page: '/ops' }

const TABS: (Tab & { intro: string })[] = [
  { id: 'webhooks', label: 'Webhooks', icon: Webhook, intro: 'Every webhook of every tenant, and those no tenant owns, as stored.' },
  { id: 'replays', label: 'Replays', icon: RotateCcw, intro: 'Jobs that apply stored webhooks again through the projector, or adopt unrouted ones. To replay what a filtered list shows, use “Replay these…” under Webhooks.' },
  { id: 'rebuild', label: 'Rebuild', icon: Hammer, intro: 'Build the read models again from the stream, online: the API answers from the current ones until the swap.' },
  { id: 'parked', label: 'Parked', icon: PackageX, intro: 'Events a projector could not apply: retry them after a fix, or discard one with a reason (audited; the event stays in the stream).' },
  { id: 'stats', label: 'Stats', icon: Activity, intro: 'The stream and the workers, sampled every 2 seconds while this page is open.' },
  { id: 'audit', label: 'Audit log', icon: ScrollText, intro: 'What operators did, newest first.' },
]

function useOperator(): Operator | null {
  return React.useSyncExternalStore(
    (l) => opsAuth.subscribe(l),
    () => opsAuth.operator,
  )
}

export default function Ops() {
  const { pathname, search } = useLocation()
  const operator = useOperator()
  const login = pathname === '/ops/login'
  // The installation's look, not the last tenant's branding.
  React.useEffect(() => {
    applyBranding(undefined)
  }, [])
  React.useEffect(() => {
    if (!operator && !login) navigate(`/ops/login?next=${encodeURIComponent(pathname + (search.toString() ? `?${search}` : ''))}`, { replace: true })
    if (operator && (login || pathname === '/ops')) {
      const next = search.get('next')
      navigate(next && next.startsWith('/ops/') && !next.startsWith('/ops/login') ? next : '/ops/webhooks', { replace: true })
    }
  }, [operator, login, pathname, search])
  // The token lasts 15 minutes and is not refreshed: the console signs out when it ends.
  React.useEffect(() => {
    if (!operator) return
    const t = setTimeout(() => opsAuth.clear(), Math.max(0, opsAuth.expiresAt - Date.now()))
    return () => clearTimeout(t)
  }, [operator])
  if (!operator || login) return <OpsLogin />
  const tab = match('/ops/:tab?', pathname)?.tab ?? 'webhooks'
  return <Console operator={operator} tab={tab} />
}

function opsErrorText(err: unknown): string {
  if (err instanceof ApiError && err.status === 401) return 'That email and password do not match an operator account. Workspace accounts (owners, admins, agents) cannot open the operator console.'
  if (err instanceof ApiError && err.status === 429) return 'Too many attempts. Wait a minute and try again.'
  return err instanceof ApiError ? err.message : 'The server could not be reached. Check your connection and try again.'
}

function OpsLogin() {
  const { search } = useLocation()
  const [email, setEmail] = React.useState('')
  const [password, setPassword] = React.useState('')
  const { busy, error, submit } = useSubmit(async () => {
    await opsSignIn(email, password)
  }, opsErrorText)
  const tenantSession = React.useMemo(() => {
    try {
      return !!localStorage.getItem('wam.refresh')
    } catch {
      return false
    }
  }, [])
  return (
    <div className="grid min-h-full place-items-center bg-muted/40 p-6">
      <form onSubmit={submit} className="grid w-full max-w-sm gap-4 rounded-lg border bg-card p-6 shadow-sm" aria-labelledby="ops-login-title">
        <div>
          <div className="mb-3 grid size-10 place-items-center rounded-lg bg-sidebar text-white">
            <ServerCog className="size-5" aria-hidden />
          </div>
          <h1 id="ops-login-title" className="text-2xl font-semibold">
            Operator sign-in
          </h1>
          <p className="text-sm text-muted-foreground">The console of the people who run this wam installation. Operators only: accounts are made with <code>wam operator create</code>.</p>
        </div>
        {tenantSession ? (
          <p role="note" data-testid="tenant-session-note" className="rounded-md border border-amber-500/40 bg-amber-500/10 px-3 py-2 text-sm">
            You are signed in to a workspace in this browser. That account cannot open the operator console: sign in with an operator account, or{' '}
            <Link to="/inbox" className="font-medium underline underline-offset-2">
              go back to your inbox
            </Link>
            .
          </p>
        ) : null}
        {search.get('next') && !tenantSession ? <p className="text-sm text-muted-foreground">Sign in to continue. Operator sessions last 15 minutes.</p> : null}
        <Credentials idPrefix="ops-" email={email} setEmail={setEmail} password={password} setPassword={setPassword} error={error} busy={busy} label="Sign in" busyLabel="Signing in…" />
      </form>
    </div>
  )
}

function useMinutesLeft(): number {
  const [now, setNow] = React.useState(Date.now())
  React.useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 15_000)
    return () => clearInterval(t)
  }, [])
  return Math.max(0, Math.ceil((opsAuth.expiresAt - now) / 60_000))
}

function Console({ operator, tab }: { operator: Operator; tab: string }) {
  useStore(themePref)
  const dark = resolvedTheme() === 'dark'
  const left = useMinutesLeft()
  const current = TABS.find((t) => t.id === tab) ?? TABS[0]
  // Tenant ids to suggest in the filters: those the stream has events of.
  const stats = useQuery({ queryKey: ['ops', 'stats', 'tenants'], queryFn: () => opsApi.get<OpsStats>('/api/ops/stats'), enabled: current.id === 'webhooks' || current.id === 'replays' || current.id === 'rebuild' })
  const tenants = React.useMemo(() => Object.keys(stats.data?.stream.tenants ?? {}).filter((t) => !t.startsWith('_')).sort(), [stats.data])
  React.useEffect(() => {
    document.title = `${current.label} · wam operators`
  }, [current.label])
  return (
    <div className="flex h-full flex-col">
      <header className="flex items-center gap-x-3 bg-sidebar px-4 py-2 text-white">
        <div className="flex items-center gap-2 font-semibold">
          <span className="grid size-8 place-items-center rounded-lg bg-white/10">
            <ServerCog className="size-4" aria-hidden />
          </span>
          wam operators
        </div>
        <span className="flex-1" />
        <span className="hidden text-xs text-white/70 sm:inline" data-testid="ops-session">
          {operator.email} · session ends in {left} min
        </span>
        <button onClick={() => setTheme(dark ? 'light' : 'dark')} aria-label={dark ? 'Switch to light mode' : 'Switch to dark mode'} className="grid size-8 place-items-center rounded-md text-white/70 hover:bg-white/10 hover:text-white">
          {dark ? <Sun className="size-4" /> : <Moon className="size-4" />}
        </button>
        <Button
          variant="ghost"
          size="sm"
          className="text-white/80 hover:bg-white/10 hover:text-white"
          onClick={() => {
            opsAuth.clear()
            navigate('/ops/login')
          }}
        >
          <LogOut /> <span className="sr-only sm:not-sr-only">Sign out</span>
        </Button>
      </header>
      <div className="border-b bg-card px-2 py-2 md:px-6">
        <TabNav tabs={TABS} current={current.id} base="/ops" label="Operator console" />
      </div>
      <main className="min-h-0 flex-1 overflow-y-auto">
        <div className="mx-auto max-w-6xl p-4 md:p-8">
          <Heading title={current.label} level={1}>
            {current.intro}
          </Heading>
          {current.id === 'webhooks' ? <WebhookList scope={scope} tenants={tenants} /> : null}
          {current.id === 'replays' ? <ReplayJobs scope={scope} tenants={tenants} /> : null}
          {current.id === 'rebuild' ? <Rebuilds tenants={tenants} /> : null}
          {current.id === 'parked' ? <ParkedList scope={scope} /> : null}
          {current.id === 'stats' ? <Stats /> : null}
          {current.id === 'audit' ? <AuditLog /> : null}
        </div>
      </main>
    </div>
  )
}

function AuditLog() {
  const q = useInfiniteQuery({
    queryKey: ['ops', 'audit'],
    queryFn: ({ pageParam }) => opsApi.get<OpsAuditPage>('/api/ops/audit-log', { cursor: pageParam || undefined, limit: 50 }),
    initialPageParam: '',
    getNextPageParam: (p) => p.next_cursor || undefined,
  })
  const rows = q.data?.pages.flatMap((p) => p.data) ?? []
  return (
    <>
      <div className="mb-4 flex justify-end">
        <Button variant="outline" onClick={() => void q.refetch()} disabled={q.isFetching}>
          Refresh
        </Button>
      </div>
      <ErrorNote error={q.error} />
      <Card>
        <ul aria-label="Audit log" className="divide-y">
          {q.isPending ? <li className="p-4 text-sm text-muted-foreground">Loading…</li> : null}
          {rows.map((e) => (
            <li key={e.id} className="grid gap-1 px-4 py-3 text-sm" data-audit={e.action}>
              <div className="flex flex-wrap items-center gap-2">
                <Badge variant={e.action.includes('failed') ? 'danger' : 'outline'}>{e.action}</Badge>
                <span className="text-muted-foreground">{when.format(new Date(e.at))}</span>
                {e.target ? <span className="min-w-0 truncate font-mono text-xs">{e.target}</span> : null}
              </div>
              <div className="flex flex-wrap gap-x-3 text-xs text-muted-foreground">
                <span>operator {e.operator_id ? <span className="font-mono">{e.operator_id.slice(0, 8)}</span> : '—'}</span>
                {e.tenant_id ? (
                  <span>
                    tenant <span className="font-mono">{e.tenant_id}</span>
                  </span>
                ) : null}
                {e.ip ? <span>from {e.ip}</span> : null}
                {e.request_id ? <span className="font-mono">request {e.request_id}</span> : null}
              </div>
              {e.detail && JSON.stringify(e.detail) !== '{}' ? <code className="block overflow-x-auto whitespace-pre rounded bg-muted px-2 py-1 text-xs">{JSON.stringify(e.detail)}</code> : null}
            </li>
          ))}
        </ul>
        <LoadMore q={q} />
      </Card>
    </>
  )
}
