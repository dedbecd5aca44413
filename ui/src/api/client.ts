// The API client: the access token lives in memory only; the refresh
// token in localStorage, so a reload or a second tab signs in silently.
// A 401 refreshes once (one refresh at a time across tabs, since refresh
// tokens rotate and a reused one ends the sign-in) and retries.
import type { Problem, Session, User } from './types'

const REFRESH_KEY = 'wam.refresh'

export class ApiError extends Error {
  status: number
  problem: Problem | null
  constructor(status: number, problem: Problem | null, fallback: string) {
    super(problem?.detail || problem?.title || fallback)
    this.status = status
    this.problem = problem
  }
  /** The problem type's last segment, e.g. window-closed. */
  get code(): string {
    return this.problem?.code || (this.problem?.type ?? '').split('/').pop() || ''
  }
}

type Listener = () => void

class Auth {
  accessToken: string | null = null
  user: User | null = null
  expiresAt = 0
  private listeners = new Set<Listener>()
  private refreshing: Promise<boolean> | null = null

  subscribe(l: Listener) {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }
  private emit() {
    for (const l of this.listeners) l()
  }

  get refreshToken(): string | null {
    try {
      return localStorage.getItem(REFRESH_KEY)
    } catch {
      return null
    }
  }

  set(s: Session) {
    this.accessToken = s.access_token
    this.user = s.user
    this.expiresAt = Date.now() + s.expires_in * 1000
    try {
      localStorage.setItem(REFRESH_KEY, s.refresh_token)
    } catch {
      /* private mode: this tab only */
    }
    this.emit()
  }

  clear() {
    this.accessToken = null
    this.user = null
    try {
      localStorage.removeItem(REFRESH_KEY)
    } catch {
      /* nothing stored */
    }
    this.emit()
  }

  /** Trade the refresh token for a new session; false when signed out. */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = withLock(async () => {
        const token = this.refreshToken
        if (!token) return false
        const res = await fetch('/api/auth/refresh', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ refresh_token: token }),
        })
        if (res.status === 401 || res.status === 400) {
          // Another tab may have rotated it meanwhile: try its token once.
          if (this.refreshToken && this.refreshToken !== token) return this.refreshInLock()
          this.clear()
          return false
        }
        if (!res.ok) throw new ApiError(res.status, null, `refresh: HTTP ${res.status}`)
        this.set((await res.json()) as Session)
        return true
      }).finally(() => {
        this.refreshing = null
      })
    }
    return this.refreshing
  }

  private async refreshInLock(): Promise<boolean> {
    const res = await fetch('/api/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: this.refreshToken }),
    })
    if (!res.ok) {
      this.clear()
      return false
    }
    this.set((await res.json()) as Session)
    return true
  }
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (typeof navigator !== 'undefined' && (navigator as Navigator & { locks?: LockManager }).locks) || null
  if (locks) return locks.request('wam-refresh', fn) as Promise<T>
  return fn()
}

export const auth = new Auth()

export type Query = Record<string, string | number | boolean | undefined | null>

export interface RequestOptions {
  query?: Query
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
}

export function buildURL(path: string, query?: Query): string {
  if (!query) return path
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

export async function readProblem(res: Response): Promise<Problem | null> {
  try {
    const t = res.headers.get('Content-Type') || ''
    if (t.includes('json')) return (await res.json()) as Problem
  } catch {
    /* not JSON */
  }
  return null
}

/**
 * A TokenSource is a sign-in whose access token requests carry: a tenant
 * user's (auth, refreshed) or an operator's (ui/src/api/ops.ts, never
 * refreshed). They are kept apart, so a request of one never carries the
 * other's token.
 */
export interface TokenSource {
  readonly accessToken: string | null
  readonly refreshToken: string | null
  refresh(): Promise<boolean>
  clear(): void
}

/** fetch with the access token, refreshing it once on a 401. */
export async function authedFetch(url: string, init: RequestInit = {}, s: TokenSource = auth): Promise<Response> {
  if (!s.accessToken && s.refreshToken) await s.refresh()
  const go = () => {
    const headers = new Headers(init.headers)
    if (s.accessToken) headers.set('Authorization', `Bearer ${s.accessToken}`)
    return fetch(url, { ...init, headers })
  }
  let res = await go()
  if (res.status === 401 && s.refreshToken) {
    if (await s.refresh()) res = await go()
  }
  return res
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}, s: TokenSource = auth): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers }
  let body: BodyInit | undefined
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  const res = await authedFetch(buildURL(path, opts.query), { method, headers, body, signal: opts.signal }, s)
  if (res.status === 401) s.clear()
  if (!res.ok) throw new ApiError(res.status, await readProblem(res), `${method} ${path}: HTTP ${res.status}`)
  if (res.status === 204) return undefined as T
  const t = res.headers.get('Content-Type') || ''
  return (t.includes('json') ? await res.json() : await res.text()) as T
}

/** clientOf is the API as one sign-in calls it. */
export function clientOf(s: TokenSource) {
  return {
    get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }, s),
    post: <T>(path: string, body?: unknown, headers?: Record<string, string>) => request<T>('POST', path, { body, headers }, s),
    patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, { body }, s),
    put: <T>(path: string, body?: unknown) => request<T>('PUT', path, { body }, s),
    del: <T>(path: string, query?: Query) => request<T>('DELETE', path, { query }, s),
    /** The response itself (bytes as stored), or an ApiError. */
    raw: async (path: string): Promise<Response> => {
      const res = await authedFetch(path, {}, s)
      if (res.status === 401) s.clear()
      if (!res.ok) throw new ApiError(res.status, await readProblem(res), `GET ${path}: HTTP ${res.status}`)
      return res
    },
  }
}

export type Client = ReturnType<typeof clientOf>

export const api = clientOf(auth)

/** Sign-in calls answer a Session; no token is sent with them. */
export async function signIn(path: string, body: unknown): Promise<Session> {
  const res = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  if (!res.ok) throw new ApiError(res.status, await readProblem(res), `HTTP ${res.status}`)
  const s = (await res.json()) as Session
  auth.set(s)
  return s
}

export async function signOut(): Promise<void> {
  const token = auth.refreshToken
  auth.clear()
  if (token) {
    await fetch('/api/auth/logout', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: token }) }).catch(() => undefined)
  }
}

/** Upload with progress (fetch cannot report upload progress; XHR can). */
export function uploadMedia(file: File, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<import('./types').MediaFile> {
  const send = (token: string | null) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const xhr = new XMLHttpRequest()
      xhr.open('POST', '/api/media')
      if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`)
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total)
      xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText })
      xhr.onerror = () => reject(new Error('upload failed: network error'))
      xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'))
      signal?.addEventListener('abort', () => xhr.abort())
      const form = new FormData()
      form.append('file', file)
      xhr.send(form)
    })
  return (async () => {
    let r = await send(auth.accessToken)
    if (r.status === 401 && (await auth.refresh())) r = await send(auth.accessToken)
    if (r.status !== 201) {
      let p: Problem | null = null
      try {
        p = JSON.parse(r.body)
      } catch {
        /* not JSON */
      }
      throw new ApiError(r.status, p, `upload: HTTP ${r.status}`)
    }
    onProgress(1)
    return JSON.parse(r.body)
  })()
}
