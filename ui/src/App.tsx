import * as React from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { Inbox as InboxIcon, LogOut, Moon, Settings as SettingsIcon, Sun, Keyboard, Bell, BellOff, Loader2, History as HistoryIcon } from 'lucide-react'
import { api, auth, signOut } from './api/client'
import type { Tenant, User } from './api/types'
import { Link, match, navigate, useLocation } from './lib/router'
import { useStore } from './lib/store'
import { applyBranding, brandLogo, brandName, resolvedTheme, setTheme, themePref } from './lib/theme'
import { askNotifications, liveClient, liveState, setSound, soundOn, startLive, stopLive, unread } from './live/live'
import { AuthPage } from './pages/Auth'
import { Inbox } from './pages/Inbox'
import { Avatar } from './components/ui/badge'
import { Menu, MenuContent, MenuItem, MenuLabel, MenuSeparator, MenuTrigger, Tip, TipProvider } from './components/ui/menu'
import { cn } from './lib/utils'
import { ShortcutsHelp, useGlobalShortcuts } from './pages/Shortcuts'

const Settings = React.lazy(() => import('./pages/lazy').then((m) => ({ default: m.Settings })))
const History = React.lazy(() => import('./pages/lazy').then((m) => ({ default: m.History })))
const Ops = React.lazy(() => import('./pages/lazy').then((m) => ({ default: m.Ops })))
const CommandPalette = React.lazy(() => import('./pages/CommandPalette'))

function useAuth(): { user: User | null; booting: boolean } {
  const [booting, setBooting] = React.useState(() => !!auth.refreshToken && !auth.accessToken)
  const user = React.useSyncExternalStore(
    (l) => auth.subscribe(l),
    () => auth.user,
  )
  React.useEffect(() => {
    if (!booting) return
    auth
      .refresh()
      .catch(() => false)
      .finally(() => setBooting(false))
  }, [booting])
  return { user, booting }
}

export function App() {
  const { pathname } = useLocation()
  // The operators' console has a sign-in of its own (api/ops.ts): a tenant
  // user's session is neither used nor refreshed there.
  if (pathname === '/ops' || pathname.startsWith('/ops/')) {
    return (
      <React.Suspense fallback={<Spinner />}>
        <Ops />
      </React.Suspense>
    )
  }
  return <TenantApp pathname={pathname} />
}

function TenantApp({ pathname }: { pathname: string }) {
  const { user, booting } = useAuth()
  const publicPage = ['/login', '/signup', '/invite'].some((p) => pathname.startsWith(p))
  React.useEffect(() => {
    if (booting) return
    if (!user && !publicPage) navigate(`/login${pathname !== '/' && pathname !== '/login' ? `?next=${encodeURIComponent(pathname)}` : ''}`, { replace: true })
    if (user && (publicPage || pathname === '/')) navigate('/inbox', { replace: true })
  }, [user, booting, publicPage, pathname])
  if (booting) {
    return (
      <div className="grid h-full place-items-center text-muted-foreground" role="status">
        <Loader2 className="size-6 animate-spin" aria-label="Loading" />
      </div>
    )
  }
  if (!user || publicPage) return <AuthPage />
  return (
    <TipProvider>
      <Shell user={user} />
    </TipProvider>
  )
}

function Shell({ user }: { user: User }) {
  const qc = useQueryClient()
  const { pathname } = useLocation()
  const [help, setHelp] = React.useState(false)
  const [palette, setPalette] = React.useState(false)
  const tenant = useQuery({ queryKey: ['tenant'], queryFn: () => api.get<Tenant>('/api/tenant') })
  React.useEffect(() => applyBranding(tenant.data?.branding, tenant.data?.name), [tenant.data])
  React.useEffect(() => {
    startLive(qc, () => {
      void signOut()
      qc.clear()
    })
    return () => stopLive()
  }, [qc, user.id])
  const total = useStore(unread)
  const name = useStore(brandName)
  React.useEffect(() => {
    document.title = total > 0 ? `(${total}) ${name}` : name
  }, [total, name])
  useGlobalShortcuts({ openHelp: () => setHelp(true), openPalette: () => setPalette(true) })
  const settings = match('/settings/:section?', pathname)
  const history = match('/history/:tab?', pathname)
  return (
    <div className="flex h-full flex-col">
      <LiveBanner />
      <div className="flex min-h-0 flex-1 flex-col-reverse md:flex-row">
        <Rail user={user} onHelp={() => setHelp(true)} />
        <main className="min-h-0 min-w-0 flex-1 overflow-hidden">
          {settings ? (
            <React.Suspense fallback={<Spinner />}>
              <Settings section={settings.section ?? 'numbers'} user={user} />
            </React.Suspense>
          ) : history ? (
            <React.Suspense fallback={<Spinner />}>
              <History tab={history.tab ?? 'webhooks'} user={user} />
            </React.Suspense>
          ) : (
            <Inbox user={user} />
          )}
        </main>
      </div>
      <ShortcutsHelp open={help} onOpenChange={setHelp} />
      {palette ? (
        <React.Suspense fallback={null}>
          <CommandPalette open={palette} onOpenChange={setPalette} user={user} />
        </React.Suspense>
      ) : null}
    </div>
  )
}

export function Spinner() {
  return (
    <div className="grid h-full place-items-center text-muted-foreground" role="status">
      <Loader2 className="size-5 animate-spin" aria-label="Loading" />
    </div>
  )
}

