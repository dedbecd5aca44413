// The operator's sign-in, apart from a tenant user's: its own token (role
// operator, no tenant, 15 minutes, no refresh token) kept in this tab's
// sessionStorage under a key of its own, and its own client. A tenant's
// token is never sent to /api/ops, nor an operator's to a tenant's route.
import { ApiError, clientOf, readProblem, type TokenSource } from './client'
import type { Operator, OperatorSession } from './types'
import { createStore } from '@/lib/store'

const KEY = 'wam.ops.session'

interface Stored {
  token: string
  operator: Operator
  expiresAt: number
}

class OpsAuth implements TokenSource {
  private store = createStore<Stored | null>(read())
  readonly refreshToken = null
  readonly subscribe = this.store.subscribe

  get accessToken(): string | null {
    return this.valid()?.token ?? null
  }
  get operator(): Operator | null {
    return this.valid()?.operator ?? null
  }
  get expiresAt(): number {
    return this.store.get()?.expiresAt ?? 0
  }
  private valid(): Stored | null {
    const s = this.store.get()
    return s && s.expiresAt > Date.now() ? s : null
  }
  /** Operators sign in again when the token runs out. */
  refresh(): Promise<boolean> {
    return Promise.resolve(false)
  }
  set(sess: OperatorSession) {
    const s = { token: sess.access_token, operator: sess.operator, expiresAt: Date.now() + sess.expires_in * 1000 }
    try {
      sessionStorage.setItem(KEY, JSON.stringify(s))
    } catch {
      /* private mode: memory only */
    }
    this.store.set(s)
  }
  clear() {
    try {
      sessionStorage.removeItem(KEY)
    } catch {
      /* nothing stored */
    }
    this.store.set(null)
  }
}

function read(): Stored | null {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) || 'null') as Stored | null
    return v && typeof v.token === 'string' && v.expiresAt > Date.now() ? v : null
  } catch {
    return null
  }
}

export const opsAuth = new OpsAuth()
export const opsApi = clientOf(opsAuth)

/** opsSignIn signs an operator in (POST /api/ops/auth/login). */
export async function opsSignIn(email: string, password: string): Promise<Operator> {
  const res = await fetch('/api/ops/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) })
  if (!res.ok) throw new ApiError(res.status, await readProblem(res), `HTTP ${res.status}`)
  const s = (await res.json()) as OperatorSession
  opsAuth.set(s)
  return s.operator
}
