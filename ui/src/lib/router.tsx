// A small client-side router over the History API: the app has few
// routes and wants no extra kilobytes for them.
import * as React from 'react'

type Listener = () => void
const listeners = new Set<Listener>()
const notify = () => listeners.forEach((l) => l())
if (typeof window !== 'undefined') window.addEventListener('popstate', notify)

export function navigate(to: string, opts: { replace?: boolean } = {}) {
  if (to === location.pathname + location.search) return
  if (opts.replace) history.replaceState(null, '', to)
  else history.pushState(null, '', to)
  notify()
}

function subscribe(l: Listener) {
  listeners.add(l)
  return () => listeners.delete(l)
}

export function useLocation(): { pathname: string; search: URLSearchParams } {
  const href = React.useSyncExternalStore(subscribe, () => location.pathname + location.search)
  return React.useMemo(() => {
    const u = new URL(href, 'http://x')
    return { pathname: u.pathname, search: u.searchParams }
  }, [href])
}

/** match tells the params of pattern ("/inbox/:id") in path, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean)
  const s = path.split('/').filter(Boolean)
  const params: Record<string, string> = {}
  for (let i = 0; i < p.length; i++) {
    if (p[i].endsWith('?')) {
      if (s[i] !== undefined) params[p[i].slice(1, -1)] = decodeURIComponent(s[i])
      continue
    }
    if (s[i] === undefined) return null
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i])
    else if (p[i] !== s[i]) return null
  }
  if (s.length > p.length) return null
  return params
}

export function Link({ to, className, children, ...rest }: React.AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  return (
    <a
      href={to}
      className={className}
      onClick={(e) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
        e.preventDefault()
        navigate(to)
      }}
      {...rest}
    >
      {children}
    </a>
  )
}
