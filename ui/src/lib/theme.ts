// Light/dark mode and the tenant's branding, applied to the whole app.
import type { Branding } from '@/api/types'
import { createStore } from './store'

export type ThemePref = 'light' | 'dark' | 'system'
const KEY = 'wam.theme'

function stored(): ThemePref | null {
  try {
    const v = localStorage.getItem(KEY)
    return v === 'light' || v === 'dark' || v === 'system' ? v : null
  } catch {
    return null
  }
}

export const themePref = createStore<ThemePref>(stored() ?? 'system')
let tenantDefault: 'light' | 'dark' | undefined

export function resolvedTheme(): 'light' | 'dark' {
  const p = themePref.get()
  if (p === 'light' || p === 'dark') return p
  if (!stored() && tenantDefault) return tenantDefault
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
}

export function applyTheme() {
  document.documentElement.classList.toggle('dark', resolvedTheme() === 'dark')
}

export function setTheme(p: ThemePref) {
  try {
    localStorage.setItem(KEY, p)
  } catch {
    /* this tab only */
  }
  themePref.set(p)
  applyTheme()
}

themePref.subscribe(applyTheme)
window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', applyTheme)

export const brandName = createStore<string>('wam')
export const brandLogo = createStore<string>('')

/** applyBranding sets the tenant's colours, name, logo and default theme. */
export function applyBranding(b: Branding | undefined, tenantName?: string) {
  const root = document.documentElement.style
  if (b?.primary_color) {
    root.setProperty('--primary', b.primary_color)
    root.setProperty('--ring', b.primary_color)
    root.setProperty('--primary-foreground', readableOn(b.primary_color))
  } else {
    root.removeProperty('--primary')
    root.removeProperty('--ring')
    root.removeProperty('--primary-foreground')
  }
  if (b?.accent_color) root.setProperty('--bubble-out', mix(b.accent_color))
  else root.removeProperty('--bubble-out')
  tenantDefault = b?.theme || undefined
  brandName.set(b?.app_name || tenantName || 'wam')
  brandLogo.set(b?.logo_url || '')
  applyTheme()
}

function readableOn(hex: string): string {
  const n = parseInt(hex.slice(1), 16)
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
    const s = c / 255
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
  })
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4 ? '#0b1220' : '#ffffff'
}

function mix(hex: string): string {
  return `color-mix(in srgb, ${hex} 22%, var(--background))`
}
