// The webhook history's client logic, shared by a tenant's History page
// and the operators' console: the filter (as the URL keeps it, as the API
// takes it, as a replay selects by it), its checks, and the raw view's
// pretty-printing. Pure functions, unit-tested (history.test.ts).
import type { operations } from '@/api/schema'
import type { Query } from '@/api/client'
import type { ReplayRequest } from '@/api/types'

type OpsQuery = NonNullable<operations['listOpsWebhooks']['parameters']['query']>

/** FilterKey is a filter of GET /api/ops/webhooks (the tenant's takes the same less tenant_id and unrouted). */
export type FilterKey = Exclude<keyof OpsQuery, 'cursor' | 'limit'>

/**
 * A Filter is canonical text per key, as it stands in the page's URL:
 * from/to RFC 3339 UTC, unrouted "true", the others as the API takes them.
 * Absent or empty: no filter.
 */
export type Filter = Partial<Record<FilterKey, string>>

export interface FieldSpec {
  key: FilterKey
  label: string
  kind: 'datetime' | 'text' | 'select' | 'checkbox'
  /** Operators only: not on a tenant's History. */
  operator?: boolean
  hint?: string
  placeholder?: string
  options?: { value: string; label: string }[]
  inputMode?: 'numeric' | 'text'
}

// The filter form, in order. A new query parameter of the contract's is
// one entry here: the list, the replay dialog, the URL and the checks all
// follow this list.
export const FILTER_FIELDS: FieldSpec[] = [
  { key: 'from', label: 'Received from', kind: 'datetime' },
  { key: 'to', label: 'Received before', kind: 'datetime' },
  { key: 'tenant_id', label: 'Tenant id', kind: 'text', operator: true, placeholder: 'any tenant' },
  { key: 'unrouted', label: 'Unrouted only', kind: 'checkbox', operator: true, hint: 'webhooks no tenant owns' },
  { key: 'phone_number_id', label: 'Phone number id', kind: 'text', inputMode: 'numeric', placeholder: "Meta's id, digits" },
  {
    key: 'kind',
    label: 'Kind of change',
    kind: 'select',
    options: [
      { value: '', label: 'Any kind' },
      { value: 'messages', label: 'messages' },
      { value: 'statuses', label: 'statuses' },
      { value: 'errors', label: 'errors' },
      { value: 'message_template_status_update', label: 'template status updates' },
      { value: 'account_update', label: 'account updates' },
    ],
  },
  {
    key: 'result',
    label: 'Decode result',
    kind: 'select',
    options: [
      { value: '', label: 'Any result' },
      { value: 'ok', label: 'ok' },
      { value: 'partial', label: 'partial' },
      { value: 'undecodable', label: 'undecodable' },
      { value: 'parked', label: 'parked' },
    ],
  },
  { key: 'wamid', label: 'Message id (wamid)', kind: 'text', placeholder: 'wamid.…', hint: 'the webhooks of one message and its statuses' },
  { key: 'contact_phone', label: 'Contact phone', kind: 'text', inputMode: 'text', placeholder: '+1 650 555 0100 or a wa_id' },
]

export function fieldsFor(operator: boolean): FieldSpec[] {
  return FILTER_FIELDS.filter((f) => operator || !f.operator)
}

/** clean drops empty values and the keys the scope does not take. */
export function clean(f: Filter, operator: boolean): Filter {
  const out: Filter = {}
  for (const spec of fieldsFor(operator)) {
    const v = f[spec.key]?.trim()
    if (!v || (spec.kind === 'checkbox' && v !== 'true')) continue
    out[spec.key] = v
  }
  return out
}

/** filterFromSearch reads the filter a page's URL holds. */
export function filterFromSearch(search: URLSearchParams, operator: boolean): Filter {
  return clean(Object.fromEntries(search) as Filter, operator)
}

/** filterToSearch is the query string ("" or "?…") of a filter, in the fields' order. */
export function filterToSearch(f: Filter, operator: boolean, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(clean(f, operator))) q.set(k, v)
  for (const [k, v] of Object.entries(extra)) if (v) q.set(k, v)
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** toQuery is the filter as GET …/webhooks takes it. */
export function toQuery(f: Filter, operator: boolean): Query {
  return { ...clean(f, operator) }
}

export type ReplayMode = 'reproject' | 'adopt_unrouted'

/**
 * toReplayRequest is the body of POST …/replays selecting what the list of
 * the same filter shows. adopt_unrouted takes no filter but an operator's
 * tenant: it adopts whatever is adoptable.
 */
export function toReplayRequest(f: Filter, mode: ReplayMode, operator: boolean, dryRun: boolean): ReplayRequest {
  const c = clean(f, operator)
  const r: ReplayRequest = { mode, dry_run: dryRun }
  if (mode === 'adopt_unrouted') {
    if (c.tenant_id) r.tenant_id = c.tenant_id
    return r
  }
  // The selection takes the list's filters by the same names; unrouted is a boolean there.
  const sel = r as Record<string, unknown>
  for (const [k, v] of Object.entries(c)) sel[k] = k === 'unrouted' ? true : v
  return r
}