function LiveBanner() {
  const s = useStore(liveState)
  const [now, setNow] = React.useState(Date.now())
  const [online, setOnline] = React.useState(navigator.onLine)
  React.useEffect(() => {
    const on = () => setOnline(navigator.onLine)
    addEventListener('online', on)
    addEventListener('offline', on)
    return () => {
      removeEventListener('online', on)
      removeEventListener('offline', on)
    }
  }, [])
  React.useEffect(() => {
    if (s.kind !== 'offline') return
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [s.kind])
  let text = ''
  if (!online) text = 'You are offline. Messages will appear when the connection is back.'
  else if (s.kind === 'offline') text = `Reconnecting… ${s.reason}; next try in ${Math.max(0, Math.ceil((s.retryAt - now) / 1000))} s.`
  else if (s.kind === 'connecting' && s.attempt > 0) text = 'Reconnecting…'
  if (!text) return <div data-live={s.kind} className="sr-only" aria-live="polite" />
  return (
    <div data-live={s.kind} role="status" aria-live="polite" className="flex items-center justify-center gap-2 bg-amber-500 px-3 py-1.5 text-center text-xs font-medium text-amber-950">
      <Loader2 className="size-3.5 animate-spin" aria-hidden />
      {text}
      {s.kind === 'offline' ? (
        <button className="underline underline-offset-2" onClick={() => liveClient()?.retryNow()}>
          Retry now
        </button>
      ) : null}
    </div>
  )
}

function Rail({ user, onHelp }: { user: User; onHelp: () => void }) {
  const { pathname } = useLocation()
  const logo = useStore(brandLogo)
  const name = useStore(brandName)
  useStore(themePref)
  const sound = useStore(soundOn)
  const total = useStore(unread)
  const dark = resolvedTheme() === 'dark'
  const item = (to: string, label: string, icon: React.ReactNode, active: boolean, badge?: number) => (
    <Tip label={label} side="right">
      <Link
        to={to}
        aria-label={label}
        aria-current={active ? 'page' : undefined}
        className={cn('relative grid size-10 place-items-center rounded-lg text-white/70 transition-colors hover:bg-white/10 hover:text-white', active && 'bg-white/15 text-white')}
      >
        {icon}
        {badge ? <span className="absolute -right-0.5 -top-0.5 min-w-4 rounded-full bg-primary px-1 text-center text-[10px] font-bold leading-4 text-primary-foreground">{badge > 99 ? '99+' : badge}</span> : null}
      </Link>
    </Tip>
  )
  return (
    <nav aria-label="Main" className="flex h-14 w-full shrink-0 flex-row items-center justify-around gap-2 bg-sidebar px-3 md:h-auto md:w-14 md:flex-col md:justify-start md:px-0 md:py-3">
      <div className="hidden md:mb-2 md:grid size-9 place-items-center overflow-hidden rounded-lg bg-primary text-sm font-bold text-primary-foreground" title={name}>
        {logo ? <img src={logo} alt={name} className="size-full object-cover" /> : name.slice(0, 1).toUpperCase()}
      </div>
      {item('/inbox', 'Inbox', <InboxIcon className="size-5" />, pathname.startsWith('/inbox'), total)}
      {user.role !== 'agent' ? item('/history', 'History', <HistoryIcon className="size-5" />, pathname.startsWith('/history')) : null}
      {item('/settings', 'Settings', <SettingsIcon className="size-5" />, pathname.startsWith('/settings'))}
      <div className="hidden flex-1 md:block" />
      <Tip label="Keyboard shortcuts (?)" side="right">
        <button onClick={onHelp} aria-label="Keyboard shortcuts" className="hidden md:grid size-10 place-items-center rounded-lg text-white/70 hover:bg-white/10 hover:text-white">
          <Keyboard className="size-5" />
        </button>
      </Tip>
      <Tip label={dark ? 'Light mode' : 'Dark mode'} side="right">
        <button onClick={() => setTheme(dark ? 'light' : 'dark')} aria-label={dark ? 'Switch to light mode' : 'Switch to dark mode'} className="grid size-10 place-items-center rounded-lg text-white/70 hover:bg-white/10 hover:text-white">
          {dark ? <Sun className="size-5" /> : <Moon className="size-5" />}
        </button>
      </Tip>
      <Menu>
        <MenuTrigger aria-label="Account" className="rounded-full focus-visible:outline-2 focus-visible:outline-ring">
          <Avatar name={user.name} size={34} />
        </MenuTrigger>
        <MenuContent side="right" align="end">
          <MenuLabel>
            <div className="font-medium text-foreground">{user.name}</div>
            <div>
              {user.email} · {user.role}
            </div>
          </MenuLabel>
          <MenuSeparator />
          <MenuItem onSelect={() => askNotifications()}>
            <Bell /> Enable notifications
          </MenuItem>
          <MenuItem onSelect={() => setSound(!sound)}>
            {sound ? <BellOff /> : <Bell />} {sound ? 'Mute sound' : 'Unmute sound'}
          </MenuItem>
          <MenuItem onSelect={() => setTheme('system')}>System theme</MenuItem>
          <MenuSeparator />
          <MenuItem
            onSelect={() => {
              void signOut().then(() => navigate('/login'))
            }}
          >
            <LogOut /> Log out
          </MenuItem>
        </MenuContent>
      </Menu>
    </nav>
  )
}
