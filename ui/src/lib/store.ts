// A minimal external store for React (useSyncExternalStore), for state
// that is not the server's: typing, presence, live status, theme.
import { useSyncExternalStore } from 'react'

export interface Store<T> {
  get(): T
  set(v: T | ((old: T) => T)): void
  subscribe(l: () => void): () => void
}

export function createStore<T>(initial: T): Store<T> {
  let v = initial
  const ls = new Set<() => void>()
  return {
    get: () => v,
    set(n) {
      const next = typeof n === 'function' ? (n as (o: T) => T)(v) : n
      if (Object.is(next, v)) return
      v = next
      ls.forEach((l) => l())
    },
    subscribe(l) {
      ls.add(l)
      return () => ls.delete(l)
    },
  }
}

export function useStore<T>(s: Store<T>): T {
  return useSyncExternalStore(s.subscribe, s.get, s.get)
}