/** ignoredByAdopt are the filters set that an adopt_unrouted job does not take. */
export function ignoredByAdopt(f: Filter, operator: boolean): FilterKey[] {
  return (Object.keys(clean(f, operator)) as FilterKey[]).filter((k) => k !== 'tenant_id')
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** validate answers what is wrong with each field, as the API would refuse it. */
export function validate(f: Filter, operator: boolean): Partial<Record<FilterKey, string>> {
  const c = clean(f, operator)
  const e: Partial<Record<FilterKey, string>> = {}
  if (c.phone_number_id && !/^[0-9]{1,32}$/.test(c.phone_number_id)) e.phone_number_id = "Digits only: Meta's phone number id, not the number."
  if (c.kind && !/^[a-z_]{1,64}$/.test(c.kind)) e.kind = 'Lower-case letters and _, such as messages.'
  if (c.tenant_id && !UUID.test(c.tenant_id)) e.tenant_id = 'A tenant id (a UUID).'
  if (c.tenant_id && c.unrouted) e.unrouted = 'Unrouted webhooks have no tenant: clear one of the two.'
  for (const k of ['from', 'to'] as const) if (c[k] && Number.isNaN(Date.parse(c[k]!))) e[k] = 'A date and time.'
  if (c.from && c.to && !e.from && !e.to && Date.parse(c.from) >= Date.parse(c.to)) e.to = 'Must be after “Received from”.'
  return e
}

/** localToISO turns a datetime-local input's value (the browser's zone) into RFC 3339 UTC. */
export function localToISO(v: string): string {
  if (!v) return ''
  const d = new Date(v)
  return Number.isNaN(d.getTime()) ? '' : d.toISOString()
}

/** isoToLocal is an instant as a datetime-local input shows it, to the minute. */
export function isoToLocal(iso: string | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

/**
 * prettyJSON indents JSON text without parsing its values: numbers keep
 * their literal text (JSON.parse would round ids beyond 2^53) and strings
 * their escapes, so the pretty view says what Meta sent. Text that is not
 * JSON is answered null.
 */
export function prettyJSON(text: string, indent = '  '): string | null {
  try {
    JSON.parse(text)
  } catch {
    return null
  }
  let out = ''
  let depth = 0
  let inString = false
  let escaped = false
  const nl = () => '\n' + indent.repeat(depth)
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (inString) {
      out += ch
      if (escaped) escaped = false
      else if (ch === '\\') escaped = true
      else if (ch === '"') inString = false
      continue
    }
    switch (ch) {
      case '"':
        inString = true
        out += ch
        break
      case '{':
      case '[': {
        // An empty object or array stays on one line.
        let j = i + 1
        while (j < text.length && ' \t\n\r'.includes(text[j])) j++
        const close = ch === '{' ? '}' : ']'
        if (text[j] === close) {
          out += ch + close
          i = j
          break
        }
        depth++
        out += ch + nl()
        break
      }
      case '}':
      case ']':
        depth--
        out += nl() + ch
        break
      case ',':
        out += ',' + nl()
        break
      case ':':
        out += ': '
        break
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        break
      default:
        out += ch
    }
  }
  return out
}

const count = new Intl.NumberFormat(undefined)

export function formatCount(n: number): string {
  return count.format(n)
}

/** formatRate is events per second, "1,234/s" or "0.5/s". */
export function formatRate(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '0/s'
  return `${n < 10 ? Number(n.toFixed(1)) : count.format(Math.round(n))}/s`
}

/** formatEta is a short duration: "45 s", "3 min 5 s", "2 h 10 min". */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return '—'
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${s % 60} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

/** fraction is how far a job is, 0 to 1; a job that ended is whole. */
export function fraction(done: number, total: number, ended: boolean): number {
  if (total <= 0) return ended ? 1 : 0
  return Math.min(1, Math.max(0, done / total))
}

/** decodeBase64 is the text of a parked event's bytes (UTF-8, invalid bytes as U+FFFD). */
export function decodeBase64(b64: string): string {
  const bin = atob(b64)
  const bytes = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i)
  return new TextDecoder().decode(bytes)
}

const SELECTION_LABELS: Record<string, string> = {
  from: 'from',
  to: 'before',
  tenant_id: 'tenant',
  unrouted: 'unrouted',
  phone_number_id: 'number',
  kind: 'kind',
  result: 'result',
  from_seq: 'from #',
  to_seq: 'up to #',
}

/** selectionText is a replay job's selection, as fixed when it was requested, in a line. */
export function selectionText(sel: unknown): string {
  if (!sel || typeof sel !== 'object') return 'everything'
  const parts: string[] = []
  for (const [k, v] of Object.entries(sel as Record<string, unknown>)) {
    if (v === undefined || v === null || v === '' || v === false || v === 0) continue
    const label = SELECTION_LABELS[k] ?? k
    if (v === true) parts.push(label)
    else if ((k === 'from' || k === 'to') && typeof v === 'string') parts.push(`${label} ${new Date(v).toLocaleString()}`)
    else parts.push(label.endsWith('#') ? `${label}${String(v)}` : `${label} ${String(v)}`)
  }
  return parts.length ? parts.join(', ') : 'everything'
}
