import type { Client } from '@/api/client'

/**
 * A Scope is whose history a page shows: a tenant's (History, for owners
 * and admins) or every tenant's (the operators' console). The shared
 * components call the endpoints it names with its client, whose sign-in
 * is the page's.
 */
export interface Scope {
  client: Client
  operator: boolean
  /** GET {webhooks}, {webhooks}/{seq}, {webhooks}/{seq}/raw */
  webhooks: string
  /** GET/POST {replays}, {replays}/{id}, {replays}/{id}/cancel */
  replays: string
  /** GET {parked} */
  parked: string
  /** The page's own path, for links between its tabs: /history or /ops. */
  page: string
}
